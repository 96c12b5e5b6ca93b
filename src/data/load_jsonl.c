/* JSON Lines as load_dataset("json") + flatten(): pass 1 infers one type per
 * leaf (pyarrow's rules: int+float -> float, null fits anything, other mixes
 * are errors), pass 2 fills the columns. Parsing twice keeps memory at one
 * line's DOM instead of the whole file's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "data/dataset.h"
#include "data/text_util.h"

typedef enum { K_NULL, K_STR, K_INT, K_FLOAT, K_BOOL, K_LIST, K_OBJECT } kind;

typedef struct field {
    char *name;      /* dotted */
    char **comp;     /* key path */
    size_t depth;
    kind k, elem;    /* elem: list element kind (K_NULL while only empty lists were seen) */
    int64_t line;    /* where the kind was fixed */
    lmt_ds_column *col;
} field;

typedef struct schema {
    const char *path;
    field *f;
    size_t n, cap;
} schema;

static const char *kind_name(kind k) {
    switch (k) {
    case K_NULL: return "null";
    case K_STR: return "a string";
    case K_INT: return "an integer";
    case K_FLOAT: return "a float";
    case K_BOOL: return "a bool";
    case K_LIST: return "a list";
    case K_OBJECT: return "an object";
    }
    return "?";
}

static kind kind_of(const lmt_json *v) {
    switch (v->type) {
    case LMT_JSON_NULL: return K_NULL;
    case LMT_JSON_BOOL: return K_BOOL;
    case LMT_JSON_NUMBER: return v->is_int ? K_INT : K_FLOAT;
    case LMT_JSON_STRING: return K_STR;
    case LMT_JSON_ARRAY: return K_LIST;
    case LMT_JSON_OBJECT: return K_OBJECT;
    }
    return K_NULL;
}

static void schema_free(schema *s) {
    for (size_t i = 0; i < s->n; i++) {
        free(s->f[i].name);
        for (size_t k = 0; k < s->f[i].depth; k++) free(s->f[i].comp[k]);
        free(s->f[i].comp);
        lmt_col_free(s->f[i].col);
    }
    free(s->f);
}

static field *find(schema *s, const char *const *comp, size_t depth) {
    for (size_t i = 0; i < s->n; i++) {
        field *f = &s->f[i];
        if (f->depth != depth) continue;
        size_t k = 0;
        while (k < depth && !strcmp(f->comp[k], comp[k])) k++;
        if (k == depth) return f;
    }
    return NULL;
}

/* Is comp[0..depth) a strict prefix of a known field (i.e. an object)? */
static field *find_below(schema *s, const char *const *comp, size_t depth) {
    for (size_t i = 0; i < s->n; i++) {
        field *f = &s->f[i];
        if (f->depth <= depth) continue;
        size_t k = 0;
        while (k < depth && !strcmp(f->comp[k], comp[k])) k++;
        if (k == depth) return f;
    }
    return NULL;
}

static lmt_status add_field(schema *s, const char *const *comp, size_t depth, kind k, int64_t line, field **out) {
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        field *nf = realloc(s->f, nc * sizeof *nf);
        if (!nf) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", s->path);
        s->f = nf;
        s->cap = nc;
    }
    field *f = &s->f[s->n];
    memset(f, 0, sizeof *f);
    f->comp = calloc(depth, sizeof *f->comp);
    lmt_strbuf b;
    lmt_sb_init(&b);
    for (size_t i = 0; i < depth; i++) {
        if (i) lmt_sb_putc(&b, '.');
        lmt_sb_puts(&b, comp[i]);
        if (f->comp) f->comp[i] = lmt_strdup(comp[i]);
        if (f->comp && !f->comp[i]) b.oom = true;
    }
    f->depth = depth;
    f->name = lmt_sb_take(&b);
    s->n++;
    if (!f->comp || !f->name) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", s->path);
    f->k = k;
    f->elem = K_NULL;
    f->line = line;
    *out = f;
    return LMT_OK;
}

