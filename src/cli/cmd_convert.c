/* lmtune convert SRC DST: read a model folder in any supported format and
 * write it as save_pretrained would (config.json, model.safetensors). */
#include <stdio.h>
#include <string.h>
#include "cli/commands.h"
#include "cli/hub_flags.h"
#include "lmtune/lmtune.h"

int lmt_cmd_convert(int argc, char **argv) {
    if (argc < 3 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(argc < 3 ? stderr : stdout,
                "usage: lmtune convert SRC_DIR DST_DIR\n\n"
                "Loads an HF model folder (model.safetensors or pytorch_model.bin) and writes it\n"
                "to DST_DIR as config.json (+ generation_config.json) and model.safetensors.\n");
        return argc < 3 ? 2 : 0;
    }
    const char *src = lmt_cli_resolve(argv[1], true);
    if (!src) return 1;
    lmt_model *m;
    if (lmt_model_load(src, &m) != LMT_OK || lmt_model_save(m, argv[2]) != LMT_OK) {
        fprintf(stderr, "lmtune: error: %s\n", lmt_last_error());
        return 1;
    }
    printf("wrote %s (%s, %zu parameters)\n", argv[2], lmt_arch_class_name(lmt_model_arch(m)), lmt_model_num_params(m));
    lmt_model_free(m);
    return 0;
}
