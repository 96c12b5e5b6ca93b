/* The public API (include/lmtune/) against transformers' references, called
 * the way an application calls it (src/ only reads the reference files):
 *  - lmt_model_generate: greedy generate() of the tiny GPT-2
 *    (tests/fixtures/generate);
 *  - the translation path end to end: JSON Lines pairs -> lmt_data_load ->
 *    lmt_data_tokenize_pairs -> lmt_collator_create_seq2seq -> lmt_tuner
 *    (typed argument setters, Seq2SeqTrainer with predict_with_generate)
 *    against tests/fixtures/seq2seq_trainer: evaluate() before training
 *    (eval_loss, eval_bleu, eval_gen_len), then the 30-step run's log
 *    history and evaluate() after it (LMT_TEST_QUICK, the sanitizer run,
 *    stops after the first evaluation);
 *  - the MLM path: a masked-once evaluation repeats, the saved folder loads;
 *  - the SPEC's IMDb chunk counts through lmt_data, whole-word masking;
 *  - TrainingArguments errors name the argument; data errors name the column. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "trainer_ref.h"
#include "core/json.h"
#include "core/util.h"
#include "lmtune/data.h"
#include "lmtune/generate.h"
#include "lmtune/pipeline.h"
#include "lmtune/trainer.h"

#define S2S LMT_SOURCE_DIR "/tests/fixtures/seq2seq_trainer"
#define S2S_TOK LMT_SHARED_DATA "/tokenizers/opus-mt-tc-big-en-pt"

static bool close_rel(double a, double b, double tol) { return fabs(a - b) <= tol * (fabs(b) > 1 ? fabs(b) : 1); }

static void test_generate(void) {
    lmt_json *ref = NULL;
    lmt_model *m = NULL;
    CHECK_OK(lmt_json_parse_file(LMT_SOURCE_DIR "/tests/fixtures/generate/reference.json", &ref));
    CHECK_OK(lmt_model_load(LMT_SOURCE_DIR "/tests/fixtures/generate/model", &m));
    if (!ref || !m) { lmt_json_free(ref); lmt_model_free(m); return; }
    const lmt_json *greedy = lmt_json_get(ref, "greedy");
    for (size_t c = 0; c < greedy->len; c++) {
        const lmt_json *p = lmt_json_get(&greedy->items[c], "prompt"), *w = lmt_json_get(&greedy->items[c], "output");
        int32_t prompt[16];
        for (size_t i = 0; i < p->len; i++) prompt[i] = (int32_t)p->items[i].i64;
        lmt_generation_opts o = lmt_generation_opts_default(m);
        o.max_new_tokens = (int32_t)(w->len - p->len);
        lmt_generation g;
        CHECK_OK(lmt_model_generate(m, prompt, p->len, &o, &g));
        bool same = g.n_sequences == 1 && g.length == w->len;
        for (size_t i = 0; same && i < g.length; i++) same = g.ids[i] == w->items[i].i64;
        CHECK_MSG(same, "greedy case %zu differs from transformers' generate()", c);
        lmt_generation_free(&g);
    }
    /* beam search is Marian's; an encoder does not generate */
    lmt_generation_opts o = lmt_generation_opts_default(m);
    o.num_beams = 4;
    lmt_generation g;
    int32_t one = 5;
    CHECK(lmt_model_generate(m, &one, 1, &o, &g) == LMT_ERR_ARG && strstr(lmt_last_error(), "num_beams"));
    lmt_model *bert = NULL;
    CHECK_OK(lmt_model_load(LMT_SOURCE_DIR "/tests/fixtures/models/bert", &bert));
    CHECK(bert && lmt_model_generate(bert, &one, 1, NULL, &g) == LMT_ERR_UNSUPPORTED);
    lmt_model_free(bert);
    lmt_model_free(m);
    lmt_json_free(ref);
}

