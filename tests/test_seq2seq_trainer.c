/* Translation training against transformers' Seq2SeqTrainer
 * (tests/fixtures/seq2seq_trainer, tools/reference/make_seq2seq_trainer_fixtures.py):
 * a tiny random Marian over the real opus-mt-tc-big-en-pt tokenizer, 30
 * steps on KDE pairs with the Trainer's RandomSampler, dropout off. Every
 * step's loss, grad norm and learning rate; every evaluation's eval_loss and,
 * with predict_with_generate, eval_bleu and eval_gen_len (beam search from the
 * model's generation_config, decoded predictions vs labels, sacreBLEU) before,
 * during and after training. LMT_TEST_QUICK (the sanitizer run) stops after
 * step 15 and its evaluation. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "harness.h"
#include "trainer_ref.h"
#include "core/json.h"
#include "core/util.h"
#include "data/seq2seq_collator.h"
#include "data/translation_data.h"
#include "train/seq2seq_metrics.h"
#include "train/task_seq2seq.h"

#define FIX LMT_SOURCE_DIR "/tests/fixtures/seq2seq_trainer"
#define TOK LMT_SHARED_DATA "/tokenizers/opus-mt-tc-big-en-pt"

static bool close_rel(double a, double b, double tol) { return fabs(a - b) <= tol * (fabs(b) > 1 ? fabs(b) : 1); }

/* pairs [{"en", "fr"}] -> tokenized dataset; its ids must be the reference's */
static void build(const lmt_json *pairs, const lmt_json *want, const lmt_tokenizer *tok, lmt_dataset *out, int *max_src, int *max_tgt) {
    lmt_dataset raw;
    lmt_ds_init(&raw);
    lmt_ds_column *en = lmt_col_new("translation.en", LMT_DS_STR), *fr = lmt_col_new("translation.fr", LMT_DS_STR);
    for (size_t i = 0; i < pairs->len; i++) {
        const char *e = lmt_json_get(&pairs->items[i], "en")->str, *f = lmt_json_get(&pairs->items[i], "fr")->str;
        lmt_col_push_str(en, e, strlen(e));
        lmt_col_push_str(fr, f, strlen(f));
    }
    CHECK_OK(lmt_ds_add_column(&raw, en));
    CHECK_OK(lmt_ds_add_column(&raw, fr));
    CHECK_OK(lmt_translation_tokenize(&raw, tok, "translation.en", "translation.fr", 128, 128, out));
    lmt_ds_free(&raw);
    const char *cols[] = {"input_ids", "attention_mask", "labels"};
    int bad = 0;
    for (size_t c = 0; c < 3; c++) {
        const lmt_ds_column *col = lmt_ds_col(out, cols[c]);
        CHECK(col != NULL);
        if (!col) continue;
        for (size_t r = 0; r < want->len; r++) {
            const lmt_json *w = lmt_json_get(&want->items[r], cols[c]);
            size_t n;
            const int32_t *v = lmt_col_ints(col, (int64_t)r, &n);
            if (n != w->len) { bad++; continue; }
            for (size_t k = 0; k < n; k++) bad += v[k] != w->items[k].i64;
            if (c == 0 && (int)n > *max_src) *max_src = (int)n;
            if (c == 2 && (int)n > *max_tgt) *max_tgt = (int)n;
        }
    }
    CHECK_MSG(bad == 0, "%d tokenized values differ from MarianTokenizer's", bad);
}

