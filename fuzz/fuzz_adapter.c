/* A peft adapter folder (adapter_config.json + adapter_model.safetensors,
 * or adapter_model.bin when the second part is a zip) as lmtune loads one
 * from the Hub: onto the test fixtures' tiny GPT-2 (Conv1D,
 * fan_in_fan_out), Llama (GQA), BERT and Marian (encoder-decoder), each in
 * turn (the fixtures' adapters are made for them). Input:
 * adapter_config.json SEP weights. What loads is merged in and out again
 * (merge_and_unload's arithmetic over the adapters' shapes) and saved back
 * as PeftModel.save_pretrained writes it. */
#include "fuzz_common.h"
#include "core/error.h"
#include "models/lora.h"
#include "models/model.h"

#ifndef LMT_FUZZ_FIXTURES
#error "LMT_FUZZ_FIXTURES: the tests/fixtures folder (CMakeLists.txt defines it)"
#endif

#define N_BASES 4
static lmt_model *bases[N_BASES];
static char adapter_dir[512], saved_dir[512];

static void setup(void) {
    static const char *const names[N_BASES] = {LMT_FUZZ_FIXTURES "/models/gpt2", LMT_FUZZ_FIXTURES "/models/llama-gqa",
                                               LMT_FUZZ_FIXTURES "/models/bert", LMT_FUZZ_FIXTURES "/models/marian"};
    for (int b = 0; b < N_BASES; b++)
        if (lmt_model_load(names[b], &bases[b]) != LMT_OK) {
            fprintf(stderr, "fuzz_adapter: %s\n", lmt_last_error());
            abort();
        }
    snprintf(saved_dir, sizeof saved_dir, "%s/saved", lmt_fuzz_scratch());
}

int lmt_fuzz_one(const uint8_t *data, size_t size) {
    if (!bases[0]) setup();
    static const char *const files[] = {"adapter_config.json", "adapter_model.safetensors", "adapter_model.bin"};
    lmt_fuzz_subdir("adapter", adapter_dir, sizeof adapter_dir);   /* emptied */
    lmt_clear_error();
    const uint8_t *part[2];
    size_t len[2];
    size_t n = lmt_fuzz_split(data, size, part, len, 2);
    lmt_fuzz_write_part(adapter_dir, files[0], part, len, n, 0);
    bool zip = n > 1 && len[1] >= 2 && part[1][0] == 'P' && part[1][1] == 'K';
    lmt_fuzz_write_part(adapter_dir, zip ? files[2] : files[1], part, len, n, 1);
    for (int b = 0; b < N_BASES; b++) {
        lmt_lora *l = NULL;
        if (lmt_lora_load(bases[b], adapter_dir, &l) != LMT_OK) continue;
        float *saved = NULL;
        if (lmt_lora_merge_in(l, &saved) == LMT_OK) lmt_lora_unmerge(l, saved);
        lmt_rm_rf(saved_dir);
        (void)lmt_lora_save(l, saved_dir);
        lmt_lora_free(l);
    }
    return 0;
}