/* pairs [{"en", "fr"}] as HF translation JSON Lines */
static void write_pairs(const char *path, const lmt_json *pairs) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    for (size_t i = 0; f && i < pairs->len; i++) {
        lmt_json *row = lmt_json_new(LMT_JSON_OBJECT), *tr = lmt_json_new(LMT_JSON_OBJECT);
        CHECK_OK(lmt_json_object_set(tr, "en", lmt_json_new_string(lmt_json_get(&pairs->items[i], "en")->str)));
        CHECK_OK(lmt_json_object_set(tr, "fr", lmt_json_new_string(lmt_json_get(&pairs->items[i], "fr")->str)));
        CHECK_OK(lmt_json_object_set(row, "translation", tr));
        lmt_strbuf b;
        lmt_sb_init(&b);
        lmt_json_write(&b, row, 0);
        fprintf(f, "%s\n", b.data);
        lmt_sb_free(&b);
        lmt_json_free(row);
    }
    if (f) fclose(f);
}

/* load + tokenize; the ids must be MarianTokenizer's */
static lmt_data *pairs_data(const char *path, const lmt_tokenizer *tok, const lmt_json *want) {
    lmt_data *raw = NULL, *ids = NULL;
    CHECK_OK(lmt_data_load(path, LMT_DATA_JSONL, &raw));
    if (!raw) return NULL;
    CHECK_OK(lmt_data_tokenize_pairs(raw, tok, "translation.en", "translation.fr", 128, 128, &ids));
    lmt_data_free(raw);
    if (!ids) return NULL;
    int bad = 0;
    const char *cols[] = {"input_ids", "labels"};
    for (int c = 0; c < 2; c++)
        for (size_t r = 0; r < want->len; r++) {
            const lmt_json *w = lmt_json_get(&want->items[r], cols[c]);
            const int32_t *v = NULL;
            size_t n = 0;
            CHECK_OK(lmt_data_get_ids(ids, cols[c], (int64_t)r, &v, &n));
            if (n != w->len) { bad++; continue; }
            for (size_t k = 0; k < n; k++) bad += v[k] != w->items[k].i64;
        }
    CHECK_MSG(bad == 0, "%d token ids differ from MarianTokenizer's", bad);
    return ids;
}

/* Each {name: value} of the reference's Seq2SeqTrainingArguments through
 * the typed setter of its JSON type. */
static void apply_args(lmt_args *a, const lmt_json *args) {
    for (size_t i = 0; i < args->len; i++) {
        const lmt_json *v = &args->items[i];
        const char *k = args->keys[i];
        if (v->type == LMT_JSON_STRING) CHECK_OK(lmt_args_set_str(a, k, v->str));
        else if (v->type == LMT_JSON_BOOL) CHECK_OK(lmt_args_set_bool(a, k, v->boolean));
        else if (v->is_int) CHECK_OK(lmt_args_set_int(a, k, v->i64));
        else CHECK_OK(lmt_args_set_float(a, k, v->num));
    }
}

typedef struct {
    lmt_json *logs[128];
    size_t n_logs;
    lmt_eval_result evals[8];
    size_t n_evals;
    int64_t eval_batches, eval_total;   /* on_eval_progress: the last call's */
    char eval_what[48];
} seen;

static void on_eval_progress(void *user, const char *what, int64_t done, int64_t total) {
    seen *s = user;
    s->eval_batches = done;
    s->eval_total = total;
    snprintf(s->eval_what, sizeof s->eval_what, "%s", what);
}

static void on_log(void *user, const char *json) {
    seen *s = user;
    if (s->n_logs < 128) CHECK_OK(lmt_json_parse(json, strlen(json), "on_log", &s->logs[s->n_logs++]));
}

static void on_evaluate(void *user, const lmt_eval_result *r) {
    seen *s = user;
    if (s->n_evals < 8) s->evals[s->n_evals++] = *r;
}

static double metric(const lmt_eval_result *r, const char *name) {
    for (int i = 0; i < r->n_metrics; i++)
        if (!strcmp(r->metric_names[i], name)) return r->metric_values[i];
    return NAN;
}

