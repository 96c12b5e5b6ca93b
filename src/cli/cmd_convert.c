/* lmtune convert SRC DST: read a model folder in any supported format and
 * write it as save_pretrained would (config.json, model.safetensors), with
 * the folder's tokenizer files beside it. */
#include <stdio.h>
#include <string.h>
#include "cli/commands.h"
#include "cli/hub_flags.h"
#include "lmtune/lmtune.h"
#include "train/tokenizer_files.h"

int lmt_cmd_convert(int argc, char **argv) {
    if (argc < 3 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(argc < 3 ? stderr : stdout,
                "usage: lmtune convert SRC_DIR DST_DIR [--save_dtype auto|float32|bfloat16|float16] [--max_shard_size SIZE]\n\n"
                "Loads an HF model folder (model.safetensors, a sharded model.safetensors.index.json or\n"
                "pytorch_model.bin) and writes it to DST_DIR as config.json (+ generation_config.json) and\n"
                "model.safetensors, in the checkpoint's dtype unless --save_dtype; above --max_shard_size\n"
                "(e.g. 2GB, 500MB; default 50GB) as model-0000N-of-0000M.safetensors + index, as save_pretrained.\n"
                "The tokenizer files SRC_DIR holds (tokenizer.json, tokenizer_config.json, vocab/merges, vocab.txt,\n"
                "*.spm, tokenizer.model, chat_template.jinja) are copied along.\n");
        return argc < 3 ? 2 : 0;
    }
    const char *dtype = NULL, *shard = NULL;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc || (strcmp(a, "--save_dtype") && strcmp(a, "--max_shard_size"))) {
            fprintf(stderr, "lmtune: error: unexpected argument '%s' (see lmtune convert --help)\n", a);
            return 2;
        }
        *(!strcmp(a, "--save_dtype") ? &dtype : &shard) = argv[++i];
    }
    const char *src = lmt_cli_resolve(argv[1], true);
    if (!src) return 1;
    lmt_model *m = NULL;
    if (lmt_model_load(src, &m) != LMT_OK || lmt_model_set_save_options(m, dtype, shard) != LMT_OK ||
        lmt_model_save(m, argv[2]) != LMT_OK || lmt_tokenizer_files_save(src, NULL, argv[2]) != LMT_OK) {
        lmt_model_free(m);
        fprintf(stderr, "lmtune: error: %s\n", lmt_last_error());
        return 1;
    }
    printf("wrote %s (%s, %zu parameters)\n", argv[2], lmt_arch_class_name(lmt_model_arch(m)), lmt_model_num_params(m));
    lmt_model_free(m);
    return 0;
}
