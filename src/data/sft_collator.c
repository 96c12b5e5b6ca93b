/* TRL's DataCollatorForLanguageModeling over a prepared SFT dataset; see
 * sft_data.h for how padding-free (packed) batches are laid out. */
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "data/sft_data.h"

/* the sequences of example i: one (the example) unless padding-free */
static int64_t n_seqs(const lmt_sft_data *d, int64_t i) { return d->padding_free ? d->seq_off[i + 1] - d->seq_off[i] : 1; }

static lmt_status collate(void *ctx, const int64_t *idx, int n, lmt_batch *out) {
    lmt_sft_collator *c = ctx;
    const lmt_sft_data *d = c->d;
    memset(out, 0, sizeof *out);
    int64_t rows = 0, T = 0;
    for (int k = 0; k < n; k++) {
        if (idx[k] < 0 || idx[k] >= d->n) return lmt_fail(LMT_ERR_ARG, "example %lld out of range", (long long)idx[k]);
        rows += n_seqs(d, idx[k]);
        if (d->padding_free) {
            for (int64_t q = d->seq_off[idx[k]]; q < d->seq_off[idx[k] + 1]; q++) T = d->seq_len[q] > T ? d->seq_len[q] : T;
        } else {
            int64_t len = d->off[idx[k] + 1] - d->off[idx[k]];
            T = len > T ? len : T;
        }
    }
    if (T == 0) T = 1;
    size_t N = (size_t)rows * (size_t)T;
    out->B = (int)rows;
    out->T = (int)T;
    out->input_ids = malloc(N * 4);
    out->labels = malloc(N * 4);
    out->attention_mask = malloc(N * 4);
    if (!out->input_ids || !out->labels || !out->attention_mask) { lmt_batch_free(out); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    for (size_t t = 0; t < N; t++) { out->input_ids[t] = c->pad_id; out->labels[t] = -100; out->attention_mask[t] = 0; }
    int64_t r = 0;
    for (int k = 0; k < n; k++) {
        int64_t a = d->off[idx[k]];
        for (int64_t q = 0; q < n_seqs(d, idx[k]); q++, r++) {
            int64_t len = d->padding_free ? d->seq_len[d->seq_off[idx[k]] + q] : d->off[idx[k] + 1] - a;
            int32_t *ids = out->input_ids + (size_t)r * T, *lab = out->labels + (size_t)r * T, *m = out->attention_mask + (size_t)r * T;
            memcpy(ids, d->ids + a, (size_t)len * 4);
            memcpy(lab, d->labels + a, (size_t)len * 4);
            for (int64_t t = 0; t < len; t++) m[t] = 1;
            if (d->padding_free) lab[0] = -100;   /* labels[position_ids == 0] = -100 */
            a += len;
        }
    }
    return LMT_OK;
}

void lmt_sft_collator_init(lmt_sft_collator *c, const lmt_sft_data *d, int32_t pad_id) {
    memset(c, 0, sizeof *c);
    c->base.n = d->n;
    c->base.ctx = c;
    c->base.collate = collate;
    c->d = d;
    c->pad_id = pad_id;
}

static int cmp_desc(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

void lmt_sft_max_batch(const lmt_sft_data *d, int bs, int *rows, int *tokens) {
    int64_t T = 1, R = bs;
    for (int64_t i = 0; i < d->n; i++) {
        if (d->padding_free) {
            for (int64_t q = d->seq_off[i]; q < d->seq_off[i + 1]; q++) T = d->seq_len[q] > T ? d->seq_len[q] : T;
        } else {
            T = d->off[i + 1] - d->off[i] > T ? d->off[i + 1] - d->off[i] : T;
        }
    }
    if (d->padding_free) {   /* the bs examples with the most sequences */
        int64_t *c = malloc((size_t)(d->n ? d->n : 1) * sizeof *c);
        R = 0;
        if (c) {
            for (int64_t i = 0; i < d->n; i++) c[i] = n_seqs(d, i);
            qsort(c, (size_t)d->n, sizeof *c, cmp_desc);
            for (int64_t i = 0; i < d->n && i < bs; i++) R += c[i];
            free(c);
        } else R = (int64_t)bs * T;
    }
    *rows = (int)(R > 0 ? R : 1);
    *tokens = (int)T;
}
