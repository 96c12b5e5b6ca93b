/* Column building: growable arenas with row offsets. An allocation failure
 * marks the column (oom) instead of failing every push call site. */
#include <stdlib.h>
#include <string.h>
#include "core/util.h"
#include "data/dataset.h"

const char *lmt_ds_type_name(lmt_ds_type t) {
    switch (t) {
    case LMT_DS_STR: return "string";
    case LMT_DS_INT: return "int64";
    case LMT_DS_FLOAT: return "float64";
    case LMT_DS_BOOL: return "bool";
    case LMT_DS_INTS: return "list<int32>";
    case LMT_DS_FLOATS: return "list<float64>";
    case LMT_DS_STRS: return "list<string>";
    }
    return "?";
}

static bool is_list(lmt_ds_type t) { return t == LMT_DS_STR || t == LMT_DS_INTS || t == LMT_DS_FLOATS || t == LMT_DS_STRS; }
static bool elem_room(lmt_ds_column *c, size_t more);

lmt_ds_column *lmt_col_new(const char *name, lmt_ds_type t) {
    lmt_ds_column *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->name = lmt_strdup(name);
    c->type = t;
    if (is_list(t)) c->off = calloc(1, sizeof *c->off);
    if (t == LMT_DS_STRS) c->eoff = calloc(1, sizeof *c->eoff);
    if (!c->name || (is_list(t) && !c->off) || (t == LMT_DS_STRS && !c->eoff)) { lmt_col_free(c); return NULL; }
    /* arenas exist from the start so that row pointers are never NULL + 0 */
    if (is_list(t) && !elem_room(c, 0)) { lmt_col_free(c); return NULL; }
    if (t == LMT_DS_STRS) {
        c->str = calloc(1, 1);
        c->cap_bytes = 1;
        if (!c->str) { lmt_col_free(c); return NULL; }
    }
    return c;
}

void lmt_col_free(lmt_ds_column *c) {
    if (!c) return;
    free(c->name); free(c->i64); free(c->f64); free(c->i32); free(c->str); free(c->off); free(c->eoff); free(c->null);
    free(c);
}

/* Grows *p (elements of size sz, capacity *cap) to hold `need`. */
static bool grow(void **p, size_t *cap, size_t need, size_t sz) {
    if (need <= *cap) return true;
    size_t nc = *cap ? *cap : 16;
    while (nc < need) {
        if (nc > SIZE_MAX / 2 / sz) return false;
        nc *= 2;
    }
    void *q = realloc(*p, nc * sz);
    if (!q) return false;
    *p = q;
    *cap = nc;
    return true;
}

/* Makes room for one more row: the scalar slot or the next offset, and the null flags. */
static bool row_room(lmt_ds_column *c) {
    if (c->oom) return false;
    size_t need = (size_t)c->n + 2, cap = c->cap_rows;
    bool ok = true;
    if (c->type == LMT_DS_INT || c->type == LMT_DS_BOOL) ok = grow((void **)&c->i64, &cap, need, sizeof *c->i64);
    else if (c->type == LMT_DS_FLOAT) ok = grow((void **)&c->f64, &cap, need, sizeof *c->f64);
    else ok = grow((void **)&c->off, &cap, need, sizeof *c->off);
    if (ok && c->null && cap != c->cap_rows) {
        uint8_t *q = realloc(c->null, cap);
        if (!q) ok = false;
        else { memset(q + c->cap_rows, 0, cap - c->cap_rows); c->null = q; }
    }
    if (!ok) { c->oom = true; return false; }
    c->cap_rows = cap;
    return true;
}

static void end_row(lmt_ds_column *c, bool null) {
    if (!row_room(c)) return;
    if (null && !c->null) {
        c->null = calloc(c->cap_rows, 1);
        if (!c->null) { c->oom = true; return; }
    }
    if (c->null) c->null[c->n] = null;
    if (is_list(c->type)) c->off[c->n + 1] = c->n_elems;
    c->n++;
}

