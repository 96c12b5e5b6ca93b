/* lmtune convert SRC DST: read a model folder in any supported format and
 * write it as save_pretrained would (config.json, model.safetensors), with
 * the folder's tokenizer files beside it. */
#include <stdio.h>
#include <string.h>
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/hub_flags.h"
#include "lmtune/lmtune.h"
#include "train/tokenizer_files.h"

int lmt_cmd_convert(int argc, char **argv) {
    const char *dtype = NULL, *shard = NULL, *model = NULL, *output = NULL;
    lmt_cli_texts dirs = {0};
    const lmt_flag flags[] = {
        {"model_name_or_path|model", LMT_FLAG_PATH, &model, LMT_FLAG_ANY, NULL, "SRC_DIR: the model folder or Hub repo id", NULL},
        {"output|output_dir", LMT_FLAG_PATH, &output, LMT_FLAG_ANY, NULL, "DST_DIR: the folder to write", NULL},
        {"save_dtype", LMT_FLAG_STRING, &dtype, LMT_FLAG_ANY, NULL, "auto|float32|bfloat16|float16 (default: the checkpoint's)", NULL},
        {"max_shard_size", LMT_FLAG_STRING, &shard, LMT_FLAG_ANY, NULL, "e.g. 2GB, 500MB (default 50GB)", NULL},
    };
    int rc = lmt_cli_parse_texts(argc, argv, flags, sizeof flags / sizeof flags[0],
                                 "usage: lmtune convert SRC_DIR DST_DIR [--save_dtype auto|float32|bfloat16|float16] [--max_shard_size SIZE]\n\n"
                                 "Loads an HF model folder (model.safetensors, a sharded model.safetensors.index.json or\n"
                                 "pytorch_model.bin) and writes it to DST_DIR as config.json (+ generation_config.json) and\n"
                                 "model.safetensors, in the checkpoint's dtype unless --save_dtype; above --max_shard_size\n"
                                 "(e.g. 2GB, 500MB; default 50GB) as model-0000N-of-0000M.safetensors + index, as save_pretrained.\n"
                                 "The tokenizer files SRC_DIR holds (tokenizer.json, tokenizer_config.json, vocab/merges, vocab.txt,\n"
                                 "*.spm, tokenizer.model, chat_template.jinja) are copied along.\n",
                                 lmt_cli_hub_help, &dirs);
    if (!rc) {
        int used = 0;   /* positionals: SRC_DIR then DST_DIR, where the flags do not give them */
        if (!model && used < dirs.n) model = dirs.v[used++];
        if (!output && used < dirs.n) output = dirs.v[used++];
        if (!model || !output || used < dirs.n) {
            fprintf(stderr, "lmtune: error: convert: give SRC_DIR and DST_DIR (see --help)\n");
            rc = 2;
        }
    }
    lmt_cli_texts_free(&dirs);   /* the strings are argv's */
    if (rc) return rc < 0 ? 0 : rc;
    const char *src = lmt_cli_resolve(model, true);
    if (!src) return 1;
    lmt_model *m = NULL;
    if (lmt_model_load(src, &m) != LMT_OK || lmt_model_set_save_options(m, dtype, shard) != LMT_OK ||
        lmt_model_save(m, output) != LMT_OK || lmt_tokenizer_files_save(src, NULL, output) != LMT_OK) {
        lmt_model_free(m);
        fprintf(stderr, "lmtune: error: %s\n", lmt_last_error());
        return 1;
    }
    printf("wrote %s (%s, %zu parameters)\n", output, lmt_arch_class_name(lmt_model_arch(m)), lmt_model_num_params(m));
    lmt_model_free(m);
    return 0;
}
