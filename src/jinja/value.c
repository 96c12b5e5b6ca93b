/* Jinja values with Python's semantics: truthiness, ==, <, str(), repr()
 * and json.dumps(ensure_ascii=False) as transformers' tojson calls it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jinja/internal.h"
#include "core/json.h"

static jv none_v = {.t = JV_NONE}, true_v = {.t = JV_BOOL, .b = true}, false_v = {.t = JV_BOOL, .b = false};

jv *jv_new(jarena *a, jv_type t) {
    jv *v = ja_alloc(a, sizeof *v);
    if (v) v->t = t;
    return v;
}
jv *jv_str(jarena *a, const char *s, size_t len) {
    jv *v = jv_new(a, JV_STR);
    if (!v) return NULL;
    v->s = ja_strndup(a, s, len);
    v->len = len;
    return v->s ? v : NULL;
}
jv *jv_cstr(jarena *a, const char *s) { return jv_str(a, s, strlen(s)); }
jv *jv_int(jarena *a, int64_t i) {
    jv *v = jv_new(a, JV_INT);
    if (v) v->i = i;
    return v;
}
jv *jv_float(jarena *a, double f) {
    jv *v = jv_new(a, JV_FLOAT);
    if (v) v->f = f;
    return v;
}
jv *jv_bool(bool b) { return b ? &true_v : &false_v; }
jv *jv_none(void) { return &none_v; }
jv *jv_undef(jarena *a, const char *name) {
    jv *v = jv_new(a, JV_UNDEF);
    if (v) v->s = name;
    return v;
}

bool jv_push(jarena *a, jv *list, jv *x) {
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 4;
        jv **items = ja_alloc(a, cap * sizeof *items);
        jv **keys = (list->t == JV_DICT || list->t == JV_NS) ? ja_alloc(a, cap * sizeof *keys) : NULL;
        if (!items || ((list->t == JV_DICT || list->t == JV_NS) && !keys)) return false;
        if (list->n) memcpy(items, list->items, list->n * sizeof *items);
        if (keys && list->n) memcpy(keys, list->keys, list->n * sizeof *keys);
        list->items = items;
        list->keys = keys;
        list->cap = cap;
    }
    list->items[list->n++] = x;
    return true;
}

jv *jv_dict_get(const jv *d, const char *key, size_t klen) {
    if (d->t != JV_DICT && d->t != JV_NS) return NULL;
    for (size_t i = 0; i < d->n; i++) {
        const jv *k = d->keys[i];
        if (k->t == JV_STR && k->len == klen && memcmp(k->s, key, klen) == 0) return d->items[i];
    }
    return NULL;
}

bool jv_dict_set(jarena *a, jv *d, jv *key, jv *val) {
    for (size_t i = 0; i < d->n; i++)
        if (jv_equal(d->keys[i], key)) { d->items[i] = val; return true; }
    if (!jv_push(a, d, val)) return false;
    d->keys[d->n - 1] = key;
    return true;
}

bool jv_truthy(const jv *v) {
    switch (v->t) {
    case JV_UNDEF: case JV_NONE: return false;
    case JV_BOOL: return v->b;
    case JV_INT: return v->i != 0;
    case JV_FLOAT: return v->f != 0;
    case JV_STR: return v->len != 0;
    case JV_LIST: case JV_TUPLE: case JV_DICT: return v->n != 0;
    default: return true;
    }
}

static bool is_num(const jv *v) { return v->t == JV_INT || v->t == JV_FLOAT || v->t == JV_BOOL; }
static double num_of(const jv *v) { return v->t == JV_FLOAT ? v->f : v->t == JV_INT ? (double)v->i : (double)v->b; }
static int64_t int_of(const jv *v) { return v->t == JV_INT ? v->i : (int64_t)v->b; }

/* Values may nest without bound or hold themselves ({% set ns.x = ns %},
 * l.append(l)), where Python raises RecursionError. The recursive walks below
 * stop at this depth and raise a flag that the evaluator turns into an error. */
