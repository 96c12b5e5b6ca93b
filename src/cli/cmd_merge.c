/* lmtune merge --model BASE --adapter DIR --output OUT: a peft LoRA adapter
 * folded into its base model, as PeftModel.merge_and_unload() followed by
 * save_pretrained (a plain HF folder). */
#include <stdio.h>
#include <string.h>
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/hub_flags.h"
#include "core/error.h"
#include "models/lora.h"
#include "models/model.h"

lmt_status lmt_cli_merge_adapter(lmt_model *m, const char *adapter, int *n, int *r) {
    lmt_lora *l = NULL;
    LMT_TRY(lmt_lora_load(m, adapter, &l));
    lmt_lora_merge(l);
    if (n) *n = l->n;
    if (r) *r = l->cfg.r;
    lmt_lora_free(l);
    return LMT_OK;
}

int lmt_cmd_merge(int argc, char **argv) {
    const char *model = NULL, *adapter = NULL, *output = NULL;
    const lmt_flag flags[] = {
        {"model_name_or_path|model", LMT_FLAG_PATH, &model, LMT_FLAG_ANY, NULL, "the base model folder or Hub repo id", NULL},
        {"adapter", LMT_FLAG_PATH, &adapter, LMT_FLAG_ANY, NULL, "the peft LoRA adapter folder", NULL},
        {"output|output_dir", LMT_FLAG_PATH, &output, LMT_FLAG_ANY, NULL, "the merged model's folder", NULL},
    };
    int rc = lmt_cli_parse_flags(argc, argv, flags, sizeof flags / sizeof flags[0], NULL, NULL,
                                 "usage: lmtune merge --model BASE --adapter ADAPTER_DIR --output OUT_DIR\n\n"
                                 "Loads the base model and a peft LoRA adapter (adapter_config.json +\n"
                                 "adapter_model.safetensors), adds scaling * B A to each adapted weight and\n"
                                 "writes OUT_DIR as merge_and_unload() + save_pretrained() would.\n",
                                 NULL);
    if (rc) return rc < 0 ? 0 : rc;
    if (!model || !adapter || !output) {
        fprintf(stderr, "lmtune: error: merge: --model, --adapter and --output are required\n");
        return 2;
    }
    const char *src = lmt_cli_resolve(model, true);
    if (!src) return 1;
    lmt_model *m = NULL;
    int n = 0, r = 0;
    if (lmt_model_load(src, &m) != LMT_OK || lmt_cli_merge_adapter(m, adapter, &n, &r) != LMT_OK ||
        lmt_model_save(m, output) != LMT_OK) {
        fprintf(stderr, "lmtune: error: %s\n", lmt_last_error());
        lmt_model_free(m);
        return 1;
    }
    printf("merged %d LoRA adapters (r=%d) into %s: wrote %s\n", n, r, src, output);
    lmt_model_free(m);
    return 0;
}
