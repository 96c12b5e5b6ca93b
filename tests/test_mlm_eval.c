/* Evaluation perplexity of a masked LM: with the evaluation set masked once
 * from a seed (the course's custom loop), two evaluations give the same
 * perplexity; with the training collator (fresh masks per batch, as the
 * Trainer does by default) they differ. Tiny BERT with its WordPiece vocab. */
#include <stdlib.h>
#include "harness.h"
#include "data/mlm_collator.h"
#include "train/task_mlm.h"

int main(void) {
    const char *dir = LMT_SOURCE_DIR "/tests/fixtures/models/bert-fillmask";
    lmt_model *m = NULL;
    lmt_tokenizer *tok = NULL;
    CHECK_OK(lmt_model_load(dir, &m));
    CHECK_OK(lmt_tokenizer_load(dir, &tok));
    if (!m || !tok) return lmt_test_finish();
    const char *texts[] = {"the cat sat on the world of the cat", "the world sat on the cat", "of the cat and the world",
                           "the cat of the world sat", "on the world the cat sat on", "the cat the world the cat"};
    lmt_dataset ds;
    lmt_ds_init(&ds);
    lmt_ds_column *ids = lmt_col_new("input_ids", LMT_DS_INTS);
    for (int i = 0; i < 6; i++) {
        lmt_encoding e;
        CHECK_OK(lmt_tokenizer_encode(tok, texts[i], strlen(texts[i]), NULL, 0, NULL, &e));
        lmt_col_push_ints(ids, e.ids, e.n);
        lmt_encoding_free(&e);
    }
    CHECK_OK(lmt_ds_add_column(&ds, ids));
    lmt_mlm_task *task = NULL;
    CHECK_OK(lmt_mlm_task_create(m, 4, 16, &task));
    lmt_training_args a;
    lmt_training_args_default(&a);
    a.per_device_eval_batch_size = 4;
    lmt_mlm_opts o = lmt_mlm_opts_default();
    o.mlm_probability = 0.3;
    o.seed = 5;
    double loss[2][2];
    for (int mode = 0; mode < 2; mode++) {
        lmt_dataset masked;
        lmt_ds_init(&masked);
        lmt_mlm_opts oo = o;
        if (mode == 0) {
            CHECK_OK(lmt_mlm_mask_dataset(&ds, tok, &oo, &masked));
            oo.mode = LMT_MLM_PREMASKED;
        }
        lmt_mlm_collator c;
        CHECK_OK(lmt_mlm_collator_init(&c, mode == 0 ? &masked : &ds, tok, &oo));
        lmt_train_data ed = lmt_mlm_train_data(&c);
        lmt_trainer t;
        CHECK_OK(lmt_trainer_init(&t, &a, &task->base, NULL, &ed));
        for (int r = 0; r < 2; r++) {
            lmt_eval_output e;
            CHECK_OK(lmt_trainer_evaluate(&t, &e));
            loss[mode][r] = e.loss;
        }
        lmt_trainer_free(&t);
        lmt_ds_free(&masked);
    }
    CHECK_MSG(loss[0][0] == loss[0][1] && isfinite(loss[0][0]), "fixed masks: %.9g vs %.9g", loss[0][0], loss[0][1]);
    CHECK_MSG(loss[1][0] != loss[1][1], "fresh masks gave the same loss twice (%.9g)", loss[1][0]);
    lmt_mlm_task_free(task);
    lmt_ds_free(&ds);
    lmt_tokenizer_free(tok);
    lmt_model_free(m);
    return lmt_test_finish();
}