#define JV_MAX_WALK_DEPTH 200
static _Thread_local int walk_depth;
static _Thread_local bool walk_overflow;
static bool walk_enter(void) {
    if (walk_depth >= JV_MAX_WALK_DEPTH) { walk_overflow = true; return false; }
    walk_depth++;
    return true;
}
static void walk_leave(void) { walk_depth--; }
bool jv_walk_overflowed(void) {
    bool o = walk_overflow;
    walk_overflow = false;
    return o;
}

bool jv_equal(const jv *a, const jv *b) {
    if (is_num(a) && is_num(b)) {
        if (a->t != JV_FLOAT && b->t != JV_FLOAT) return int_of(a) == int_of(b);
        return num_of(a) == num_of(b);
    }
    if (a->t == JV_STR && b->t == JV_STR) return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
    bool seq_a = a->t == JV_LIST || a->t == JV_TUPLE, seq_b = b->t == JV_LIST || b->t == JV_TUPLE;
    if (seq_a && seq_b) {
        if (a->t != b->t || a->n != b->n) return false;
        if (!walk_enter()) return false;
        bool eq = true;
        for (size_t i = 0; i < a->n && eq; i++) eq = jv_equal(a->items[i], b->items[i]);
        walk_leave();
        return eq;
    }
    if (a->t == JV_DICT && b->t == JV_DICT) {
        if (a->n != b->n) return false;
        if (!walk_enter()) return false;
        bool eq = true;
        for (size_t i = 0; i < a->n && eq; i++) {
            const jv *k = a->keys[i];
            const jv *o = k->t == JV_STR ? jv_dict_get(b, k->s, k->len) : NULL;
            eq = o && jv_equal(a->items[i], o);
        }
        walk_leave();
        return eq;
    }
    if (a->t == JV_NONE || b->t == JV_NONE) return a->t == b->t;
    if (a->t == JV_UNDEF || b->t == JV_UNDEF) return a->t == b->t;
    return a == b;
}

bool jv_compare(const jv *a, const jv *b, int *out) {
    if (is_num(a) && is_num(b)) {
        if (a->t != JV_FLOAT && b->t != JV_FLOAT) {
            int64_t x = int_of(a), y = int_of(b);
            *out = x < y ? -1 : x > y;
        } else {
            double x = num_of(a), y = num_of(b);
            *out = x < y ? -1 : x > y;
        }
        return true;
    }
    if (a->t == JV_STR && b->t == JV_STR) {
        size_t m = a->len < b->len ? a->len : b->len;
        int c = memcmp(a->s, b->s, m);   /* UTF-8 byte order is code point order */
        *out = c ? (c < 0 ? -1 : 1) : (a->len < b->len ? -1 : a->len > b->len);
        return true;
    }
    if ((a->t == JV_LIST && b->t == JV_LIST) || (a->t == JV_TUPLE && b->t == JV_TUPLE)) {
        for (size_t i = 0; i < a->n && i < b->n; i++) {
            if (jv_equal(a->items[i], b->items[i])) continue;
            if (!walk_enter()) return false;
            bool ok = jv_compare(a->items[i], b->items[i], out);
            walk_leave();
            return ok;
        }
        *out = a->n < b->n ? -1 : a->n > b->n;
        return true;
    }
    return false;
}

const char *jv_type_name(const jv *v) {
    switch (v->t) {
    case JV_UNDEF: return "Undefined";
    case JV_NONE: return "NoneType";
    case JV_BOOL: return "bool";
    case JV_INT: return "int";
    case JV_FLOAT: return "float";
    case JV_STR: return "str";
    case JV_LIST: return "list";
    case JV_TUPLE: return "tuple";
    case JV_DICT: return "dict";
    case JV_NS: return "Namespace";
    default: return "function";
    }
}

