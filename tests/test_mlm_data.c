/* The IMDb domain-adaptation data of SPEC §2c: tokenizing every review with
 * the BERT uncased WordPiece tokenizer (special tokens and word_ids kept) and
 * group_texts into 128-token chunks gives the SPEC's 61,289 train and 59,905
 * test chunks; train_test_split(train_size=10_000, test_size=1_000, seed=42)
 * then gives 10,000 / 1,000. (Skipped in the sanitizer run: LMT_TEST_QUICK.) */
#include <stdlib.h>
#include "harness.h"
#include "data/dataset.h"
#include "lmtune/tokenizer.h"
#include "train/clm_data.h"

static int64_t chunks_of(const lmt_tokenizer *tok, const char *path, lmt_dataset *out) {
    char **lines;
    size_t *lens, n;
    if (lmt_examples_load(path, "text", &lines, &lens, &n) != LMT_OK) { CHECK_MSG(0, "%s", lmt_last_error()); return -1; }
    lmt_encoding *enc = calloc(n, sizeof *enc);
    lmt_encode_opts o = lmt_encode_opts_default();
    CHECK_OK(lmt_tokenizer_encode_batch(tok, (const char *const *)lines, lens, NULL, NULL, n, &o, enc));
    lmt_dataset ds;
    lmt_ds_init(&ds);
    lmt_ds_column *ids = lmt_col_new("input_ids", LMT_DS_INTS), *wi = lmt_col_new("word_ids", LMT_DS_INTS);
    for (size_t i = 0; i < n; i++) {
        lmt_col_push_ints(ids, enc[i].ids, enc[i].n);
        lmt_col_push_ints(wi, enc[i].word_ids, enc[i].n);
        lmt_encoding_free(&enc[i]);
    }
    free(enc);
    lmt_text_lines_free(lines, lens, n);
    CHECK_OK(lmt_ds_add_column(&ds, ids));
    CHECK_OK(lmt_ds_add_column(&ds, wi));
    lmt_group_opts go = lmt_group_opts_default(128);
    CHECK_OK(lmt_ds_group_texts(&ds, &go, out));
    lmt_ds_free(&ds);
    return out->n_rows;
}

int main(void) {
    if (getenv("LMT_TEST_QUICK")) { printf("skipped under LMT_TEST_QUICK\n"); return lmt_test_finish(); }
    lmt_tokenizer *tok = NULL;
    CHECK_OK(lmt_tokenizer_load(LMT_SHARED_DATA "/tokenizers/bert-base-uncased", &tok));
    if (!tok) return lmt_test_finish();
    lmt_dataset train, test;
    CHECK(chunks_of(tok, LMT_SHARED_DATA "/imdb/train.jsonl", &train) == 61289);
    CHECK(chunks_of(tok, LMT_SHARED_DATA "/imdb/test.jsonl", &test) == 59905);
    lmt_dataset a, b;
    CHECK_OK(lmt_ds_train_test_split(&train, lmt_size_count(1000), lmt_size_count(10000), 42, &a, &b));
    CHECK(a.n_rows == 10000 && b.n_rows == 1000);
    lmt_ds_free(&a); lmt_ds_free(&b); lmt_ds_free(&train); lmt_ds_free(&test);
    lmt_tokenizer_free(tok);
    return lmt_test_finish();
}
