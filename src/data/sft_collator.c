/* TRL's DataCollatorForLanguageModeling over a prepared SFT dataset; see
 * sft_data.h for how padding-free (packed) batches are laid out. */
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "data/sft_data.h"

/* the rows of example i: its sequences with per_sequence_rows, else one */
static bool split(const lmt_sft_collator *c) { return c->d->padding_free && c->per_sequence_rows; }
static int64_t n_seqs(const lmt_sft_collator *c, int64_t i) {
    return split(c) ? c->d->seq_off[i + 1] - c->d->seq_off[i] : 1;
}

/* padding-free, one row per packed example: position_ids restart at each sequence, its first label -100 */
static void packed_row(const lmt_sft_data *d, int64_t i, int32_t *pos, int32_t *lab) {
    int64_t t = 0;
    for (int64_t q = d->seq_off[i]; q < d->seq_off[i + 1]; q++) {
        lab[t] = -100;
        for (int64_t k = 0; k < d->seq_len[q]; k++) pos[t++] = (int32_t)k;
    }
}

static lmt_status collate(void *ctx, const int64_t *idx, int n, lmt_batch *out) {
    lmt_sft_collator *c = ctx;
    const lmt_sft_data *d = c->d;
    bool sp = split(c);
    memset(out, 0, sizeof *out);
    int64_t rows = 0, T = 0;
    for (int k = 0; k < n; k++) {
        if (idx[k] < 0 || idx[k] >= d->n) return lmt_fail(LMT_ERR_ARG, "example %lld out of range", (long long)idx[k]);
        rows += n_seqs(c, idx[k]);
        if (sp) {
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
    if (d->padding_free && !sp) out->position_ids = calloc(N, 4);   /* pads at position 0: a sequence of their own, masked */
    if (!out->input_ids || !out->labels || !out->attention_mask || (d->padding_free && !sp && !out->position_ids)) {
        lmt_batch_free(out);
        return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    }
    for (size_t t = 0; t < N; t++) { out->input_ids[t] = c->pad_id; out->labels[t] = -100; out->attention_mask[t] = 0; }
    int64_t r = 0;
    for (int k = 0; k < n; k++) {
        int64_t a = d->off[idx[k]];
        for (int64_t q = 0; q < n_seqs(c, idx[k]); q++, r++) {
            int64_t len = sp ? d->seq_len[d->seq_off[idx[k]] + q] : d->off[idx[k] + 1] - a;
            int32_t *ids = out->input_ids + (size_t)r * T, *lab = out->labels + (size_t)r * T, *m = out->attention_mask + (size_t)r * T;
            memcpy(ids, d->ids + a, (size_t)len * 4);
            memcpy(lab, d->labels + a, (size_t)len * 4);
            for (int64_t t = 0; t < len; t++) m[t] = 1;
            if (sp) lab[0] = -100;   /* labels[position_ids == 0] = -100 */
            else if (d->padding_free) packed_row(d, idx[k], out->position_ids + (size_t)r * T, lab);
            a += len;
        }
    }
    return LMT_OK;
}

void lmt_sft_collator_init(lmt_sft_collator *c, const lmt_sft_data *d, int32_t pad_id, bool per_sequence_rows) {
    memset(c, 0, sizeof *c);
    c->base.n = d->n;
    c->base.ctx = c;
    c->base.collate = collate;
    c->d = d;
    c->pad_id = pad_id;
    c->per_sequence_rows = per_sequence_rows;
}

static int cmp_desc(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

void lmt_sft_max_batch(const lmt_sft_collator *cl, int bs, int *rows, int *tokens) {
    const lmt_sft_data *d = cl->d;
    bool sp = split(cl);
    int64_t T = 1, R = bs;
    for (int64_t i = 0; i < d->n; i++) {
        if (sp) {
            for (int64_t q = d->seq_off[i]; q < d->seq_off[i + 1]; q++) T = d->seq_len[q] > T ? d->seq_len[q] : T;
        } else {
            T = d->off[i + 1] - d->off[i] > T ? d->off[i + 1] - d->off[i] : T;
        }
    }
    if (sp) {   /* the bs examples with the most sequences */
        int64_t *c = malloc((size_t)(d->n ? d->n : 1) * sizeof *c);
        R = 0;
        if (c) {
            for (int64_t i = 0; i < d->n; i++) c[i] = n_seqs(cl, i);
            qsort(c, (size_t)d->n, sizeof *c, cmp_desc);
            for (int64_t i = 0; i < d->n && i < bs; i++) R += c[i];
            free(c);
        } else R = (int64_t)bs * T;
    }
    *rows = (int)(R > 0 ? R : 1);
    *tokens = (int)T;
}