static void put_float(lmt_strbuf *b, double f) {
    if (isnan(f)) lmt_sb_puts(b, "nan");
    else if (isinf(f)) lmt_sb_puts(b, f < 0 ? "-inf" : "inf");
    else lmt_json_write_float_py(b, f);
}

static void repr_str(lmt_strbuf *b, const char *s, size_t len) {
    char q = (memchr(s, '\'', len) && !memchr(s, '"', len)) ? '"' : '\'';
    lmt_sb_putc(b, q);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == (unsigned char)q || c == '\\') { lmt_sb_putc(b, '\\'); lmt_sb_putc(b, (char)c); }
        else if (c == '\n') lmt_sb_puts(b, "\\n");
        else if (c == '\r') lmt_sb_puts(b, "\\r");
        else if (c == '\t') lmt_sb_puts(b, "\\t");
        else if (c < 0x20 || c == 0x7f) lmt_sb_printf(b, "\\x%02x", c);
        else lmt_sb_putc(b, (char)c);
    }
    lmt_sb_putc(b, q);
}

void jv_repr(lmt_strbuf *b, const jv *v) {
    bool container = v->t == JV_LIST || v->t == JV_TUPLE || v->t == JV_DICT || v->t == JV_NS;
    if (container && !walk_enter()) { lmt_sb_puts(b, "..."); return; }
    switch (v->t) {
    case JV_STR: repr_str(b, v->s, v->len); return;
    case JV_LIST: case JV_TUPLE:
        lmt_sb_putc(b, v->t == JV_LIST ? '[' : '(');
        for (size_t i = 0; i < v->n; i++) {
            if (i) lmt_sb_puts(b, ", ");
            jv_repr(b, v->items[i]);
        }
        if (v->t == JV_TUPLE && v->n == 1) lmt_sb_putc(b, ',');
        lmt_sb_putc(b, v->t == JV_LIST ? ']' : ')');
        walk_leave();
        return;
    case JV_DICT: case JV_NS:
        if (v->t == JV_NS) lmt_sb_puts(b, "<Namespace ");
        lmt_sb_putc(b, '{');
        for (size_t i = 0; i < v->n; i++) {
            if (i) lmt_sb_puts(b, ", ");
            jv_repr(b, v->keys[i]);
            lmt_sb_puts(b, ": ");
            jv_repr(b, v->items[i]);
        }
        lmt_sb_putc(b, '}');
        if (v->t == JV_NS) lmt_sb_putc(b, '>');
        walk_leave();
        return;
    default: jv_to_str(b, v);
    }
}

void jv_to_str(lmt_strbuf *b, const jv *v) {
    switch (v->t) {
    case JV_UNDEF: return;
    case JV_NONE: lmt_sb_puts(b, "None"); return;
    case JV_BOOL: lmt_sb_puts(b, v->b ? "True" : "False"); return;
    case JV_INT: lmt_sb_printf(b, "%lld", (long long)v->i); return;
    case JV_FLOAT: put_float(b, v->f); return;
    case JV_STR: lmt_sb_append(b, v->s, v->len); return;
    case JV_FUNC: lmt_sb_printf(b, "<function %s>", v->s ? v->s : "?"); return;
    default: jv_repr(b, v);
    }
}

static void json_nl(lmt_strbuf *b, int indent, int level) {
    lmt_sb_putc(b, '\n');
    for (int i = 0; i < indent * level; i++) lmt_sb_putc(b, ' ');
}

static bool to_json(lmt_strbuf *b, const jv *v, int indent, bool sort_keys, bool ascii, int level);
bool jv_to_json(lmt_strbuf *b, const jv *v, int indent, bool sort_keys, bool ascii, int level) {
    bool container = v->t == JV_LIST || v->t == JV_TUPLE || v->t == JV_DICT;
    if (container && !walk_enter()) return false;
    bool ok = to_json(b, v, indent, sort_keys, ascii, level);
    if (container) walk_leave();
    return ok;
}

