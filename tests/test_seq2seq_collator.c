/* DataCollatorForSeq2Seq (src/data/seq2seq_collator.c) and the translation
 * data preparation (src/data/translation_data.c) against references from
 * transformers' DataCollatorForSeq2Seq + MarianMTModel, MarianTokenizer and
 * datasets' train_test_split: tests/fixtures/seq2seq/collator.json from
 * tools/reference/make_seq2seq_collator_fixtures.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/json.h"
#include "data/seq2seq_collator.h"
#include "data/translation_data.h"
#include "harness.h"
#include "lmtune/tokenizer.h"

#define TOKDIR LMT_SHARED_DATA "/tokenizers/opus-mt-tc-big-en-pt"
#define KDE LMT_SHARED_DATA "/kde-en-fr/kde.jsonl"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* a (B, T) array of the batch against a list of lists */
static int same_matrix(const lmt_json *rows, const int32_t *a, int B, int T) {
    if (!rows || (int)rows->len != B) return 0;
    for (int i = 0; i < B; i++) {
        const lmt_json *r = &rows->items[i];
        if ((int)r->len != T) return 0;
        for (int t = 0; t < T; t++)
            if (r->items[t].i64 != a[(size_t)i * T + t]) return 0;
    }
    return 1;
}

static int same_list(const lmt_json *l, const int32_t *a, size_t n) {
    if (!l || l->len != n) return 0;
    for (size_t k = 0; k < n; k++)
        if (l->items[k].i64 != a[k]) return 0;
    return 1;
}

static void test_collator(const lmt_json *fx, const lmt_dataset *kde, const lmt_tokenizer *tok) {
    const lmt_json *rows = lmt_json_get(fx, "rows");
    int64_t idx[64];
    CHECK(rows && rows->len <= 64);
    for (size_t k = 0; k < rows->len; k++) idx[k] = rows->items[k].i64;
    lmt_dataset sel, toks;
    CHECK_OK(lmt_ds_select(kde, idx, (int64_t)rows->len, &sel));
    CHECK_OK(lmt_translation_tokenize(&sel, tok, "translation.en", "translation.fr", 128, 128, &toks));
    lmt_special_ids sp = lmt_tokenizer_special_ids(tok);
    CHECK(sp.pad == lmt_json_get(fx, "pad")->i64);
    const lmt_json *colls = lmt_json_get(fx, "collations");
    for (size_t c = 0; c < colls->len; c++) {
        const lmt_json *cj = &colls->items[c];
        lmt_seq2seq_collator_opts o = lmt_seq2seq_collator_opts_default();
        o.pad_id = sp.pad;
        o.model_pad_id = (int32_t)lmt_json_get(fx, "pad")->i64;
        o.decoder_start_token_id = (int32_t)lmt_json_get(fx, "decoder_start")->i64;
        o.pad_to_multiple_of = (int)lmt_json_get(cj, "pad_to_multiple_of")->i64;
        lmt_seq2seq_collator col;
        CHECK_OK(lmt_seq2seq_collator_init(&col, &toks, &o));
        lmt_train_data td = lmt_seq2seq_train_data(&col);
        CHECK(td.n == (int64_t)rows->len);
        const lmt_json *batches = lmt_json_get(cj, "batches");
        for (size_t b = 0; b < batches->len; b++) {
            const lmt_json *bj = &batches->items[b];
            int64_t bi[4];
            for (int i = 0; i < 4; i++) bi[i] = (int64_t)(4 * b) + i;
            lmt_batch batch;
            CHECK_OK(td.collate(td.ctx, bi, 4, &batch));
            const lmt_json *li = lmt_json_get(bj, "labels");
            int T = (int)lmt_json_get(bj, "input_ids")->items[0].len, Td = (int)li->items[0].len;
            CHECK(batch.B == 4 && batch.T == T && batch.T_dec == Td);
            if (batch.T == T && batch.T_dec == Td) {
                char what[96];
                snprintf(what, sizeof what, "multiple %d batch %zu", o.pad_to_multiple_of, b);
                if (!same_matrix(lmt_json_get(bj, "input_ids"), batch.input_ids, 4, T)) { fprintf(stderr, "mismatch: %s\n", what); CHECK(0); }
                if (!same_matrix(lmt_json_get(bj, "attention_mask"), batch.attention_mask, 4, T)) { fprintf(stderr, "mismatch: %s\n", what); CHECK(0); }
                if (!same_matrix(li, batch.labels, 4, Td)) { fprintf(stderr, "mismatch: %s\n", what); CHECK(0); }
                if (!same_matrix(lmt_json_get(bj, "decoder_input_ids"), batch.decoder_input_ids, 4, Td)) { fprintf(stderr, "mismatch: %s\n", what); CHECK(0); }
            }
            lmt_batch_free(&batch);
        }
    }
    /* bad input */
    lmt_seq2seq_collator col;
    lmt_seq2seq_collator_opts o = lmt_seq2seq_collator_opts_default();
    CHECK(lmt_seq2seq_collator_init(&col, &toks, &o) == LMT_ERR_ARG);   /* no pad / start ids */
    o.pad_id = o.model_pad_id = o.decoder_start_token_id = sp.pad;
    CHECK(lmt_seq2seq_collator_init(&col, &sel, &o) == LMT_ERR_ARG);   /* no input_ids */
    CHECK_OK(lmt_seq2seq_collator_init(&col, &toks, &o));
    lmt_batch batch;
    int64_t bad[2] = {0, 999};
    CHECK(lmt_seq2seq_collate(&col, bad, 2, &batch) == LMT_ERR_ARG);
    CHECK(lmt_seq2seq_collate(&col, bad, 0, &batch) == LMT_ERR_ARG);
    lmt_ds_free(&toks);
    lmt_ds_free(&sel);
}

