/* CSV/TSV as load_dataset("csv") reads them through pandas.read_csv: RFC 4180
 * quoting ("" inside quotes, separators and newlines allowed in quotes),
 * blank lines skipped, a header row, pandas' default NA strings, and per
 * column type inference: int64, float64 (also ints with missing values),
 * bool (True/False), else string. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "data/dataset.h"
#include "data/text_util.h"

typedef struct cell { size_t off, len; } cell;

typedef struct table {
    lmt_strbuf text;        /* cell contents, back to back */
    cell *cells;
    size_t n_cells, cap_cells;
    size_t *rec;            /* first cell of each record; n_rec + 1 entries */
    int64_t *rec_line;
    size_t n_rec, cap_rec;
    bool oom;
} table;

static void push_cell(table *t, size_t off) {
    if (t->n_cells == t->cap_cells) {
        size_t nc = t->cap_cells ? t->cap_cells * 2 : 64;
        cell *c = realloc(t->cells, nc * sizeof *c);
        if (!c) { t->oom = true; return; }
        t->cells = c;
        t->cap_cells = nc;
    }
    t->cells[t->n_cells].off = off;
    t->cells[t->n_cells].len = t->text.len - off;
    t->n_cells++;
}

static void end_record(table *t, size_t first_cell, int64_t line) {
    if (t->n_rec + 2 > t->cap_rec) {
        size_t nc = t->cap_rec ? t->cap_rec * 2 : 64;
        size_t *r = realloc(t->rec, nc * sizeof *r);
        if (r) t->rec = r;
        int64_t *l = realloc(t->rec_line, nc * sizeof *l);
        if (l) t->rec_line = l;
        if (!r || !l) { t->oom = true; return; }
        t->cap_rec = nc;
    }
    t->rec[t->n_rec] = first_cell;
    t->rec_line[t->n_rec] = line;
    t->n_rec++;
    t->rec[t->n_rec] = t->n_cells;
}

static lmt_status tokenize(const char *path, const char *d, size_t len, char sep, table *t) {
    size_t i = 0;
    int64_t line = 1;
    while (i < len && !t->oom) {
        /* a blank line is no record */
        if (d[i] == '\n' || d[i] == '\r') {
            i += (d[i] == '\r' && i + 1 < len && d[i + 1] == '\n') ? 2 : 1;
            line++;
            continue;
        }
        size_t first = t->n_cells;
        int64_t start_line = line;
        for (;;) {
            size_t off = t->text.len;
            if (i < len && d[i] == '"') {
                i++;
                for (;;) {
                    if (i >= len)
                        return lmt_fail(LMT_ERR_FORMAT, "%s: line %lld: a quoted field is never closed", path,
                                        (long long)start_line);
                    if (d[i] == '"') {
                        if (i + 1 < len && d[i + 1] == '"') { lmt_sb_putc(&t->text, '"'); i += 2; continue; }
                        i++;
                        break;
                    }
                    if (d[i] == '\n' || (d[i] == '\r' && !(i + 1 < len && d[i + 1] == '\n'))) line++;
                    lmt_sb_putc(&t->text, d[i++]);
                }
            }
            /* unquoted text (or text after a closing quote) up to the separator */
            size_t s0 = i;
            while (i < len && d[i] != sep && d[i] != '\n' && d[i] != '\r') i++;
            lmt_sb_append(&t->text, d + s0, i - s0);
            push_cell(t, off);
            if (i < len && d[i] == sep) { i++; continue; }
            break;
        }
        end_record(t, first, start_line);
        if (i < len) { i += (d[i] == '\r' && i + 1 < len && d[i + 1] == '\n') ? 2 : 1; line++; }
    }
    if (t->oom || t->text.oom) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path);
    return LMT_OK;
}

static const char *cell_text(const table *t, const cell *c) { return t->text.data ? t->text.data + c->off : ""; }

static bool is_na(const char *s, size_t n) {
    static const char *const na[] = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                                     "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"};
    for (size_t i = 0; i < sizeof na / sizeof na[0]; i++)
        if (strlen(na[i]) == n && !memcmp(na[i], s, n)) return true;
    return false;
}