static lmt_status merge(schema *s, field *f, kind *have, kind k, int64_t line, const char *what) {
    if (k == K_NULL || k == *have) return LMT_OK;
    if (*have == K_NULL) { *have = k; f->line = line; return LMT_OK; }
    if ((*have == K_INT && k == K_FLOAT) || (*have == K_FLOAT && k == K_INT)) { *have = K_FLOAT; return LMT_OK; }
    return lmt_fail(LMT_ERR_FORMAT, "%s: line %lld: %s \"%s\" is %s here but %s on line %lld", s->path, (long long)line,
                    what, f->name, kind_name(k), kind_name(*have), (long long)f->line);
}

static lmt_status infer(schema *s, const lmt_json *obj, const char **comp, size_t depth, int64_t line) {
    if (depth >= 64) return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: line %lld: objects nested deeper than 64 levels", s->path, (long long)line);
    for (size_t i = 0; i < obj->len; i++) {
        comp[depth] = obj->keys[i];
        const lmt_json *v = &obj->items[i];
        kind k = kind_of(v);
        field *f = find(s, comp, depth + 1);
        if (k == K_OBJECT) {
            if (f && f->k != K_NULL)
                return lmt_fail(LMT_ERR_FORMAT, "%s: line %lld: field \"%s\" is an object here but %s on line %lld",
                                s->path, (long long)line, f->name, kind_name(f->k), (long long)f->line);
            LMT_TRY(infer(s, v, comp, depth + 1, line));
            continue;
        }
        if (!f) {
            field *below = find_below(s, comp, depth + 1);
            if (below && k != K_NULL)
                return lmt_fail(LMT_ERR_FORMAT, "%s: line %lld: field \"%s\" is %s here but an object before",
                                s->path, (long long)line, obj->keys[i], kind_name(k));
            if (below) continue;
            LMT_TRY(add_field(s, comp, depth + 1, K_NULL, line, &f));
        }
        LMT_TRY(merge(s, f, &f->k, k, line, "field"));
        if (k != K_LIST) continue;
        for (size_t e = 0; e < v->len; e++) {
            kind ek = kind_of(&v->items[e]);
            if (ek == K_NULL || ek == K_LIST || ek == K_OBJECT || ek == K_BOOL)
                return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: line %lld: field \"%s\" holds a list of %s values; only lists "
                                "of strings or numbers are supported", s->path, (long long)line, f->name,
                                ek == K_NULL ? "null" : ek == K_LIST ? "list" : ek == K_OBJECT ? "object" : "bool");
            if (ek == K_INT && (v->items[e].i64 < INT32_MIN || v->items[e].i64 > INT32_MAX))
                return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: line %lld: field \"%s\": list integer %lld does not fit int32",
                                s->path, (long long)line, f->name, (long long)v->items[e].i64);
            LMT_TRY(merge(s, f, &f->elem, ek, line, "the elements of field"));
        }
    }
    return LMT_OK;
}

static const lmt_json *lookup(const lmt_json *obj, const field *f) {
    for (size_t k = 0; k < f->depth && obj; k++) {
        if (obj->type != LMT_JSON_OBJECT) return NULL;
        obj = lmt_json_get(obj, f->comp[k]);
    }
    return obj;
}

static void fill(field *f, const lmt_json *v) {
    lmt_ds_column *c = f->col;
    if (!v || v->type == LMT_JSON_NULL) { lmt_col_push_null(c); return; }
    switch (c->type) {
    case LMT_DS_STR: lmt_col_push_str(c, v->str, v->len); break;
    case LMT_DS_INT: lmt_col_push_int(c, v->i64); break;
    case LMT_DS_FLOAT: lmt_col_push_float(c, v->num); break;
    case LMT_DS_BOOL: lmt_col_push_int(c, v->boolean); break;
    case LMT_DS_INTS:
        for (size_t e = 0; e < v->len; e++) lmt_col_elem_int(c, (int32_t)v->items[e].i64);
        lmt_col_end_row(c);
        break;
    case LMT_DS_FLOATS:
        for (size_t e = 0; e < v->len; e++) lmt_col_elem_float(c, v->items[e].num);
        lmt_col_end_row(c);
        break;
    case LMT_DS_STRS:
        for (size_t e = 0; e < v->len; e++) lmt_col_elem_str(c, v->items[e].str, v->items[e].len);
        lmt_col_end_row(c);
        break;
    }
}

