/* Masking collators, checked statistically on real tokenizations: the first
 * 300 IMDb reviews through BERT's WordPiece and RoBERTa's BPE. Rates are
 * compared with their binomial expectation within 5 standard deviations
 * (a false alarm about once in 1.7 million runs per check; the seeds are
 * fixed anyway). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "harness.h"
#include "data/dataset.h"
#include "data/mlm_collator.h"
#include "lmtune/tokenizer.h"

#define N_REVIEWS 300
#define Z 5.0

/* |observed - n p| within Z binomial standard deviations */
#define CHECK_BINOM(k, n, p) do { double n_ = (double)(n), p_ = (p), sd_ = sqrt(n_ * p_ * (1 - p_)); \
    CHECK_MSG(fabs((double)(k) - n_ * p_) <= Z * sd_, "%s: %lld of %lld, expected %.1f +- %.1f (%.0f sd)", #k, \
              (long long)(k), (long long)(n), n_ * p_, sd_, Z); } while (0)

static lmt_dataset reviews;   /* column "text" */

static void load_reviews(void) {
    FILE *in = fopen(LMT_SHARED_DATA "/imdb/train.jsonl", "r");
    char tmpl[] = "/tmp/lmt_mlm_imdbXXXXXX";
    int fd = mkstemp(tmpl);
    FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
    CHECK(in && out);
    if (!in || !out) exit(1);
    char *line = NULL;
    size_t cap = 0;
    for (int i = 0; i < N_REVIEWS && getline(&line, &cap, in) > 0; i++) fputs(line, out);
    free(line);
    fclose(in);
    fclose(out);
    /* the loader wants a .jsonl name */
    char path[64];
    snprintf(path, sizeof path, "%s.jsonl", tmpl);
    rename(tmpl, path);
    CHECK_OK(lmt_ds_load_jsonl(path, &reviews));
    unlink(path);
    CHECK(reviews.n_rows == N_REVIEWS);
}

/* Tokenized reviews: input_ids, word_ids (and special_tokens_mask when asked),
 * truncated to max_len (0 = whole reviews). */
static void tokenize(const lmt_tokenizer *tok, int64_t max_len, bool with_stm, lmt_dataset *ds) {
    const lmt_ds_column *text = lmt_ds_col(&reviews, "text");
    size_t n = (size_t)reviews.n_rows;
    const char **texts = malloc(n * sizeof *texts);
    size_t *lens = malloc(n * sizeof *lens);
    lmt_encoding *enc = calloc(n, sizeof *enc);
    for (size_t i = 0; i < n; i++) texts[i] = lmt_col_str(text, (int64_t)i, &lens[i]);
    lmt_encode_opts o = lmt_encode_opts_default();
    if (max_len) { o.truncation = LMT_TRUNCATE_LONGEST_FIRST; o.max_length = max_len; }
    CHECK_OK(lmt_tokenizer_encode_batch(tok, texts, lens, NULL, NULL, n, &o, enc));
    lmt_ds_column *ci = lmt_col_new("input_ids", LMT_DS_INTS), *cw = lmt_col_new("word_ids", LMT_DS_INTS);
    lmt_ds_column *cs = with_stm ? lmt_col_new("special_tokens_mask", LMT_DS_INTS) : NULL;
    for (size_t i = 0; i < n; i++) {
        lmt_col_push_ints(ci, enc[i].ids, enc[i].n);
        lmt_col_push_ints(cw, enc[i].word_ids, enc[i].n);
        if (cs) lmt_col_push_ints(cs, enc[i].special_tokens_mask, enc[i].n);
        lmt_encoding_free(&enc[i]);
    }
    lmt_ds_init(ds);
    CHECK_OK(lmt_ds_add_column(ds, ci));
    CHECK_OK(lmt_ds_add_column(ds, cw));
    if (cs) CHECK_OK(lmt_ds_add_column(ds, cs));
    free(texts); free(lens); free(enc);
}

