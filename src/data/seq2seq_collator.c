/* DataCollatorForSeq2Seq + shift_tokens_right; see seq2seq_collator.h. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "data/seq2seq_collator.h"

lmt_seq2seq_collator_opts lmt_seq2seq_collator_opts_default(void) {
    lmt_seq2seq_collator_opts o;
    memset(&o, 0, sizeof o);
    o.pad_id = -1;
    o.model_pad_id = -1;
    o.decoder_start_token_id = -1;
    o.label_pad_token_id = -100;
    return o;
}

static lmt_status ints_column(const lmt_dataset *ds, const char *name, bool required, const lmt_ds_column **out) {
    const lmt_ds_column *c = lmt_ds_col(ds, name);
    *out = NULL;
    if (!c) {
        if (required) return lmt_fail(LMT_ERR_ARG, "seq2seq collator: the dataset has no \"%s\" column", name);
        return LMT_OK;
    }
    if (c->type != LMT_DS_INTS)
        return lmt_fail(LMT_ERR_ARG, "seq2seq collator: column \"%s\" is %s, not a token column", name, lmt_ds_type_name(c->type));
    *out = c;
    return LMT_OK;
}

lmt_status lmt_seq2seq_collator_init(lmt_seq2seq_collator *c, const lmt_dataset *ds,
                                     const lmt_seq2seq_collator_opts *o) {
    memset(c, 0, sizeof *c);
    if (!ds || !o) return lmt_fail(LMT_ERR_ARG, "seq2seq collator: no dataset or options");
    /* the model check: shift_tokens_right raises without a pad id */
    if (o->pad_id < 0) return lmt_fail(LMT_ERR_ARG, "seq2seq collator: the tokenizer has no padding token");
    if (o->model_pad_id < 0) return lmt_fail(LMT_ERR_ARG, "seq2seq collator: the model config has no pad_token_id");
    if (o->decoder_start_token_id < 0)
        return lmt_fail(LMT_ERR_ARG, "seq2seq collator: the model config has no decoder_start_token_id");
    if (o->pad_to_multiple_of < 0)
        return lmt_fail(LMT_ERR_ARG, "seq2seq collator: pad_to_multiple_of must be positive (got %d)", o->pad_to_multiple_of);
    lmt_status s;
    if ((s = ints_column(ds, "input_ids", true, &c->input_ids)) != LMT_OK) return s;
    if ((s = ints_column(ds, "labels", true, &c->labels)) != LMT_OK) return s;
    if ((s = ints_column(ds, "attention_mask", false, &c->attention_mask)) != LMT_OK) return s;
    for (int64_t r = 0; c->attention_mask && r < ds->n_rows; r++)
        if (lmt_col_list_len(c->attention_mask, r) != lmt_col_list_len(c->input_ids, r))
            return lmt_fail(LMT_ERR_ARG, "seq2seq collator: row %lld has %zu attention_mask values but %zu input_ids",
                            (long long)r, lmt_col_list_len(c->attention_mask, r), lmt_col_list_len(c->input_ids, r));
    c->o = *o;
    c->ds = ds;
    return LMT_OK;
}

/* longest row of idx rounded up to the multiple; fails past INT_MAX */
static lmt_status padded_len(const lmt_ds_column *col, const int64_t *idx, int n, int mult, const char *what, int *out) {
    size_t m = 0;
    for (int i = 0; i < n; i++) {
        size_t l = lmt_col_list_len(col, idx[i]);
        if (l > m) m = l;
    }
    if (mult > 0 && m % (size_t)mult) m += (size_t)mult - m % (size_t)mult;
    if (m > INT_MAX / 2) return lmt_fail(LMT_ERR_ARG, "seq2seq collator: %s rows of %zu tokens are too long", what, m);
    *out = (int)m;
    return LMT_OK;
}