static bool to_json(lmt_strbuf *b, const jv *v, int indent, bool sort_keys, bool ascii, int level) {
    switch (v->t) {
    case JV_NONE: lmt_sb_puts(b, "null"); return true;
    case JV_BOOL: lmt_sb_puts(b, v->b ? "true" : "false"); return true;
    case JV_INT: lmt_sb_printf(b, "%lld", (long long)v->i); return true;
    case JV_FLOAT: lmt_json_write_float_py(b, v->f); return true;
    case JV_STR: lmt_json_write_string(b, v->s, v->len, ascii); return true;
    case JV_LIST: case JV_TUPLE:
        if (!v->n) { lmt_sb_puts(b, "[]"); return true; }
        lmt_sb_putc(b, '[');
        for (size_t i = 0; i < v->n; i++) {
            if (i) lmt_sb_puts(b, indent >= 0 ? "," : ", ");
            if (indent >= 0) json_nl(b, indent, level + 1);
            if (!jv_to_json(b, v->items[i], indent, sort_keys, ascii, level + 1)) return false;
        }
        if (indent >= 0) json_nl(b, indent, level);
        lmt_sb_putc(b, ']');
        return true;
    case JV_DICT: {
        if (!v->n) { lmt_sb_puts(b, "{}"); return true; }
        size_t *order = malloc(v->n * sizeof *order);
        if (!order) return false;
        for (size_t i = 0; i < v->n; i++) order[i] = i;
        if (sort_keys)   /* insertion sort keeps equal keys stable */
            for (size_t i = 1; i < v->n; i++)
                for (size_t j = i; j > 0; j--) {
                    int c = 0;
                    if (!jv_compare(v->keys[order[j - 1]], v->keys[order[j]], &c) || c <= 0) break;
                    size_t t = order[j]; order[j] = order[j - 1]; order[j - 1] = t;
                }
        lmt_sb_putc(b, '{');
        for (size_t k = 0; k < v->n; k++) {
            size_t i = order[k];
            if (k) lmt_sb_puts(b, indent >= 0 ? "," : ", ");
            if (indent >= 0) json_nl(b, indent, level + 1);
            const jv *key = v->keys[i];
            if (key->t == JV_STR) lmt_json_write_string(b, key->s, key->len, ascii);
            else {
                lmt_strbuf t;
                lmt_sb_init(&t);
                if (key->t == JV_NONE) lmt_sb_puts(&t, "null");
                else if (key->t == JV_BOOL) lmt_sb_puts(&t, key->b ? "true" : "false");
                else jv_to_str(&t, key);
                lmt_json_write_string(b, t.data ? t.data : "", t.len, ascii);
                lmt_sb_free(&t);
            }
            lmt_sb_puts(b, ": ");
            if (!jv_to_json(b, v->items[i], indent, sort_keys, ascii, level + 1)) { free(order); return false; }
        }
        free(order);
        if (indent >= 0) json_nl(b, indent, level);
        lmt_sb_putc(b, '}');
        return true;
    }
    default: return false;
    }
}

static size_t cp_len(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

size_t utf8_count(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++) n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

size_t utf8_offset(const char *s, size_t len, size_t cp) {
    size_t i = 0;
    while (i < len && cp > 0) {
        i += cp_len((unsigned char)s[i]);
        cp--;
    }
    return i < len ? i : len;
}

bool py_isspace(const char *s, size_t len, size_t *n) {
    const unsigned char *u = (const unsigned char *)s;
    *n = cp_len(u[0]);
    if (*n > len) *n = len;
    unsigned c = u[0];
    if (*n == 1) return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
    if (*n == 2) c = ((u[0] & 0x1Fu) << 6) | (u[1] & 0x3Fu);
    else if (*n == 3) c = ((u[0] & 0x0Fu) << 12) | ((u[1] & 0x3Fu) << 6) | (u[2] & 0x3Fu);
    else return false;
    return c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
           c == 0x202f || c == 0x205f || c == 0x3000;
}
