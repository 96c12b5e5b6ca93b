/* trainer_state.json as a resumed run reads it (lmt_trainer_state_load),
 * then written back as a checkpoint writes it. */
#include "fuzz_common.h"
#include "train/trainer_state.h"

int lmt_fuzz_one(const uint8_t *data, size_t size) {
    char path[512];
    lmt_fuzz_write(lmt_fuzz_scratch(), "trainer_state.json", data, size, path, sizeof path);
    lmt_trainer_state s;
    if (lmt_trainer_state_init(&s) != LMT_OK) abort();
    if (lmt_trainer_state_load(&s, path) == LMT_OK) {
        const char *k[] = {"loss"};
        double v[] = {1.5};
        (void)lmt_trainer_state_log(&s, k, v, 1);
        free(lmt_trainer_state_to_json(&s));
    }
    lmt_trainer_state_free(&s);
    return 0;
}
