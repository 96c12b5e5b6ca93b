/* trainer_state.json: reading the file a transformers Trainer wrote and
 * writing it back gives the same bytes; logging appends HF-shaped entries. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "core/util.h"
#include "train/trainer_state.h"

int main(void) {
    const char *ref = LMT_SOURCE_DIR "/tests/fixtures/train/trainer_state.json";
    char *want;
    size_t want_len;
    CHECK_OK(lmt_read_file(ref, &want, &want_len));
    lmt_trainer_state s;
    CHECK_OK(lmt_trainer_state_init(&s));
    CHECK_OK(lmt_trainer_state_load(&s, ref));
    CHECK(s.global_step == 6 && s.max_steps == 6 && s.train_batch_size == 4 && s.has_best && s.best_global_step == 6);
    CHECK(s.log_history && s.log_history->len == 5);
    char *got = lmt_trainer_state_to_json(&s);
    CHECK(got != NULL);
    if (got && want) {
        CHECK_MSG(strcmp(got, want) == 0, "re-serialised trainer_state.json differs:\n%s", got);
    }
    free(got);

    /* a log entry as Trainer.log writes it: metrics, then epoch and step */
    lmt_trainer_state_free(&s);
    CHECK_OK(lmt_trainer_state_init(&s));
    s.epoch = 0.6666666666666666;
    s.global_step = 2;
    const char *keys[] = {"loss", "grad_norm", "learning_rate"};
    double vals[] = {3.651911735534668, 1.026870608329773, 0.0008333333333333334};
    CHECK_OK(lmt_trainer_state_log(&s, keys, vals, 3));
    got = lmt_trainer_state_to_json(&s);
    CHECK(got && strstr(got, "    {\n      \"epoch\": 0.6666666666666666,\n      \"grad_norm\": 1.026870608329773,\n"
                             "      \"learning_rate\": 0.0008333333333333334,\n      \"loss\": 3.651911735534668,\n      \"step\": 2\n    }"));
    free(got);
    lmt_trainer_state_free(&s);

    /* malformed files are named */
    lmt_trainer_state_init(&s);
    CHECK(lmt_trainer_state_load(&s, LMT_SOURCE_DIR "/tests/fixtures/train/schedules.json") == LMT_ERR_FORMAT);
    CHECK(strstr(lmt_last_error(), "schedules.json: unknown field \"transformers\"") != NULL);
    CHECK(lmt_trainer_state_load(&s, "/nonexistent/trainer_state.json") == LMT_ERR_NOT_FOUND);
    CHECK(strstr(lmt_last_error(), "/nonexistent/trainer_state.json") != NULL);
    /* values the Trainer would divide by or count from are range-checked (fuzz_resume's findings) */
    static const char *const bad[][2] = {{"{\"logging_steps\": 0}", "logging_steps is 0 (must be positive)"},
                                         {"{\"global_step\": -3}", "global_step is -3 (must be zero or more)"},
                                         {"{\"epoch\": NaN}", "epoch is nan"}};
    char tmp[] = "/tmp/lmt-trainer-state-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char p[200];
        snprintf(p, sizeof p, "%s/trainer_state.json", tmp);
        CHECK_OK(lmt_write_file_atomic(p, bad[k][0], strlen(bad[k][0])));
        CHECK(lmt_trainer_state_load(&s, p) == LMT_ERR_FORMAT);
        CHECK_MSG(strstr(lmt_last_error(), "trainer_state.json: ") && strstr(lmt_last_error(), bad[k][1]), "%s", lmt_last_error());
        unlink(p);
    }
    rmdir(tmp);
    lmt_trainer_state_free(&s);
    free(want);
    return lmt_test_finish();
}