static bool parse_int(const char *s, size_t n, int64_t *v) {
    size_t i = (n && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
    if (i == n || n > 40) return false;
    for (size_t k = i; k < n; k++)
        if (s[k] < '0' || s[k] > '9') return false;
    char buf[48];
    memcpy(buf, s, n);
    buf[n] = 0;
    errno = 0;
    long long x = strtoll(buf, NULL, 10);
    if (errno) return false;
    *v = x;
    return true;
}

static bool parse_float(const char *s, size_t n, double *v) {
    if (n == 0 || n > 200 || memchr(s, 'x', n) || memchr(s, 'X', n)) return false;
    if (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t') return false;
    char buf[208], *end;
    memcpy(buf, s, n);
    buf[n] = 0;
    *v = strtod(buf, &end);
    return end == buf + n;
}

static int parse_bool(const char *s, size_t n) {
    if ((n == 4 && (!memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4) || !memcmp(s, "true", 4)))) return 1;
    if ((n == 5 && (!memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5) || !memcmp(s, "false", 5)))) return 0;
    return -1;
}

/* Cell j of record r, or NULL when the record is short (pandas fills NaN). */
static const cell *cell_at(const table *t, size_t r, size_t j) {
    size_t a = t->rec[r], b = t->rec[r + 1];
    return a + j < b ? &t->cells[a + j] : NULL;
}

static lmt_ds_type infer(const table *t, size_t j) {
    bool all_int = true, all_float = true, all_bool = true, any_na = false, any = false;
    for (size_t r = 1; r < t->n_rec; r++) {
        const cell *c = cell_at(t, r, j);
        const char *s = c ? cell_text(t, c) : "";
        size_t n = c ? c->len : 0;
        if (is_na(s, n)) { any_na = true; continue; }
        any = true;
        int64_t iv;
        double fv;
        if (all_int && !parse_int(s, n, &iv)) all_int = false;
        if (all_float && !parse_float(s, n, &fv)) all_float = false;
        if (all_bool && parse_bool(s, n) < 0) all_bool = false;
    }
    if (!any) return LMT_DS_FLOAT;             /* all NaN: float64 in pandas */
    if (all_int) return any_na ? LMT_DS_FLOAT : LMT_DS_INT;
    if (all_float) return LMT_DS_FLOAT;
    if (all_bool) return LMT_DS_BOOL;
    return LMT_DS_STR;
}

lmt_status lmt_ds_load_csv(const char *path, char sep, lmt_dataset *out) {
    lmt_ds_init(out);
    char *d;
    size_t len;
    LMT_TRY(lmt_read_file(path, &d, &len));
    lmt_status st = lmt_data_check_utf8(path, d, len, 1);
    table t;
    memset(&t, 0, sizeof t);
    lmt_sb_init(&t.text);
    if (st == LMT_OK) st = tokenize(path, d, len, sep, &t);
    free(d);
    if (st == LMT_OK && t.n_rec == 0) st = lmt_fail(LMT_ERR_FORMAT, "%s: the file is empty (no header row)", path);
    if (st == LMT_OK && t.n_rec == 1) st = lmt_fail(LMT_ERR_FORMAT, "%s: a header row but no data rows (empty dataset)", path);
    size_t n_cols = st == LMT_OK ? t.rec[1] - t.rec[0] : 0;
    for (size_t r = 1; st == LMT_OK && r < t.n_rec; r++)
        if (t.rec[r + 1] - t.rec[r] > n_cols)
            st = lmt_fail(LMT_ERR_FORMAT, "%s: line %lld: expected %zu fields (as the header), saw %zu", path,
                          (long long)t.rec_line[r], n_cols, t.rec[r + 1] - t.rec[r]);
    for (size_t j = 0; st == LMT_OK && j < n_cols; j++) {
        const cell *h = cell_at(&t, 0, j);
        char *name = lmt_strndup(cell_text(&t, h), h->len);
        lmt_ds_type ty = infer(&t, j);
        lmt_ds_column *c = name ? lmt_col_new(name, ty) : NULL;
        free(name);
        for (size_t r = 1; c && r < t.n_rec && !c->oom; r++) {
            const cell *x = cell_at(&t, r, j);
            const char *s = x ? cell_text(&t, x) : "";
            size_t n = x ? x->len : 0;
            int64_t iv = 0;
            double fv = 0;
            if (is_na(s, n)) lmt_col_push_null(c);
            else if (ty == LMT_DS_INT) { parse_int(s, n, &iv); lmt_col_push_int(c, iv); }
            else if (ty == LMT_DS_FLOAT) { parse_float(s, n, &fv); lmt_col_push_float(c, fv); }
            else if (ty == LMT_DS_BOOL) lmt_col_push_int(c, parse_bool(s, n));
            else lmt_col_push_str(c, s, n);
        }
        st = lmt_ds_add_column(out, c);
        if (st != LMT_OK) lmt_fail_wrap(st, "%s", path);
    }
    lmt_sb_free(&t.text);
    free(t.cells);
    free(t.rec);
    free(t.rec_line);
    if (st != LMT_OK) lmt_ds_free(out);
    return st;
}