static void test_translation_trainer(void) {
    static seen s;
    lmt_json *ref = NULL;
    CHECK_OK(lmt_json_parse_file(S2S "/reference.json", &ref));
    lmt_model *m = NULL;
    lmt_tokenizer *tok = NULL;
    CHECK_OK(lmt_model_load(S2S "/model", &m));
    CHECK_OK(lmt_tokenizer_load(S2S_TOK, &tok));
    if (!ref || !m || !tok) { lmt_json_free(ref); lmt_model_free(m); lmt_tokenizer_free(tok); return; }
    char dir[] = "/tmp/lmt-api-XXXXXX", path[300];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/train.jsonl", dir);
    write_pairs(path, lmt_json_get(ref, "train_pairs"));
    lmt_data *train = pairs_data(path, tok, lmt_json_get(ref, "train"));
    snprintf(path, sizeof path, "%s/eval.jsonl", dir);
    write_pairs(path, lmt_json_get(ref, "eval_pairs"));
    lmt_data *eval = pairs_data(path, tok, lmt_json_get(ref, "eval"));
    lmt_collator *tc = NULL, *ec = NULL;
    if (train) CHECK_OK(lmt_collator_create_seq2seq(train, tok, m, 0, &tc));
    if (eval) CHECK_OK(lmt_collator_create_seq2seq(eval, tok, m, 0, &ec));
    {   /* the translation pipeline on each evaluation source: what
         * Seq2SeqTrainer generated for it before training (beam search from
         * the generation_config; its batches are padded, the pipeline's one
         * row is not) */
        const lmt_json *pairs = lmt_json_get(ref, "eval_pairs");
        const lmt_json *preds = lmt_json_get(&lmt_json_get(ref, "generations")->items[0], "predictions");
        lmt_pipeline *p = NULL;
        CHECK_OK(lmt_pipeline_create(LMT_PIPELINE_TRANSLATION, m, tok, &p));
        for (size_t i = 0; p && i < pairs->len; i++) {
            char **texts = NULL;
            size_t n = 0;
            CHECK_OK(lmt_pipeline_translate(p, lmt_json_get(&pairs->items[i], "en")->str, NULL, &texts, &n));
            CHECK_MSG(n == 1 && !strcmp(texts[0], preds->items[i].str), "pair %zu: \"%s\", transformers \"%s\"", i,
                      n ? texts[0] : "", preds->items[i].str);
            for (size_t k = 0; k < n; k++) free(texts[k]);
            free(texts);
        }
        lmt_pipeline *wrong = NULL;
        CHECK(lmt_pipeline_create(LMT_PIPELINE_FILL_MASK, m, tok, &wrong) == LMT_ERR_ARG && strstr(lmt_last_error(), "MarianMTModel"));
        lmt_pipeline_free(p);
    }
    lmt_args *args = NULL;
    CHECK_OK(lmt_args_create(&args));
    snprintf(path, sizeof path, "%s/out", dir);
    CHECK_OK(lmt_args_set_str(args, "output_dir", path));
    apply_args(args, lmt_json_get(ref, "args"));
    lmt_tuner *t = NULL;
    if (tc && ec) CHECK_OK(lmt_tuner_create(m, args, tc, ec, &t));
    if (!t) goto done;
    /* the model's generation_config (4 beams, max_length 16) drives eval_bleu */
    CHECK_OK(lmt_tuner_set_tokenizer(t, tok, S2S_TOK));
    lmt_tuner_callbacks cb = {.on_log = on_log, .on_evaluate = on_evaluate, .user = &s, .on_eval_progress = on_eval_progress};
    lmt_tuner_set_callbacks(t, &cb);
    const lmt_json *before = lmt_json_get(ref, "before"), *after = lmt_json_get(ref, "after");
    lmt_eval_result e0;
    CHECK_OK(lmt_tuner_evaluate(t, &e0));
    /* the evaluation's progress: every batch, with its generation */
    CHECK_MSG(s.eval_total > 0 && s.eval_batches == s.eval_total && !strcmp(s.eval_what, "evaluation + generation"),
              "on_eval_progress: %lld of %lld batches, \"%s\"", (long long)s.eval_batches, (long long)s.eval_total, s.eval_what);
    CHECK_MSG(close_rel(e0.loss, lmt_json_get(before, "eval_loss")->num, 1e-4), "eval_loss %.9g before training", e0.loss);
    CHECK(e0.perplexity == exp(e0.loss));
    CHECK(metric(&e0, "eval_bleu") == lmt_json_get(before, "eval_bleu")->num);
    CHECK(metric(&e0, "eval_gen_len") == lmt_json_get(before, "eval_gen_len")->num);
    CHECK(s.n_evals == 1 && s.evals[0].loss == e0.loss && metric(&s.evals[0], "eval_bleu") == metric(&e0, "eval_bleu"));
    if (!getenv("LMT_TEST_QUICK")) {
        lmt_train_result tr;
        lmt_eval_result e1;
        CHECK_OK(lmt_tuner_train(t, &tr));
        CHECK_OK(lmt_tuner_evaluate(t, &e1));
        CHECK(tr.global_step == lmt_json_get(ref, "global_step")->i64);
        CHECK_MSG(close_rel(tr.training_loss, lmt_json_get(ref, "training_loss")->num, 1e-4), "train_loss %.9g", tr.training_loss);
        CHECK_MSG(close_rel(e1.loss, lmt_json_get(after, "eval_loss")->num, 1e-4), "eval_loss %.9g after training", e1.loss);
        CHECK(metric(&e1, "eval_bleu") == lmt_json_get(after, "eval_bleu")->num && metric(&e1, "eval_bleu") > 0);
        /* on_log: evaluate() before, then transformers' history with the
         * train summary (which the reference drops) */
        const lmt_json *want = lmt_json_get(ref, "log_history");
        size_t w = 0;
        int bad = 0;
        for (size_t i = 1; i < s.n_logs && w < want->len; i++) {
            if (lmt_json_get(s.logs[i], "train_runtime")) continue;
            bad += ref_log_entry_diff(&want->items[w], s.logs[i], w);
            w++;
        }
        CHECK_MSG(w == want->len && bad == 0, "%zu of %zu entries compared, %d values differ", w, want->len, bad);
        /* before, at steps 15 and 30, after */
        CHECK(s.n_evals == 4 && metric(&s.evals[3], "eval_bleu") == metric(&e1, "eval_bleu"));
    }
    /* the collators must suit the model */
    lmt_tuner *wrong = NULL;
    lmt_model *gpt2 = NULL;
    CHECK_OK(lmt_model_load(LMT_SOURCE_DIR "/tests/fixtures/models/gpt2", &gpt2));
    CHECK(lmt_tuner_create(gpt2, args, tc, NULL, &wrong) == LMT_ERR_ARG && strstr(lmt_last_error(), "lmt_collator_create_clm"));
    lmt_model_free(gpt2);
done:
    for (size_t i = 0; i < s.n_logs; i++) lmt_json_free(s.logs[i]);
    lmt_tuner_free(t);
    lmt_args_free(args);
    lmt_collator_free(tc);
    lmt_collator_free(ec);
    lmt_data_free(train);
    lmt_data_free(eval);
    lmt_tokenizer_free(tok);
    lmt_model_free(m);
    lmt_json_free(ref);
    ref_remove_dir(dir);
}

