/* Dataset-level operations: columns, select, remove/rename, flatten, join. */
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "data/dataset.h"

void lmt_ds_init(lmt_dataset *ds) { memset(ds, 0, sizeof *ds); }

void lmt_ds_free(lmt_dataset *ds) {
    for (size_t i = 0; i < ds->n_cols; i++) lmt_col_free(ds->cols[i]);
    free(ds->cols);
    memset(ds, 0, sizeof *ds);
}

lmt_ds_column *lmt_ds_col(const lmt_dataset *ds, const char *name) {
    for (size_t i = 0; i < ds->n_cols; i++)
        if (!strcmp(ds->cols[i]->name, name)) return ds->cols[i];
    return NULL;
}

lmt_status lmt_ds_add_column(lmt_dataset *ds, lmt_ds_column *c) {
    if (!c) return lmt_fail(LMT_ERR_NOMEM, "out of memory building a dataset column");
    lmt_status s = LMT_OK;
    if (c->oom) s = lmt_fail(LMT_ERR_NOMEM, "out of memory building column \"%s\"", c->name);
    else if (lmt_ds_col(ds, c->name)) s = lmt_fail(LMT_ERR_ARG, "the dataset already has a column \"%s\"", c->name);
    else if (ds->n_cols && c->n != ds->n_rows)
        s = lmt_fail(LMT_ERR_ARG, "column \"%s\" has %lld rows but the dataset has %lld", c->name, (long long)c->n,
                     (long long)ds->n_rows);
    if (s == LMT_OK) {
        lmt_ds_column **nc = realloc(ds->cols, (ds->n_cols + 1) * sizeof *nc);
        if (!nc) s = lmt_fail(LMT_ERR_NOMEM, "out of memory adding column \"%s\"", c->name);
        else {
            ds->cols = nc;
            ds->cols[ds->n_cols++] = c;
            ds->n_rows = c->n;
            return LMT_OK;
        }
    }
    lmt_col_free(c);
    return s;
}

static void copy_row(lmt_ds_column *d, const lmt_ds_column *c, int64_t r) {
    if (lmt_col_is_null(c, r)) { lmt_col_push_null(d); return; }
    size_t n;
    switch (c->type) {
    case LMT_DS_STR: { const char *s = lmt_col_str(c, r, &n); lmt_col_push_str(d, s, n); break; }
    case LMT_DS_INT:
    case LMT_DS_BOOL: lmt_col_push_int(d, c->i64[r]); break;
    case LMT_DS_FLOAT: lmt_col_push_float(d, c->f64[r]); break;
    case LMT_DS_INTS: { const int32_t *v = lmt_col_ints(c, r, &n); lmt_col_push_ints(d, v, n); break; }
    case LMT_DS_FLOATS: {
        const double *v = lmt_col_floats(c, r, &n);
        for (size_t k = 0; k < n; k++) lmt_col_elem_float(d, v[k]);
        lmt_col_end_row(d);
        break;
    }
    case LMT_DS_STRS:
        n = lmt_col_list_len(c, r);
        for (size_t k = 0; k < n; k++) {
            size_t len;
            const char *s = lmt_col_strs_at(c, r, k, &len);
            lmt_col_elem_str(d, s, len);
        }
        lmt_col_end_row(d);
        break;
    }
}

lmt_status lmt_ds_select(const lmt_dataset *ds, const int64_t *idx, int64_t n, lmt_dataset *out) {
    lmt_ds_init(out);
    if (n < 0) return lmt_fail(LMT_ERR_ARG, "select: negative row count %lld", (long long)n);
    for (int64_t i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= ds->n_rows)
            return lmt_fail(LMT_ERR_ARG, "select: index %lld is out of range for a dataset of %lld rows",
                            (long long)idx[i], (long long)ds->n_rows);
    for (size_t j = 0; j < ds->n_cols; j++) {
        const lmt_ds_column *c = ds->cols[j];
        lmt_ds_column *d = lmt_col_new(c->name, c->type);
        for (int64_t i = 0; d && i < n && !d->oom; i++) copy_row(d, c, idx[i]);
        lmt_status s = lmt_ds_add_column(out, d);
        if (s != LMT_OK) { lmt_ds_free(out); return s; }
    }
    out->n_rows = n;
    return LMT_OK;
}

