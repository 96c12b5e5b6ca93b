/* group_texts as run_clm.py and the course notebooks map it with
 * batched=True: within each batch of batch_size rows, every token column is
 * concatenated and cut into block_size chunks; the remainder of each batch
 * is dropped (keep_short: unless the whole batch is shorter than one block,
 * then it becomes one short chunk). labels = a copy of input_ids. */
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "data/dataset.h"

/* Tokens kept from a batch of `total` tokens. */
static int64_t kept(int64_t total, const lmt_group_opts *o) {
    if (o->keep_short && total < o->block_size) return total;
    return total / o->block_size * o->block_size;
}

lmt_status lmt_ds_group_texts(const lmt_dataset *in, const lmt_group_opts *o, lmt_dataset *out) {
    lmt_ds_init(out);
    if (o->block_size < 1) return lmt_fail(LMT_ERR_ARG, "group_texts: block_size must be at least 1 (got %lld)", (long long)o->block_size);
    if (o->batch_size < 1) return lmt_fail(LMT_ERR_ARG, "group_texts: the map batch size must be at least 1 (got %lld)", (long long)o->batch_size);
    const lmt_ds_column *ids = lmt_ds_col(in, "input_ids");
    if (!ids || ids->type != LMT_DS_INTS) return lmt_fail(LMT_ERR_ARG, "group_texts: the dataset has no input_ids token column");
    for (size_t j = 0; j < in->n_cols; j++) {
        const lmt_ds_column *c = in->cols[j];
        if (c->type != LMT_DS_INTS)
            return lmt_fail(LMT_ERR_ARG, "group_texts: column \"%s\" (%s) is not a token column; remove it first "
                            "(remove_columns), as datasets' map would fail on it", c->name, lmt_ds_type_name(c->type));
        for (int64_t r = 0; r < in->n_rows; r++)
            if (lmt_col_list_len(c, r) != lmt_col_list_len(ids, r))
                return lmt_fail(LMT_ERR_ARG, "group_texts: row %lld has %zu %s but %zu input_ids", (long long)r,
                                lmt_col_list_len(c, r), c->name, lmt_col_list_len(ids, r));
    }
    /* output columns: the token columns in order, labels replaced by / appended as a copy of input_ids */
    bool has_labels = lmt_ds_col(in, "labels") != NULL;
    size_t n_out = in->n_cols + (has_labels ? 0 : 1);
    for (size_t j = 0; j < n_out; j++) {
        const lmt_ds_column *src = j < in->n_cols ? in->cols[j] : ids;
        if (!strcmp(src->name, "labels")) src = ids;
        lmt_ds_column *d = lmt_col_new(j < in->n_cols ? in->cols[j]->name : "labels", LMT_DS_INTS);
        for (int64_t b0 = 0; d && b0 < in->n_rows && !d->oom; b0 += o->batch_size) {
            int64_t b1 = in->n_rows - b0 > o->batch_size ? b0 + o->batch_size : in->n_rows;
            int64_t total = ids->off[b1] - ids->off[b0];
            int64_t keep = kept(total, o);
            /* the batch's tokens are contiguous in the arena: cut them directly */
            const int32_t *t = src->i32 + src->off[b0];
            for (int64_t p = 0; p < keep && !d->oom; p += o->block_size)
                lmt_col_push_ints(d, t + p, (size_t)(keep - p < o->block_size ? keep - p : o->block_size));
        }
        lmt_status s = lmt_ds_add_column(out, d);
        if (s != LMT_OK) { lmt_ds_free(out); return s; }
    }
    return LMT_OK;
}