static bool is_special(lmt_special_ids sp, int32_t id) {
    return id == sp.bos || id == sp.eos || id == sp.unk || id == sp.sep || id == sp.cls || id == sp.pad || id == sp.mask;
}

static bool batches_equal(const lmt_batch *a, const lmt_batch *b) {
    size_t N = (size_t)a->B * (size_t)a->T;
    return a->B == b->B && a->T == b->T && !memcmp(a->input_ids, b->input_ids, N * 4) &&
           !memcmp(a->labels, b->labels, N * 4) && !memcmp(a->attention_mask, b->attention_mask, N * 4);
}

/* DataCollatorForLanguageModeling: rates, 80/10/10, specials and padding,
 * labels, shapes. */
static void test_token_masking(const lmt_tokenizer *tok, const char *name, int pad_multiple) {
    lmt_dataset ds;
    tokenize(tok, 200, false, &ds);
    lmt_special_ids sp = lmt_tokenizer_special_ids(tok);
    int64_t V = (int64_t)lmt_tokenizer_vocab_size(tok);
    lmt_mlm_opts o = lmt_mlm_opts_default();
    o.seed = 1234;
    o.pad_to_multiple_of = pad_multiple;
    lmt_mlm_collator c;
    CHECK_OK(lmt_mlm_collator_init(&c, &ds, tok, &o));
    const lmt_ds_column *ids = lmt_ds_col(&ds, "input_ids");
    int64_t eligible = 0, chosen = 0, to_mask = 0, kept = 0, randomised = 0, bad = 0, shape_bad = 0;
    double rsum = 0;
    const int B = 16;
    int64_t idx[16];
    for (int epoch = 0; epoch < 6; epoch++)
        for (int64_t r0 = 0; r0 + B <= ds.n_rows; r0 += B) {
            size_t maxlen = 0;
            for (int b = 0; b < B; b++) {
                idx[b] = (r0 + b * 7 + epoch) % ds.n_rows;   /* mixed lengths in each batch */
                if (lmt_col_list_len(ids, idx[b]) > maxlen) maxlen = lmt_col_list_len(ids, idx[b]);
            }
            lmt_batch bt;
            CHECK_OK(lmt_mlm_collate(&c, idx, B, &bt));
            size_t want_T = pad_multiple ? (maxlen + pad_multiple - 1) / pad_multiple * pad_multiple : maxlen;
            if (bt.B != B || (size_t)bt.T != want_T) shape_bad++;
            for (int b = 0; b < B; b++) {
                size_t len;
                const int32_t *orig = lmt_col_ints(ids, idx[b], &len);
                for (size_t t = 0; t < (size_t)bt.T; t++) {
                    size_t k = (size_t)b * bt.T + t;
                    int32_t in = bt.input_ids[k], lab = bt.labels[k];
                    if (t >= len) {   /* padding: never chosen */
                        bad += in != sp.pad || lab != -100 || bt.attention_mask[k] != 0;
                        continue;
                    }
                    bad += bt.attention_mask[k] != 1;
                    if (is_special(sp, orig[t])) {   /* never chosen */
                        bad += in != orig[t] || lab != -100;
                        continue;
                    }
                    eligible++;
                    if (lab == -100) { bad += in != orig[t]; continue; }
                    bad += lab != orig[t];   /* labels: the original id, only where chosen */
                    chosen++;
                    if (in == sp.mask) to_mask++;
                    else if (in == orig[t]) kept++;
                    else { randomised++; rsum += in; bad += in < 0 || in >= V; }
                }
            }
            lmt_batch_free(&bt);
        }
    fprintf(stderr, "%s: %lld eligible tokens, %lld chosen (%.4f): mask %.4f, random %.4f, kept %.4f\n", name,
            (long long)eligible, (long long)chosen, (double)chosen / eligible, (double)to_mask / chosen,
            (double)randomised / chosen, (double)kept / chosen);
    CHECK_MSG(bad == 0, "%s: %lld positions break the masking rules", name, (long long)bad);
    CHECK_MSG(shape_bad == 0, "%s: %lld batches with the wrong shape", name, (long long)shape_bad);
    CHECK(eligible > 100000);
    CHECK_BINOM(chosen, eligible, 0.15);
    /* a random replacement may draw the mask id or the original id itself */
    double pv = 1.0 / (double)V;
    CHECK_BINOM(to_mask, chosen, 0.8 + 0.1 * pv);
    CHECK_BINOM(kept, chosen, 0.1 + 0.1 * pv);
    CHECK_BINOM(randomised, chosen, 0.1 * (1 - 2 * pv));
    /* uniform over [0, V): the mean within 5 standard errors */
    double mean = rsum / (double)randomised, se = (double)V / sqrt(12.0 * (double)randomised);
    CHECK_MSG(fabs(mean - (V - 1) / 2.0) <= Z * se, "%s: random ids average %.1f, expected %.1f +- %.1f", name, mean,
              (V - 1) / 2.0, se);

    /* fresh masks every batch; the same seed replays the same batches */
    lmt_batch a, b2, x;
    int64_t first[4] = {0, 1, 2, 3};
    lmt_mlm_collator c1, c2, c3;
    CHECK_OK(lmt_mlm_collator_init(&c1, &ds, tok, &o));
    CHECK_OK(lmt_mlm_collator_init(&c2, &ds, tok, &o));
    CHECK_OK(lmt_mlm_collate(&c1, first, 4, &a));
    CHECK_OK(lmt_mlm_collate(&c2, first, 4, &b2));
    CHECK(batches_equal(&a, &b2));
    lmt_batch_free(&b2);
    CHECK_OK(lmt_mlm_collate(&c1, first, 4, &b2));
    CHECK(!batches_equal(&a, &b2));
    o.seed = 99;
    CHECK_OK(lmt_mlm_collator_init(&c3, &ds, tok, &o));
    CHECK_OK(lmt_mlm_collate(&c3, first, 4, &x));
    CHECK(!batches_equal(&a, &x));
    lmt_batch_free(&a); lmt_batch_free(&b2); lmt_batch_free(&x);

    /* the Trainer's view */
    lmt_train_data td = lmt_mlm_train_data(&c);
    CHECK(td.n == ds.n_rows && td.ctx == &c && td.collate == lmt_mlm_collate);
    lmt_ds_free(&ds);
}