static bool elem_room(lmt_ds_column *c, size_t more) {
    if (c->oom) return false;
    size_t need = (size_t)c->n_elems + more + 1;
    bool ok = need > (size_t)c->n_elems;
    if (ok) {
        switch (c->type) {
        case LMT_DS_STR: ok = grow((void **)&c->str, &c->cap_elems, need, 1); break;
        case LMT_DS_INTS: ok = grow((void **)&c->i32, &c->cap_elems, need, sizeof *c->i32); break;
        case LMT_DS_FLOATS: ok = grow((void **)&c->f64, &c->cap_elems, need, sizeof *c->f64); break;
        case LMT_DS_STRS: ok = grow((void **)&c->eoff, &c->cap_elems, need + 1, sizeof *c->eoff); break;
        default: ok = false;
        }
    }
    if (!ok) c->oom = true;
    return ok;
}

void lmt_col_push_str(lmt_ds_column *c, const char *s, size_t n) {
    if (c->type != LMT_DS_STR) { c->oom = true; return; }
    if (!elem_room(c, n)) return;
    if (n) memcpy(c->str + c->n_elems, s, n);
    c->n_elems += (int64_t)n;
    c->str[c->n_elems] = 0;
    end_row(c, false);
}

void lmt_col_push_int(lmt_ds_column *c, int64_t v) {
    if ((c->type != LMT_DS_INT && c->type != LMT_DS_BOOL) || !row_room(c)) { c->oom = true; return; }
    c->i64[c->n] = v;
    end_row(c, false);
}

void lmt_col_push_float(lmt_ds_column *c, double v) {
    if (c->type != LMT_DS_FLOAT || !row_room(c)) { c->oom = true; return; }
    c->f64[c->n] = v;
    end_row(c, false);
}

void lmt_col_push_ints(lmt_ds_column *c, const int32_t *v, size_t n) {
    if (c->type != LMT_DS_INTS) { c->oom = true; return; }
    if (!elem_room(c, n)) return;
    if (n) memcpy(c->i32 + c->n_elems, v, n * sizeof *v);
    c->n_elems += (int64_t)n;
    end_row(c, false);
}

void lmt_col_push_null(lmt_ds_column *c) {
    if (!row_room(c)) return;
    if (c->type == LMT_DS_INT || c->type == LMT_DS_BOOL) c->i64[c->n] = 0;
    else if (c->type == LMT_DS_FLOAT) c->f64[c->n] = 0;
    else if (c->type == LMT_DS_STR && elem_room(c, 0)) c->str[c->n_elems] = 0;
    end_row(c, true);
}

void lmt_col_elem_int(lmt_ds_column *c, int32_t v) {
    if (c->type != LMT_DS_INTS) { c->oom = true; return; }
    if (elem_room(c, 1)) c->i32[c->n_elems++] = v;
}

void lmt_col_elem_float(lmt_ds_column *c, double v) {
    if (c->type != LMT_DS_FLOATS) { c->oom = true; return; }
    if (elem_room(c, 1)) c->f64[c->n_elems++] = v;
}

void lmt_col_elem_str(lmt_ds_column *c, const char *s, size_t n) {
    if (c->type != LMT_DS_STRS) { c->oom = true; return; }
    if (!elem_room(c, 1)) return;
    size_t need = (size_t)c->n_bytes + n + 1;
    if (need <= (size_t)c->n_bytes || !grow((void **)&c->str, &c->cap_bytes, need, 1)) { c->oom = true; return; }
    if (n) memcpy(c->str + c->n_bytes, s, n);
    c->n_bytes += (int64_t)n;
    c->str[c->n_bytes] = 0;
    c->n_elems++;
    c->eoff[c->n_elems] = c->n_bytes;
}

void lmt_col_end_row(lmt_ds_column *c) {
    if (c->type == LMT_DS_STR || !is_list(c->type)) { c->oom = true; return; }
    end_row(c, false);
}