/* SPEC §2c through lmt_data: the IMDb reviews tokenized by the BERT uncased
 * tokenizer and grouped into 128-token chunks are 61,289;
 * train_test_split(train_size=10_000, test_size=1_000, seed=42) keeps
 * 10,000 / 1,000; whole-word masking then masks every token of a chosen word
 * and nothing else. (Skipped in the sanitizer run.) */
static void test_mlm_data(void) {
    lmt_tokenizer *tok = NULL;
    lmt_data *raw = NULL, *ids = NULL, *chunks = NULL, *train = NULL, *test = NULL;
    CHECK_OK(lmt_tokenizer_load(LMT_SHARED_DATA "/tokenizers/bert-base-uncased", &tok));
    CHECK_OK(lmt_data_load(LMT_SHARED_DATA "/imdb/train.jsonl", LMT_DATA_AUTO, &raw));
    if (tok && raw) CHECK_OK(lmt_data_tokenize(raw, tok, "text", 0, &ids));
    if (ids) CHECK_OK(lmt_data_group_texts(ids, 128, &chunks));
    CHECK(chunks && lmt_data_num_rows(chunks) == 61289);
    if (chunks) CHECK_OK(lmt_data_train_test_split(chunks, 1000, 10000, 42, &train, &test));
    CHECK(train && test && lmt_data_num_rows(train) == 10000 && lmt_data_num_rows(test) == 1000);
    lmt_collator *c = NULL;
    lmt_masking_opts o = lmt_masking_opts_default();
    o.whole_word = true;
    if (train) CHECK_OK(lmt_collator_create_mlm(train, tok, &o, &c));
    if (c) {
        int64_t rows[8] = {0, 1, 2, 3, 4, 5, 6, 7};
        lmt_collated_batch b;
        CHECK_OK(lmt_collator_collate(c, rows, 8, &b));
        int32_t mask = lmt_tokenizer_special_ids(tok).mask;
        int bad = 0, masked = 0;
        for (int r = 0; r < b.batch && b.labels; r++) {
            const int32_t *orig, *words;
            size_t n, nw;
            CHECK_OK(lmt_data_get_ids(train, "input_ids", r, &orig, &n));
            CHECK_OK(lmt_data_get_ids(train, "word_ids", r, &words, &nw));
            for (int i = 0; i < b.length && (size_t)i < n; i++) {
                const int32_t *in = b.input_ids + (size_t)r * b.length, *lab = b.labels + (size_t)r * b.length;
                bool m = lab[i] != -100;
                masked += m;
                if (m ? in[i] != mask || lab[i] != orig[i] : in[i] != orig[i]) bad++;
                /* a word is masked whole: its neighbours in the word agree */
                if (i > 0 && words[i] >= 0 && words[i] == words[i - 1] && m != (lab[i - 1] != -100)) bad++;
            }
        }
        CHECK_MSG(bad == 0 && masked > 0, "%d tokens break whole-word masking (%d masked)", bad, masked);
        lmt_collated_batch_free(&b);
        int64_t past = 10000;
        CHECK(lmt_collator_collate(c, &past, 1, &b) == LMT_ERR_ARG);
    }
    lmt_collator_free(c);
    lmt_data_free(train);
    lmt_data_free(test);
    lmt_data_free(chunks);
    lmt_data_free(ids);
    lmt_data_free(raw);
    lmt_tokenizer_free(tok);
}