/* A special_tokens_mask column overrides the id test: what it flags is never chosen. */
static void test_special_tokens_mask_column(const lmt_tokenizer *tok) {
    lmt_dataset ds;
    tokenize(tok, 64, true, &ds);
    lmt_ds_column *stm = lmt_ds_col(&ds, "special_tokens_mask");
    for (int64_t e = 0; e < stm->n_elems; e++) if (e % 3 == 0) stm->i32[e] = 1;   /* every third token "special" */
    lmt_mlm_opts o = lmt_mlm_opts_default();
    o.mlm_probability = 0.9;
    lmt_mlm_collator c;
    CHECK_OK(lmt_mlm_collator_init(&c, &ds, tok, &o));
    int64_t idx[32], bad = 0, chosen = 0;
    for (int i = 0; i < 32; i++) idx[i] = i;
    lmt_batch bt;
    CHECK_OK(lmt_mlm_collate(&c, idx, 32, &bt));
    for (int b = 0; b < 32; b++) {
        size_t len;
        const int32_t *m = lmt_col_ints(stm, b, &len);
        for (size_t t = 0; t < len; t++) {
            int32_t lab = bt.labels[(size_t)b * bt.T + t];
            if (m[t]) bad += lab != -100;
            else chosen += lab != -100;
        }
    }
    CHECK(bad == 0);
    CHECK(chosen > 0);
    lmt_batch_free(&bt);
    lmt_ds_free(&ds);
}