static lmt_ds_type column_type(const field *f) {
    switch (f->k) {
    case K_INT: return LMT_DS_INT;
    case K_FLOAT: return LMT_DS_FLOAT;
    case K_BOOL: return LMT_DS_BOOL;
    case K_LIST: return f->elem == K_INT ? LMT_DS_INTS : f->elem == K_FLOAT ? LMT_DS_FLOATS : LMT_DS_STRS;
    default: return LMT_DS_STR;  /* strings, and columns that were null everywhere */
    }
}

/* Parses one line; JSON errors are re-anchored to the file's line number. */
static lmt_status parse_line(const char *path, const char *s, size_t n, int64_t line, lmt_json **out) {
    LMT_TRY(lmt_data_check_utf8(path, s, n, line));
    lmt_status st = lmt_json_parse(s, n, path, out);
    if (st == LMT_OK) {
        if ((*out)->type == LMT_JSON_OBJECT) return LMT_OK;
        lmt_status r = lmt_fail(LMT_ERR_FORMAT, "%s: line %lld: expected a JSON object, found %s", path, (long long)line,
                                lmt_json_type_name((*out)->type));
        lmt_json_free(*out);
        *out = NULL;
        return r;
    }
    /* core/json reports "path: invalid JSON at line 1, column C: what" for the one-line text */
    char msg[512];
    snprintf(msg, sizeof msg, "%s", lmt_last_error());
    const char *at = strstr(msg, "line 1, column ");
    if (at) {
        const char *col = at + strlen("line 1, column ");
        char *end;
        long c = strtol(col, &end, 10);
        if (end != col && end[0] == ':' && end[1] == ' ')
            return lmt_fail(st, "%s: line %lld, column %ld: invalid JSON: %s", path, (long long)line, c, end + 2);
    }
    return lmt_fail(st, "%s: line %lld: %s", path, (long long)line, msg);
}

static bool blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return false;
    return true;
}

/* Calls per_row for every non-blank line. */
static lmt_status each_row(const char *path, const char *d, size_t len, schema *s, bool fill_pass, int64_t *rows) {
    const char *comp[64];
    int64_t line = 0;
    *rows = 0;
    for (size_t p = 0; p < len;) {
        const char *nl = memchr(d + p, '\n', len - p);
        size_t e = nl ? (size_t)(nl - d) : len;
        line++;
        if (!blank(d + p, e - p)) {
            lmt_json *j;
            LMT_TRY(parse_line(path, d + p, e - p, line, &j));
            lmt_status st = LMT_OK;
            if (fill_pass) {
                for (size_t i = 0; i < s->n; i++) fill(&s->f[i], lookup(j, &s->f[i]));
            } else {
                st = infer(s, j, comp, 0, line);
            }
            lmt_json_free(j);
            LMT_TRY(st);
            ++*rows;
        }
        p = e + 1;
    }
    return LMT_OK;
}

lmt_status lmt_ds_load_jsonl(const char *path, lmt_dataset *out) {
    lmt_ds_init(out);
    char *d;
    size_t len;
    LMT_TRY(lmt_read_file(path, &d, &len));
    schema s = {path, NULL, 0, 0};
    int64_t rows = 0;
    lmt_status st = each_row(path, d, len, &s, false, &rows);
    if (st == LMT_OK && rows == 0) st = lmt_fail(LMT_ERR_FORMAT, "%s: no JSON objects in the file (empty dataset)", path);
    if (st == LMT_OK && s.n == 0) st = lmt_fail(LMT_ERR_FORMAT, "%s: the JSON objects have no fields (empty dataset)", path);
    for (size_t i = 0; st == LMT_OK && i < s.n; i++) {
        s.f[i].col = lmt_col_new(s.f[i].name, column_type(&s.f[i]));
        if (!s.f[i].col) st = lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path);
    }
    if (st == LMT_OK) st = each_row(path, d, len, &s, true, &rows);
    free(d);
    for (size_t i = 0; i < s.n; i++) {
        if (st == LMT_OK) {
            st = lmt_ds_add_column(out, s.f[i].col);
            if (st != LMT_OK) lmt_fail_wrap(st, "%s", path);
        } else lmt_col_free(s.f[i].col);
        s.f[i].col = NULL;
    }
    schema_free(&s);
    if (st != LMT_OK) lmt_ds_free(out);
    return st;
}
