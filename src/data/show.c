/* show_random_elements from the course notebooks: distinct random rows
 * (Python's random.randint, so a seed gives the notebook's picks) rendered
 * as a plain-text table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "data/dataset.h"

lmt_status lmt_ds_random_picks(const lmt_dataset *ds, int64_t k, uint64_t seed, int64_t *picks) {
    if (k < 0 || k > ds->n_rows)
        return lmt_fail(LMT_ERR_ARG, "can't pick %lld random elements from a dataset of %lld rows", (long long)k,
                        (long long)ds->n_rows);
    lmt_mt19937 g;
    lmt_py_random_seed(&g, seed);
    for (int64_t i = 0; i < k; i++) {
        int64_t p;
        bool seen;
        do {
            p = lmt_py_randint(&g, 0, ds->n_rows - 1);
            seen = false;
            for (int64_t j = 0; j < i && !seen; j++) seen = picks[j] == p;
        } while (seen);
        picks[i] = p;
    }
    return LMT_OK;
}

/* Appends s as one table cell: control characters escaped, at most max_width
 * characters (UTF-8 sequences are kept whole). Returns the characters written. */
static int put_cell(lmt_strbuf *b, const char *s, size_t n, int max_width) {
    int w = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : NULL;
        int cw = esc ? 2 : 1;
        size_t len = 1;
        if (c >= 0xC0) len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (len > n - i) len = n - i;
        if (w + cw > max_width - 1 && i + len < n) { lmt_sb_puts(b, "…"); return w + 1; }
        if (esc) lmt_sb_puts(b, esc);
        else if (c < 0x20 || c == 0x7f) { lmt_sb_printf(b, "\\x%02x", c); cw = 4; }
        else lmt_sb_append(b, s + i, len);
        w += cw;
        i += len;
    }
    return w;
}

/* Python's repr(float): the shortest digits that read back the same, with ".0" for integral values. */
static void put_float(lmt_strbuf *b, double v) {
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    lmt_sb_puts(b, buf);
    if (!strpbrk(buf, ".eEni")) lmt_sb_puts(b, ".0");
}

static void render(lmt_strbuf *b, const lmt_ds_column *c, int64_t r) {
    if (lmt_col_is_null(c, r)) { lmt_sb_puts(b, "None"); return; }
    size_t n;
    switch (c->type) {
    case LMT_DS_STR: { const char *s = lmt_col_str(c, r, &n); lmt_sb_append(b, s, n); break; }
    case LMT_DS_INT: lmt_sb_printf(b, "%lld", (long long)c->i64[r]); break;
    case LMT_DS_FLOAT: put_float(b, c->f64[r]); break;
    case LMT_DS_BOOL: lmt_sb_puts(b, c->i64[r] ? "True" : "False"); break;
    case LMT_DS_INTS: {
        const int32_t *v = lmt_col_ints(c, r, &n);
        lmt_sb_putc(b, '[');
        for (size_t k = 0; k < n && k < 64; k++) {
            if (k) lmt_sb_puts(b, ", ");
            if (v[k] < 0 && !strcmp(c->name, "word_ids")) lmt_sb_puts(b, "None");
            else lmt_sb_printf(b, "%d", v[k]);
        }
        lmt_sb_puts(b, n > 64 ? ", ...]" : "]");
        break;
    }
    case LMT_DS_FLOATS: {
        const double *v = lmt_col_floats(c, r, &n);
        lmt_sb_putc(b, '[');
        for (size_t k = 0; k < n && k < 64; k++) {
            if (k) lmt_sb_puts(b, ", ");
            put_float(b, v[k]);
        }
        lmt_sb_puts(b, n > 64 ? ", ...]" : "]");
        break;
    }
    case LMT_DS_STRS:
        n = lmt_col_list_len(c, r);
        lmt_sb_putc(b, '[');
        for (size_t k = 0; k < n && k < 16; k++) {
            size_t len;
            const char *s = lmt_col_strs_at(c, r, k, &len);
            lmt_sb_printf(b, "%s'", k ? ", " : "");
            lmt_sb_append(b, s, len);
            lmt_sb_putc(b, '\'');
        }
        lmt_sb_puts(b, n > 16 ? ", ...]" : "]");
        break;
    }
}

char *lmt_ds_format_table(const lmt_dataset *ds, const int64_t *picks, int64_t k, int max_width) {
    if (max_width < 8) max_width = 8;
    size_t nc = ds->n_cols;
    /* cells[(row+1) * (nc+1) + col]: header row first, the row index first in each row */
    size_t rows = (size_t)k + 1, cols = nc + 1;
    lmt_strbuf *cell = calloc(rows * cols, sizeof *cell);
    int *width = calloc(rows * cols, sizeof *width), *colw = calloc(cols, sizeof *colw);
    if (!cell || !width || !colw) { free(cell); free(width); free(colw); return NULL; }
    lmt_strbuf tmp;
    lmt_sb_init(&tmp);
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < cols; j++) {
            lmt_strbuf *o = &cell[r * cols + j];
            lmt_sb_init(o);
            tmp.len = 0;
            if (r == 0 && j == 0) lmt_sb_puts(&tmp, "");
            else if (r == 0) lmt_sb_puts(&tmp, ds->cols[j - 1]->name);
            else if (j == 0) lmt_sb_printf(&tmp, "%lld", (long long)picks[r - 1]);
            else render(&tmp, ds->cols[j - 1], picks[r - 1]);
            width[r * cols + j] = put_cell(o, tmp.data ? tmp.data : "", tmp.len, max_width);
            if (width[r * cols + j] > colw[j]) colw[j] = width[r * cols + j];
        }
    lmt_strbuf b;
    lmt_sb_init(&b);
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < cols; j++) {
            const lmt_strbuf *o = &cell[r * cols + j];
            if (j) lmt_sb_puts(&b, " | ");
            lmt_sb_append(&b, o->data ? o->data : "", o->len);
            if (j + 1 < cols)
                for (int p = width[r * cols + j]; p < colw[j]; p++) lmt_sb_putc(&b, ' ');
        }
        lmt_sb_putc(&b, '\n');
        if (r == 0) {
            for (size_t j = 0; j < cols; j++) {
                if (j) lmt_sb_puts(&b, "-|-");
                for (int p = 0; p < colw[j]; p++) lmt_sb_putc(&b, '-');
            }
            lmt_sb_putc(&b, '\n');
        }
    }
    for (size_t i = 0; i < rows * cols; i++) lmt_sb_free(&cell[i]);
    free(cell);
    free(width);
    free(colw);
    lmt_sb_free(&tmp);
    return lmt_sb_take(&b);
}