/* Whole-word masking after group_texts (chunks of 128, word_ids kept). */
static void test_whole_word(const lmt_tokenizer *tok, const char *name, lmt_dataset *chunks_out) {
    lmt_dataset ds, chunks;
    tokenize(tok, 0, false, &ds);
    lmt_group_opts g = lmt_group_opts_default(128);
    CHECK_OK(lmt_ds_group_texts(&ds, &g, &chunks));
    lmt_ds_free(&ds);
    lmt_special_ids sp = lmt_tokenizer_special_ids(tok);
    lmt_mlm_opts o = lmt_mlm_opts_default();
    o.mode = LMT_MLM_WHOLE_WORD;
    o.seed = 7;
    lmt_mlm_collator c;
    CHECK_OK(lmt_mlm_collator_init(&c, &chunks, tok, &o));
    const lmt_ds_column *ids = lmt_ds_col(&chunks, "input_ids"), *wids = lmt_ds_col(&chunks, "word_ids");
    int64_t words = 0, masked_words = 0, multi = 0, masked_multi = 0, partial = 0, bad = 0;
    int64_t idx[64];
    for (int rep = 0; rep < 4; rep++)
        for (int64_t r0 = 0; r0 < chunks.n_rows; r0 += 64) {
            int n = chunks.n_rows - r0 < 64 ? (int)(chunks.n_rows - r0) : 64;
            for (int b = 0; b < n; b++) idx[b] = r0 + b;
            lmt_batch bt;
            CHECK_OK(lmt_mlm_collate(&c, idx, n, &bt));
            CHECK(bt.T == 128);
            for (int b = 0; b < n; b++) {
                size_t len;
                const int32_t *orig = lmt_col_ints(ids, idx[b], &len), *w = lmt_col_ints(wids, idx[b], &len);
                const int32_t *in = bt.input_ids + (size_t)b * bt.T, *lab = bt.labels + (size_t)b * bt.T;
                size_t t = 0;
                while (t < len) {
                    if (w[t] < 0) {   /* special tokens have no word: never masked */
                        bad += in[t] != orig[t] || lab[t] != -100 || !is_special(sp, orig[t]);
                        t++;
                        continue;
                    }
                    size_t e = t + 1;
                    while (e < len && w[e] == w[t]) e++;
                    size_t m = 0;
                    for (size_t k = t; k < e; k++) {
                        if (lab[k] != -100) {
                            m++;
                            bad += lab[k] != orig[k] || in[k] != sp.mask;
                        } else bad += in[k] != orig[k];
                    }
                    words++;
                    if (m == e - t) masked_words++;
                    else if (m) partial++;
                    if (e - t > 1) { multi++; masked_multi += m == e - t; }
                    t = e;
                }
            }
            lmt_batch_free(&bt);
        }
    fprintf(stderr, "%s: %lld chunks, %lld words (%lld of several tokens), %.4f masked (%.4f of multi-token words)\n",
            name, (long long)chunks.n_rows, (long long)words, (long long)multi, (double)masked_words / words,
            (double)masked_multi / multi);
    CHECK_MSG(bad == 0, "%s: %lld tokens break the whole-word rules", name, (long long)bad);
    CHECK_MSG(partial == 0, "%s: %lld words partly masked", name, (long long)partial);
    CHECK(multi > 1000);
    CHECK_BINOM(masked_words, words, 0.2);
    CHECK_BINOM(masked_multi, multi, 0.2);
    *chunks_out = chunks;
}

/* The evaluation mode: the same seed gives the same masked set (so the same
 * perplexity); the pre-masked collator only pads. */