/* The MLM path through the Trainer on the tiny BERT of bert-fillmask:
 * tokenized, grouped text, whole-word masking for training, the
 * masked-once evaluation set: evaluating it twice gives the same loss (the
 * point of insert_random_mask), training moves it, and the saved folder
 * loads back as BERT with its tokenizer. */
static void test_mlm_tuner(void) {
    const char *dir_model = LMT_SOURCE_DIR "/tests/fixtures/models/bert-fillmask";
    lmt_model *m = NULL;
    lmt_tokenizer *tok = NULL;
    lmt_data *raw = NULL, *ids = NULL, *blocks = NULL;
    lmt_collator *tc = NULL, *ec = NULL;
    lmt_args *a = NULL;
    lmt_tuner *t = NULL;
    char dir[] = "/tmp/lmt-api-mlm-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    CHECK_OK(lmt_model_load(dir_model, &m));
    CHECK_OK(lmt_tokenizer_load(dir_model, &tok));
    CHECK_OK(lmt_data_load(LMT_SOURCE_DIR "/tests/fixtures/models/README.md", LMT_DATA_TEXT, &raw));
    if (!m || !tok || !raw) goto done;
    CHECK_OK(lmt_data_tokenize(raw, tok, NULL, 0, &ids));
    if (ids) CHECK_OK(lmt_data_group_texts(ids, 16, &blocks));
    CHECK(blocks && lmt_data_num_rows(blocks) >= 8);
    if (!blocks) goto done;
    lmt_masking_opts o = lmt_masking_opts_default();
    o.whole_word = true;
    CHECK_OK(lmt_collator_create_mlm(blocks, tok, &o, &tc));
    o.seed = 7;
    CHECK_OK(lmt_collator_create_mlm_fixed(blocks, tok, &o, &ec));
    CHECK_OK(lmt_args_create(&a));
    if (!tc || !ec || !a) goto done;
    CHECK_OK(lmt_args_set_str(a, "output_dir", dir));
    CHECK_OK(lmt_args_set_int(a, "max_steps", 3));
    CHECK_OK(lmt_args_set_int(a, "per_device_train_batch_size", 4));
    CHECK_OK(lmt_args_set_float(a, "learning_rate", 1e-2));
    CHECK_OK(lmt_args_set_str(a, "save_strategy", "no"));
    CHECK_OK(lmt_tuner_create(m, a, tc, ec, &t));
    if (!t) goto done;
    CHECK_OK(lmt_tuner_set_tokenizer(t, tok, dir_model));
    lmt_eval_result e0, e1, e2;
    lmt_train_result tr;
    CHECK_OK(lmt_tuner_evaluate(t, &e0));
    CHECK_OK(lmt_tuner_evaluate(t, &e1));
    CHECK_MSG(e0.loss == e1.loss && isfinite(e0.loss) && e0.samples == lmt_data_num_rows(blocks), "eval_loss %.9g then %.9g", e0.loss, e1.loss);
    CHECK_OK(lmt_tuner_train(t, &tr));
    CHECK_OK(lmt_tuner_evaluate(t, &e2));
    CHECK(tr.global_step == 3 && isfinite(tr.training_loss) && e2.loss != e0.loss);
    char sub[300];
    snprintf(sub, sizeof sub, "%s/saved", dir);
    CHECK_OK(lmt_tuner_save(t, sub));
    lmt_model *back = NULL;
    lmt_tokenizer *tback = NULL;
    CHECK_OK(lmt_model_load(sub, &back));
    CHECK_OK(lmt_tokenizer_load(sub, &tback));
    CHECK(back && lmt_model_arch(back) == LMT_ARCH_BERT && tback && lmt_tokenizer_vocab_size(tback) == lmt_tokenizer_vocab_size(tok));
    lmt_model_free(back);
    lmt_tokenizer_free(tback);
done:
    lmt_tuner_free(t);
    lmt_args_free(a);
    lmt_collator_free(tc);
    lmt_collator_free(ec);
    lmt_data_free(blocks);
    lmt_data_free(ids);
    lmt_data_free(raw);
    lmt_tokenizer_free(tok);
    lmt_model_free(m);
    ref_remove_dir(dir);
}

