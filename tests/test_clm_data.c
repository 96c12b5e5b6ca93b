/* Causal-LM data preparation: WikiText read as HF's wikitext dataset (the
 * SPEC's examples 0 and 1), and lmt_group_texts equal to the datasets
 * module's group_texts (checked against HF datasets in test_data_group_texts)
 * on the real WikiText-2 validation token stream, for several map batch sizes. */
#include <stdlib.h>
#include "harness.h"
#include "data/dataset.h"
#include "train/clm_data.h"

int main(void) {
    const char *path = LMT_SHARED_DATA "/wikitext-2-raw-v1/wiki.valid.raw";
    char **lines;
    size_t *lens, n;
    CHECK_OK(lmt_examples_load(path, NULL, &lines, &lens, &n));
    if (!lines) return lmt_test_finish();
    CHECK(n == 3760);
    CHECK(lens[0] == 0);                               /* whitespace-only line -> "" */
    CHECK(lens[1] == strlen(" = Homarus gammarus = \n") && !memcmp(lines[1], " = Homarus gammarus = \n", lens[1]));
    lmt_tokenizer *tok;
    CHECK_OK(lmt_tokenizer_load(LMT_SHARED_DATA "/tokenizers/gpt2", &tok));
    lmt_encoding *enc = calloc(n, sizeof *enc);
    lmt_encode_opts o = lmt_encode_opts_default();
    CHECK_OK(lmt_tokenizer_encode_batch(tok, (const char *const *)lines, lens, NULL, NULL, n, &o, enc));
    lmt_dataset ds;
    lmt_ds_init(&ds);
    lmt_ds_column *ids = lmt_col_new("input_ids", LMT_DS_INTS);
    for (size_t i = 0; i < n; i++) lmt_col_push_ints(ids, enc[i].ids, enc[i].n);
    CHECK_OK(lmt_ds_add_column(&ds, ids));
    const int sizes[][2] = {{128, 1000}, {64, 7}, {1024, 1000}, {128, 1}};
    for (int k = 0; k < 4; k++) {
        lmt_clm_blocks b;
        CHECK_OK(lmt_group_texts(enc, n, sizes[k][0], sizes[k][1], &b));
        lmt_group_opts go = lmt_group_opts_default(sizes[k][0]);
        go.batch_size = sizes[k][1];
        lmt_dataset out;
        CHECK_OK(lmt_ds_group_texts(&ds, &go, &out));
        CHECK_MSG(out.n_rows == b.n_blocks, "block %d batch %d: %lld vs %lld blocks", sizes[k][0], sizes[k][1], (long long)b.n_blocks, (long long)out.n_rows);
        const lmt_ds_column *c = NULL;
        for (size_t j = 0; j < out.n_cols; j++) if (!strcmp(out.cols[j]->name, "input_ids")) c = out.cols[j];
        int bad = 0;
        for (int64_t r = 0; c && r < out.n_rows && r < b.n_blocks; r++) {
            size_t m;
            const int32_t *v = lmt_col_ints(c, r, &m);
            if (m != (size_t)sizes[k][0] || memcmp(v, b.ids + r * sizes[k][0], m * 4)) bad++;
        }
        CHECK_MSG(c && bad == 0, "block %d batch %d: %d blocks differ", sizes[k][0], sizes[k][1], bad);
        lmt_ds_free(&out);
        lmt_clm_blocks_free(&b);
    }
    lmt_ds_free(&ds);
    for (size_t i = 0; i < n; i++) lmt_encoding_free(&enc[i]);
    free(enc);
    lmt_text_lines_free(lines, lens, n);
    lmt_tokenizer_free(tok);
    return lmt_test_finish();
}