static void test_eval_mode(const lmt_tokenizer *tok, lmt_dataset *chunks) {
    lmt_mlm_opts o = lmt_mlm_opts_default();
    o.mode = LMT_MLM_WHOLE_WORD;
    o.seed = 42;
    lmt_dataset e1, e2, e3;
    CHECK_OK(lmt_mlm_mask_dataset(chunks, tok, &o, &e1));
    CHECK_OK(lmt_mlm_mask_dataset(chunks, tok, &o, &e2));
    o.seed = 43;
    CHECK_OK(lmt_mlm_mask_dataset(chunks, tok, &o, &e3));
    const lmt_ds_column *i1 = lmt_ds_col(&e1, "input_ids"), *l1 = lmt_ds_col(&e1, "labels");
    const lmt_ds_column *i2 = lmt_ds_col(&e2, "input_ids"), *l2 = lmt_ds_col(&e2, "labels");
    const lmt_ds_column *l3 = lmt_ds_col(&e3, "labels");
    CHECK(i1 && l1 && i2 && l2 && l3 && e1.n_rows == chunks->n_rows);
    if (!i1 || !l1 || !i2 || !l2 || !l3) return;
    size_t N = (size_t)i1->n_elems * 4;
    CHECK(i1->n_elems == i2->n_elems && !memcmp(i1->i32, i2->i32, N) && !memcmp(l1->i32, l2->i32, N));
    CHECK(memcmp(l1->i32, l3->i32, N) != 0);
    int64_t masked = 0;
    for (int64_t e = 0; e < l1->n_elems; e++) masked += l1->i32[e] != -100;
    CHECK(masked > 0);

    /* collating the fixed set twice, in batches, gives identical batches */
    lmt_mlm_opts p = lmt_mlm_opts_default();
    p.mode = LMT_MLM_PREMASKED;
    lmt_mlm_collator c1, c2;
    CHECK_OK(lmt_mlm_collator_init(&c1, &e1, tok, &p));
    CHECK_OK(lmt_mlm_collator_init(&c2, &e1, tok, &p));
    int64_t idx[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    lmt_batch a, b;
    CHECK_OK(lmt_mlm_collate(&c1, idx, 8, &a));
    CHECK_OK(lmt_mlm_collate(&c2, idx, 8, &b));
    CHECK(batches_equal(&a, &b));
    CHECK(!memcmp(a.labels, l1->i32, (size_t)8 * 128 * 4) && !memcmp(a.input_ids, i1->i32, (size_t)8 * 128 * 4));
    lmt_batch_free(&a); lmt_batch_free(&b);
    /* token mode works too */
    o.mode = LMT_MLM_TOKENS;
    lmt_dataset e4;
    CHECK_OK(lmt_mlm_mask_dataset(chunks, tok, &o, &e4));
    CHECK(lmt_ds_col(&e4, "labels") != NULL);
    lmt_ds_free(&e1); lmt_ds_free(&e2); lmt_ds_free(&e3); lmt_ds_free(&e4);
}

static void test_bad_input(const lmt_tokenizer *bert, const lmt_tokenizer *gpt2, lmt_dataset *chunks) {
    lmt_mlm_collator c;
    lmt_mlm_opts o = lmt_mlm_opts_default();
    double bad_p[] = {0.0, 1.0, -0.1, 1.5, NAN};
    for (int i = 0; i < 5; i++) {
        o.mlm_probability = bad_p[i];
        CHECK(lmt_mlm_collator_init(&c, chunks, bert, &o) == LMT_ERR_ARG);
    }
    CHECK(strstr(lmt_last_error(), "mlm_probability") != NULL);
    o = lmt_mlm_opts_default();
    o.mask_replace_prob = 0.95;
    CHECK(lmt_mlm_collator_init(&c, chunks, bert, &o) == LMT_ERR_ARG);
    o = lmt_mlm_opts_default();
    o.mode = LMT_MLM_WHOLE_WORD;
    o.wwm_probability = 0;
    CHECK(lmt_mlm_collator_init(&c, chunks, bert, &o) == LMT_ERR_ARG);
    o = lmt_mlm_opts_default();
    if (gpt2) {
        CHECK(lmt_mlm_collator_init(&c, chunks, gpt2, &o) == LMT_ERR_ARG);
        CHECK(strstr(lmt_last_error(), "mask token") != NULL);
    }
    /* whole words need word_ids; the pre-masked mode needs labels */
    lmt_dataset only_ids;
    lmt_ds_init(&only_ids);
    lmt_ds_column *ci = lmt_col_new("input_ids", LMT_DS_INTS);
    int32_t r0[] = {101, 2000, 102}, r1[] = {101, 102};
    lmt_col_push_ints(ci, r0, 3);
    lmt_col_push_ints(ci, r1, 2);
    CHECK_OK(lmt_ds_add_column(&only_ids, ci));
    o.mode = LMT_MLM_WHOLE_WORD;
    CHECK(lmt_mlm_collator_init(&c, &only_ids, bert, &o) == LMT_ERR_ARG);
    CHECK(strstr(lmt_last_error(), "word_ids") != NULL);
    o.mode = LMT_MLM_PREMASKED;
    CHECK(lmt_mlm_collator_init(&c, &only_ids, bert, &o) == LMT_ERR_ARG);
    o.mode = LMT_MLM_TOKENS;
    CHECK_OK(lmt_mlm_collator_init(&c, &only_ids, bert, &o));
    int64_t idx[2] = {0, 5};
    lmt_batch bt;
    CHECK(lmt_mlm_collate(&c, idx, 2, &bt) == LMT_ERR_ARG && bt.input_ids == NULL);
    CHECK(lmt_mlm_collate(&c, idx, 0, &bt) == LMT_ERR_ARG);
    idx[1] = 1;
    CHECK_OK(lmt_mlm_collate(&c, idx, 2, &bt));   /* padded to 3, pad_to_multiple_of 8 -> 8 below */
    CHECK(bt.T == 3 && bt.attention_mask[3 + 2] == 0 && bt.input_ids[3 + 2] == 0 && bt.labels[3 + 2] == -100);
    lmt_batch_free(&bt);
    o.pad_to_multiple_of = 8;
    CHECK_OK(lmt_mlm_collator_init(&c, &only_ids, bert, &o));
    CHECK_OK(lmt_mlm_collate(&c, idx, 1, &bt));
    CHECK(bt.T == 8 && bt.attention_mask[2] == 1 && bt.attention_mask[3] == 0);
    lmt_batch_free(&bt);
    /* a mismatched word_ids column */
    lmt_ds_column *cw = lmt_col_new("word_ids", LMT_DS_INTS);
    lmt_col_push_ints(cw, r0, 3);
    lmt_col_push_ints(cw, r0, 3);
    CHECK_OK(lmt_ds_add_column(&only_ids, cw));
    o.mode = LMT_MLM_WHOLE_WORD;
    CHECK(lmt_mlm_collator_init(&c, &only_ids, bert, &o) == LMT_ERR_ARG);
    lmt_ds_free(&only_ids);
}

int main(void) {
    load_reviews();
    lmt_tokenizer *bert = NULL, *roberta = NULL, *gpt2 = NULL;
    CHECK_OK(lmt_tokenizer_load(LMT_SHARED_DATA "/tokenizers/bert-base-uncased", &bert));
    CHECK_OK(lmt_tokenizer_load(LMT_SHARED_DATA "/tokenizers/roberta-base", &roberta));
    if (lmt_tokenizer_load(LMT_SHARED_DATA "/tokenizers/gpt2", &gpt2) != LMT_OK) gpt2 = NULL;
    if (!bert || !roberta) return lmt_test_finish();
    test_token_masking(bert, "bert tokens", 0);
    test_token_masking(roberta, "roberta tokens, pad_to_multiple_of 8", 8);
    test_special_tokens_mask_column(bert);
    lmt_dataset bert_chunks, roberta_chunks;
    test_whole_word(bert, "bert whole words", &bert_chunks);
    test_whole_word(roberta, "roberta whole words", &roberta_chunks);
    test_eval_mode(bert, &bert_chunks);
    test_eval_mode(roberta, &roberta_chunks);
    test_bad_input(bert, gpt2, &bert_chunks);
    lmt_ds_free(&bert_chunks);
    lmt_ds_free(&roberta_chunks);
    lmt_ds_free(&reviews);
    lmt_tokenizer_free(bert);
    lmt_tokenizer_free(roberta);
    lmt_tokenizer_free(gpt2);
    return lmt_test_finish();
}