static void test_errors(void) {
    lmt_args *a = NULL;
    CHECK_OK(lmt_args_create(&a));
    if (!a) return;
    CHECK(lmt_args_set_float(a, "max_steps", 2.5) == LMT_ERR_ARG && strstr(lmt_last_error(), "max_steps"));
    CHECK(lmt_args_set_str(a, "eval_strategy", "often") == LMT_ERR_ARG && strstr(lmt_last_error(), "eval_strategy"));
    CHECK(lmt_args_set_bool(a, "learning_rate", true) == LMT_ERR_ARG && strstr(lmt_last_error(), "learning_rate"));
    CHECK(lmt_args_set_int(a, "learning_rat", 1) == LMT_ERR_ARG && strstr(lmt_last_error(), "learning_rat"));
    CHECK_OK(lmt_args_set_int(a, "max_steps", 7));
    CHECK_OK(lmt_args_set_str(a, "evaluation_strategy", "epoch"));
    char *json = lmt_args_to_json(a);
    CHECK(json && strstr(json, "\"max_steps\": 7") && strstr(json, "\"eval_strategy\": \"epoch\""));
    free(json);
    lmt_args_free(a);

    lmt_data *d = NULL, *x = NULL;
    CHECK_OK(lmt_data_load(LMT_SOURCE_DIR "/tests/fixtures/seq2seq_trainer/README.md", LMT_DATA_TEXT, &d));
    if (!d) return;
    CHECK(lmt_data_num_columns(d) == 1 && !strcmp(lmt_data_column_name(d, 0), "text") && !lmt_data_column_name(d, 1));
    const char *text;
    size_t len;
    CHECK_OK(lmt_data_get_text(d, "text", 0, &text, &len));
    CHECK(len > 0 && !strncmp(text, "# Seq2SeqTrainer reference", len < 26 ? len : 26));
    CHECK(lmt_data_get_text(d, "txt", 0, &text, &len) == LMT_ERR_ARG && strstr(lmt_last_error(), "\"txt\""));
    CHECK(lmt_data_get_text(d, "text", lmt_data_num_rows(d), &text, &len) == LMT_ERR_ARG);
    CHECK(lmt_data_group_texts(d, 8, &x) == LMT_ERR_ARG && x == NULL);   /* not tokenized */
    lmt_collator *c = NULL;
    CHECK(lmt_collator_create_clm(d, &c) == LMT_ERR_ARG && c == NULL);
    lmt_data_free(d);
}

int main(void) {
    test_generate();
    test_translation_trainer();
    test_mlm_tuner();
    test_errors();
    if (!getenv("LMT_TEST_QUICK")) test_mlm_data();
    return lmt_test_finish();
}