static void test_prepare(const lmt_json *fx, const lmt_tokenizer *tok) {
    const lmt_json *sp = lmt_json_get(fx, "split");
    lmt_translation_data_opts o = lmt_translation_data_opts_default(KDE);
    o.max_source_length = 16;
    o.max_target_length = 12;
    lmt_dataset tr, va;
    double t0 = now();
    CHECK_OK(lmt_translation_data_prepare(&o, tok, &tr, &va));
    printf("KDE (56,971 pairs) loaded, split and tokenized in %.2f s\n", now() - t0);
    CHECK(tr.n_rows == lmt_json_get(sp, "train")->i64 && va.n_rows == lmt_json_get(sp, "validation")->i64);
    CHECK(tr.n_cols == 3 && lmt_ds_col(&tr, "input_ids") && lmt_ds_col(&tr, "attention_mask") && lmt_ds_col(&tr, "labels"));
    const char *names[2] = {"train", "validation"};
    const lmt_dataset *parts[2] = {&tr, &va};
    for (int p = 0; p < 2; p++) {
        const lmt_json *rows = lmt_json_get(lmt_json_get(sp, "rows"), names[p]);
        for (size_t k = 0; rows && k < rows->len; k++) {
            const lmt_json *r = &rows->items[k];
            int64_t at = lmt_json_get(r, "k")->i64;
            size_t n;
            const int32_t *ids = lmt_col_ints(lmt_ds_col(parts[p], "input_ids"), at, &n);
            if (!same_list(lmt_json_get(r, "input_ids"), ids, n)) CHECK(!"split row input_ids");
            ids = lmt_col_ints(lmt_ds_col(parts[p], "labels"), at, &n);
            if (!same_list(lmt_json_get(r, "labels"), ids, n)) CHECK(!"split row labels");
        }
    }
    lmt_ds_free(&tr);
    lmt_ds_free(&va);
    /* bad input: a language the file lacks, a missing side, an empty source */
    o.target_lang = "de";
    CHECK(lmt_translation_data_prepare(&o, tok, &tr, &va) == LMT_ERR_FORMAT);
    lmt_dataset ds;
    lmt_ds_init(&ds);
    lmt_ds_column *a = lmt_col_new("translation.en", LMT_DS_STR), *b = lmt_col_new("translation.fr", LMT_DS_STR);
    lmt_col_push_str(a, "Hello", 5); lmt_col_push_str(b, "Salut", 5);
    lmt_col_push_str(a, "", 0);      lmt_col_push_str(b, "Vide", 4);
    CHECK_OK(lmt_ds_add_column(&ds, a));
    CHECK_OK(lmt_ds_add_column(&ds, b));
    CHECK(lmt_translation_tokenize(&ds, tok, "translation.en", "translation.fr", 128, 128, &tr) == LMT_ERR_FORMAT);
    CHECK(strstr(lmt_last_error(), "row 1") != NULL);
    lmt_ds_free(&ds);
    lmt_ds_init(&ds);
    a = lmt_col_new("translation.en", LMT_DS_STR); b = lmt_col_new("translation.fr", LMT_DS_STR);
    lmt_col_push_str(a, "Hello", 5); lmt_col_push_null(b);
    CHECK_OK(lmt_ds_add_column(&ds, a));
    CHECK_OK(lmt_ds_add_column(&ds, b));
    CHECK(lmt_translation_tokenize(&ds, tok, "translation.en", "translation.fr", 128, 128, &tr) == LMT_ERR_FORMAT);
    lmt_ds_free(&ds);
}

int main(void) {
    lmt_json *fx = NULL;
    if (lmt_json_parse_file(LMT_SOURCE_DIR "/tests/fixtures/seq2seq/collator.json", &fx) != LMT_OK) {
        fprintf(stderr, "fixture: %s\n", lmt_last_error());
        return 1;
    }
    lmt_tokenizer *tok = NULL;
    CHECK_OK(lmt_tokenizer_load(TOKDIR, &tok));
    lmt_dataset kde;
    CHECK_OK(lmt_ds_load_jsonl(KDE, &kde));
    if (tok && kde.n_rows == 56971) {
        test_collator(fx, &kde, tok);
        test_prepare(fx, tok);
    }
    lmt_ds_free(&kde);
    lmt_tokenizer_free(tok);
    lmt_json_free(fx);
    return lmt_test_finish();
}