lmt_status lmt_ds_select_range(const lmt_dataset *ds, int64_t start, int64_t n, lmt_dataset *out) {
    lmt_ds_init(out);
    if (start < 0 || n < 0 || start > ds->n_rows || n > ds->n_rows - start)
        return lmt_fail(LMT_ERR_ARG, "select: rows [%lld, %lld) are out of range for a dataset of %lld rows", (long long)start,
                        (long long)(start + n), (long long)ds->n_rows);
    int64_t *idx = malloc((size_t)(n ? n : 1) * sizeof *idx);
    if (!idx) return lmt_fail(LMT_ERR_NOMEM, "select: out of memory for %lld rows", (long long)n);
    for (int64_t i = 0; i < n; i++) idx[i] = start + i;
    lmt_status s = lmt_ds_select(ds, idx, n, out);
    free(idx);
    return s;
}

lmt_status lmt_ds_truncate(lmt_dataset *ds, int64_t max_rows) {
    if (max_rows <= 0 || ds->n_rows <= max_rows) return LMT_OK;
    lmt_dataset head;
    LMT_TRY(lmt_ds_select_range(ds, 0, max_rows, &head));
    lmt_ds_free(ds);
    *ds = head;
    return LMT_OK;
}

int64_t lmt_ds_longest(const lmt_dataset *ds, const char *column) {
    const lmt_ds_column *c = lmt_ds_col(ds, column);
    int64_t m = 0;
    for (int64_t r = 0; c && r < ds->n_rows; r++)
        if ((int64_t)lmt_col_list_len(c, r) > m) m = (int64_t)lmt_col_list_len(c, r);
    return m;
}

lmt_status lmt_ds_remove_columns(lmt_dataset *ds, const char *const *names, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!lmt_ds_col(ds, names[i]))
            return lmt_fail(LMT_ERR_ARG, "remove_columns: the dataset has no column \"%s\"", names[i]);
    size_t w = 0;
    for (size_t j = 0; j < ds->n_cols; j++) {
        bool drop = false;
        for (size_t i = 0; i < n && !drop; i++) drop = !strcmp(ds->cols[j]->name, names[i]);
        if (drop) lmt_col_free(ds->cols[j]);
        else ds->cols[w++] = ds->cols[j];
    }
    ds->n_cols = w;
    /* rows stay counted: HF keeps the row count of a dataset without columns */
    return LMT_OK;
}

lmt_status lmt_ds_rename_column(lmt_dataset *ds, const char *from, const char *to) {
    lmt_ds_column *c = lmt_ds_col(ds, from);
    if (!c) return lmt_fail(LMT_ERR_ARG, "rename_column: the dataset has no column \"%s\"", from);
    if (strcmp(from, to) && lmt_ds_col(ds, to)) return lmt_fail(LMT_ERR_ARG, "rename_column: column \"%s\" already exists", to);
    char *nn = lmt_strdup(to);
    if (!nn) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    free(c->name);
    c->name = nn;
    return LMT_OK;
}

lmt_status lmt_ds_flatten(lmt_dataset *ds) {
    for (size_t j = 0; j < ds->n_cols; j++)
        if (ds->cols[j]->n != ds->n_rows)
            return lmt_fail(LMT_ERR_INTERNAL, "column \"%s\" has %lld rows, the dataset %lld", ds->cols[j]->name,
                            (long long)ds->cols[j]->n, (long long)ds->n_rows);
    return LMT_OK;
}

lmt_status lmt_ds_join_strings(lmt_dataset *ds, const char *src, const char *sep, const char *dst) {
    lmt_ds_column *c = lmt_ds_col(ds, src);
    if (!c) return lmt_fail(LMT_ERR_ARG, "join: the dataset has no column \"%s\"", src);
    if (c->type != LMT_DS_STRS)
        return lmt_fail(LMT_ERR_ARG, "join: column \"%s\" is %s, not a list of strings", src, lmt_ds_type_name(c->type));
    size_t sl = strlen(sep);
    lmt_ds_column *d = lmt_col_new(dst, LMT_DS_STR);
    lmt_strbuf b;
    lmt_sb_init(&b);
    for (int64_t r = 0; d && r < c->n && !d->oom; r++) {
        b.len = 0;
        size_t k = lmt_col_list_len(c, r);
        for (size_t e = 0; e < k; e++) {
            size_t len;
            const char *s = lmt_col_strs_at(c, r, e, &len);
            if (e) lmt_sb_append(&b, sep, sl);
            lmt_sb_append(&b, s, len);
        }
        if (b.oom) d->oom = true;
        else lmt_col_push_str(d, b.data ? b.data : "", b.len);
    }
    lmt_sb_free(&b);
    lmt_ds_column *old = lmt_ds_col(ds, dst);
    if (old && d && !d->oom) {
        /* replace in place, keeping the column's position */
        for (size_t j = 0; j < ds->n_cols; j++)
            if (ds->cols[j] == old) ds->cols[j] = d;
        lmt_col_free(old);
        return LMT_OK;
    }
    return lmt_ds_add_column(ds, d);
}