int main(void) {
    lmt_json *ref = NULL;
    CHECK_OK(lmt_json_parse_file(FIX "/reference.json", &ref));
    if (!ref) return lmt_test_finish();
    lmt_model *m = NULL;
    lmt_tokenizer *tok = NULL;
    CHECK_OK(lmt_model_load(FIX "/model", &m));
    CHECK_OK(lmt_tokenizer_load(TOK, &tok));
    if (!m || !tok) return lmt_test_finish();
    m->cfg.dropout = m->cfg.attn_dropout = m->cfg.embd_dropout = 0;   /* the reference ran with dropout off */
    lmt_dataset train, eval;
    int max_src = 0, max_tgt = 0;
    build(lmt_json_get(ref, "train_pairs"), lmt_json_get(ref, "train"), tok, &train, &max_src, &max_tgt);
    build(lmt_json_get(ref, "eval_pairs"), lmt_json_get(ref, "eval"), tok, &eval, &max_src, &max_tgt);

    lmt_training_args a;
    lmt_training_args_default(&a);
    char dir[] = "/tmp/lmt-s2s-trainer-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    snprintf(a.output_dir, sizeof a.output_dir, "%s/out", dir);
    const lmt_json *args = lmt_json_get(ref, "args");
    ref_apply_args(&a, args);
    CHECK(a.predict_with_generate);

    lmt_seq2seq_collator_opts co = lmt_seq2seq_collator_opts_default();
    co.pad_id = lmt_tokenizer_special_ids(tok).pad;
    co.model_pad_id = (int32_t)m->cfg.pad_token_id;
    co.decoder_start_token_id = (int32_t)m->cfg.decoder_start_token_id;
    lmt_seq2seq_collator tc, ec;
    CHECK_OK(lmt_seq2seq_collator_init(&tc, &train, &co));
    CHECK_OK(lmt_seq2seq_collator_init(&ec, &eval, &co));
    lmt_train_data td = lmt_seq2seq_train_data(&tc), ed = lmt_seq2seq_train_data(&ec);
    lmt_seq2seq_task *task = NULL;
    int max_B = (int)(a.per_device_train_batch_size > a.per_device_eval_batch_size ? a.per_device_train_batch_size : a.per_device_eval_batch_size);
    CHECK_OK(lmt_seq2seq_task_create(m, max_B, max_src, max_tgt, &task));
    lmt_seq2seq_metrics sm;
    /* generation_num_beams / generation_max_length unset: the model's generation_config (4 beams, 16, bad word = pad) */
    CHECK_OK(lmt_seq2seq_metrics_init(&sm, m, tok, 0, 0));
    CHECK(sm.gen.num_beams == 4 && sm.gen.max_length == 16 && sm.gen.config_bad_words && sm.gen.forced_eos_token_id == 44670);
    sm.clean_up_tokenization_spaces = lmt_tokenizer_dir_cleans_up(TOK);
    bool quick = getenv("LMT_TEST_QUICK") != NULL;
    lmt_trainer t;
    CHECK_OK(lmt_trainer_init(&t, &a, &task->base, &td, &ed));
    if (quick) t.interrupt_at_step = 15;
    t.prediction_step = lmt_seq2seq_prediction_step;
    t.compute_metrics = lmt_seq2seq_compute_metrics;
    t.metrics_ctx = &sm;
    lmt_eval_output e0, e1;
    lmt_train_output out;
    /* trainer.evaluate() before train(): train() starts a fresh log history, so it is not logged */
    CHECK_OK(lmt_trainer_evaluate(&t, &e0));
    CHECK_OK(lmt_trainer_train(&t, &out));
    if (!quick) {
        CHECK_OK(lmt_trainer_evaluate(&t, &e1));
        CHECK_OK(lmt_trainer_log_eval(&t, &e1));
    }

    /* the log history, less the train summary (the reference dropped it too) */
    const lmt_json *want = lmt_json_get(ref, "log_history"), *all = t.state.log_history;
    const lmt_json *got[128];
    size_t ng = 0, nw = 0;
    for (size_t i = 0; i < all->len && ng < 128; i++)
        if (!lmt_json_get(&all->items[i], "train_runtime")) got[ng++] = &all->items[i];
    while (nw < want->len && (!quick || lmt_json_get(&want->items[nw], "step")->i64 <= 15)) nw++;
    CHECK_MSG(ng == nw, "%zu log entries, transformers %zu", ng, nw);
    int bad = 0, n_bleu = 0;
    for (size_t i = 0; i < nw && i < ng; i++) {
        const lmt_json *w = &want->items[i], *g = got[i];
        for (size_t k = 0; k < w->len; k++) {
            const char *key = w->keys[k];
            if (strstr(key, "runtime") || strstr(key, "per_second") || strstr(key, "preparation_time")) continue;
            const lmt_json *gv = lmt_json_get(g, key);
            /* BLEU and gen_len are rounded to 4 places by compute_metrics: they must be equal */
            bool exact = !strcmp(key, "eval_bleu") || !strcmp(key, "eval_gen_len") || !strcmp(key, "step");
            double tol = exact ? 0 : !strcmp(key, "epoch") || !strcmp(key, "learning_rate") ? 1e-12 : 1e-4;
            n_bleu += !strcmp(key, "eval_bleu");
            /* LMT_DEBUG_S2S=1 prints every step's relative differences */
            if (getenv("LMT_DEBUG_S2S") && gv && !strcmp(key, "grad_norm")) fprintf(stderr, "step %zu grad_norm rel %.2e loss rel %.2e\n", i, fabs(gv->num / w->items[k].num - 1), fabs(lmt_json_get(g, "loss")->num / lmt_json_get(w, "loss")->num - 1));
            if (!gv || !close_rel(gv->num, w->items[k].num, tol)) {
                if (bad++ < 40) fprintf(stderr, "entry %zu %s = %.9g, transformers %.9g\n", i, key, gv ? gv->num : NAN, w->items[k].num);
            }
        }
    }
    CHECK_MSG(bad == 0, "%d values differ from transformers' Seq2SeqTrainer", bad);
    CHECK(n_bleu == (quick ? 1 : 3));   /* at step 15, at step 30, after */
    const lmt_json *before = lmt_json_get(ref, "before"), *after = lmt_json_get(ref, "after");
    double v;
    CHECK(close_rel(e0.loss, lmt_json_get(before, "eval_loss")->num, 1e-4));
    CHECK(lmt_eval_metric(&e0, "eval_bleu", &v) && v == lmt_json_get(before, "eval_bleu")->num);
    /* the decoded texts of the last evaluation (Python's: before, step 15, step 30, after) */
    const lmt_json *gens = lmt_json_get(ref, "generations");
    const lmt_json *last = &gens->items[quick ? 1 : gens->len - 1];
    const lmt_json *preds = lmt_json_get(last, "predictions"), *refs = lmt_json_get(last, "references");
    CHECK(sm.n_texts == preds->len);
    for (size_t i = 0; i < sm.n_texts && i < preds->len; i++) {
        CHECK_MSG(!strcmp(sm.predictions[i], preds->items[i].str), "prediction %zu: \"%s\", transformers \"%s\"", i, sm.predictions[i], preds->items[i].str);
        CHECK_MSG(!strcmp(sm.references[i], refs->items[i].str), "reference %zu: \"%s\", transformers \"%s\"", i, sm.references[i], refs->items[i].str);
    }
    if (!quick) {
    CHECK(out.global_step == lmt_json_get(ref, "global_step")->i64);
    CHECK_MSG(close_rel(out.training_loss, lmt_json_get(ref, "training_loss")->num, 1e-4), "train_loss %.9g", out.training_loss);
    CHECK_MSG(close_rel(out.total_flos, lmt_json_get(ref, "total_flos")->num, 1e-9), "total_flos %.9g", out.total_flos);
    /* the evaluation after training as trainer.evaluate() returned it */
    CHECK(close_rel(e1.loss, lmt_json_get(after, "eval_loss")->num, 1e-4));
    CHECK(lmt_eval_metric(&e1, "bleu", &v) && v == lmt_json_get(after, "eval_bleu")->num && v > 0);
    CHECK(lmt_eval_metric(&e1, "eval_gen_len", &v) && v == lmt_json_get(after, "eval_gen_len")->num);
    }
    /* a metric nobody computed */
    CHECK(!lmt_eval_metric(&e0, "eval_rouge", &v));
    /* compute_metrics without prediction_step has no predictions: refused, not a crash */
    lmt_seq2seq_metrics no_pred;
    CHECK_OK(lmt_seq2seq_metrics_init(&no_pred, m, tok, 0, 0));
    t.prediction_step = NULL;
    t.metrics_ctx = &no_pred;
    lmt_eval_output e2;
    CHECK(lmt_trainer_evaluate(&t, &e2) == LMT_ERR_ARG && strstr(lmt_last_error(), "prediction_step"));
    lmt_seq2seq_metrics_free(&no_pred);
    t.metrics_ctx = &sm;

    /* bad generation settings are refused naming the value */
    lmt_seq2seq_metrics bad_sm;
    CHECK(lmt_seq2seq_metrics_init(&bad_sm, m, tok, 0, 65) == LMT_ERR_ARG && strstr(lmt_last_error(), "max_position_embeddings"));
    CHECK(lmt_seq2seq_metrics_init(&bad_sm, m, tok, -1, 0) == LMT_ERR_ARG && strstr(lmt_last_error(), "num_beams"));

    lmt_trainer_free(&t);
    lmt_seq2seq_metrics_free(&sm);
    lmt_seq2seq_task_free(task);
    lmt_ds_free(&train);
    lmt_ds_free(&eval);
    lmt_tokenizer_free(tok);
    lmt_model_free(m);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    lmt_json_free(ref);
    return lmt_test_finish();
}