/* row r of src into dst[0..T), the rest `pad`, on the padding side */
static void put_row(int32_t *dst, int T, const int32_t *src, size_t len, int32_t pad, bool left) {
    size_t off = left ? (size_t)T - len : 0;
    for (int t = 0; t < T; t++) dst[t] = pad;
    if (len) memcpy(dst + off, src, len * sizeof *src);
}

lmt_status lmt_seq2seq_collate(void *collator, const int64_t *idx, int n, lmt_batch *out) {
    lmt_seq2seq_collator *c = collator;
    memset(out, 0, sizeof *out);
    if (!c || !c->ds) return lmt_fail(LMT_ERR_ARG, "seq2seq collator: not initialised");
    if (n <= 0 || !idx) return lmt_fail(LMT_ERR_ARG, "seq2seq collator: empty batch");
    for (int i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= c->ds->n_rows)
            return lmt_fail(LMT_ERR_ARG, "seq2seq collator: row %lld out of range (dataset has %lld rows)",
                            (long long)idx[i], (long long)c->ds->n_rows);
    int T = 0, Td = 0;
    lmt_status s;
    if ((s = padded_len(c->input_ids, idx, n, c->o.pad_to_multiple_of, "input", &T)) != LMT_OK) return s;
    if ((s = padded_len(c->labels, idx, n, c->o.pad_to_multiple_of, "label", &Td)) != LMT_OK) return s;
    size_t ne = (size_t)n * (size_t)(T > 0 ? T : 1), nd = (size_t)n * (size_t)(Td > 0 ? Td : 1);
    out->input_ids = malloc(ne * sizeof(int32_t));
    out->attention_mask = malloc(ne * sizeof(int32_t));
    out->labels = malloc(nd * sizeof(int32_t));
    out->decoder_input_ids = malloc(nd * sizeof(int32_t));
    if (!out->input_ids || !out->attention_mask || !out->labels || !out->decoder_input_ids) {
        lmt_batch_free(out);
        return lmt_fail(LMT_ERR_NOMEM, "seq2seq collator: out of memory for a %d x %d / %d batch", n, T, Td);
    }
    bool left = c->o.pad_left;
    for (int i = 0; i < n; i++) {
        size_t len;
        const int32_t *ids = lmt_col_ints(c->input_ids, idx[i], &len);
        put_row(out->input_ids + (size_t)i * T, T, ids, len, c->o.pad_id, left);
        int32_t *am = out->attention_mask + (size_t)i * T;
        if (c->attention_mask) {
            const int32_t *m = lmt_col_ints(c->attention_mask, idx[i], &len);
            put_row(am, T, m, len, 0, left);
        } else {
            size_t off = left ? (size_t)T - len : 0;
            for (int t = 0; t < T; t++) am[t] = (size_t)t >= off && (size_t)t < off + len;
        }
        const int32_t *lab = lmt_col_ints(c->labels, idx[i], &len);
        int32_t *l = out->labels + (size_t)i * Td;
        put_row(l, Td, lab, len, c->o.label_pad_token_id, left);
        /* shift_tokens_right: start token, then labels[:-1], -100 -> pad */
        int32_t *d = out->decoder_input_ids + (size_t)i * Td;
        if (Td > 0) d[0] = c->o.decoder_start_token_id;
        for (int t = 1; t < Td; t++) d[t] = l[t - 1] == -100 ? c->o.model_pad_id : l[t - 1];
    }
    out->B = n;
    out->T = T;
    out->T_dec = Td;
    return LMT_OK;
}

static int64_t seq2seq_length(void *ctx, int64_t i) {
    return (int64_t)lmt_col_list_len(((lmt_seq2seq_collator *)ctx)->input_ids, i);
}

lmt_train_data lmt_seq2seq_train_data(lmt_seq2seq_collator *c) {
    lmt_train_data d = {c->ds ? c->ds->n_rows : 0, c, lmt_seq2seq_collate, seq2seq_length};
    return d;
}
