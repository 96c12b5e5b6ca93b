/* JSON parser and writer. The parser is strict RFC 8259 plus what Python's
 * json module also accepts (NaN, Infinity, lone surrogate escapes), because
 * HF files are written by Python. Errors give line and column. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"

#define MAX_DEPTH 512

typedef struct {
    const char *s, *end, *start;
    const char *source;
} parser;

static lmt_status perr(parser *p, const char *what) {
    size_t line = 1, col = 1;
    for (const char *c = p->start; c < p->s && c < p->end; c++) {
        if (*c == '\n') { line++; col = 1; } else col++;
    }
    return lmt_fail(LMT_ERR_FORMAT, "%s: invalid JSON at line %zu, column %zu: %s",
                    p->source ? p->source : "<json>", line, col, what);
}

static void skip_ws(parser *p) {
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) p->s++;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_hex4(parser *p, unsigned *out) {
    if (p->end - p->s < 4) return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p->s[i]);
        if (h < 0) return -1;
        v = v * 16 + (unsigned)h;
    }
    p->s += 4;
    *out = v;
    return 0;
}

static void put_utf8(lmt_strbuf *b, unsigned cp) {
    char o[4];
    size_t n;
    if (cp < 0x80) { o[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) { o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F)); n = 3; }
    else { o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F)); o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F)); n = 4; }
    lmt_sb_append(b, o, n);
}

/* Length of the valid UTF-8 sequence at s (strict: no overlongs, no
 * surrogates, <= U+10FFFF), or 0 if invalid. */
static size_t utf8_valid_len(const unsigned char *s, const unsigned char *end) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned min;
    if ((c & 0xE0) == 0xC0) { n = 2; min = 0x80; c &= 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 3; min = 0x800; c &= 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 4; min = 0x10000; c &= 0x07; }
    else return 0;
    if ((size_t)(end - s) < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    return n;
}

static lmt_status parse_string(parser *p, char **out, size_t *out_len) {
    lmt_strbuf b;
    lmt_sb_init(&b);
    p->s++; /* opening quote */
    for (;;) {
        if (p->s >= p->end) { lmt_sb_free(&b); return perr(p, "unterminated string"); }
        unsigned char c = (unsigned char)*p->s;
        if (c == '"') { p->s++; break; }
        if (c < 0x20) { lmt_sb_free(&b); return perr(p, "control character in string"); }
        if (c == '\\') {
            p->s++;
            if (p->s >= p->end) { lmt_sb_free(&b); return perr(p, "unterminated escape"); }
            char e = *p->s++;
            switch (e) {
            case '"': lmt_sb_putc(&b, '"'); break;
            case '\\': lmt_sb_putc(&b, '\\'); break;
            case '/': lmt_sb_putc(&b, '/'); break;
            case 'b': lmt_sb_putc(&b, '\b'); break;
            case 'f': lmt_sb_putc(&b, '\f'); break;
            case 'n': lmt_sb_putc(&b, '\n'); break;
            case 'r': lmt_sb_putc(&b, '\r'); break;
            case 't': lmt_sb_putc(&b, '\t'); break;
            case 'u': {
                unsigned cp;
                if (read_hex4(p, &cp)) { lmt_sb_free(&b); return perr(p, "bad \\u escape"); }
                if (cp >= 0xD800 && cp <= 0xDBFF && p->end - p->s >= 6 && p->s[0] == '\\' && p->s[1] == 'u') {
                    parser save = *p;
                    unsigned lo;
                    p->s += 2;
                    if (read_hex4(p, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF)
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    else
                        *p = save;
                }
                /* A lone surrogate (Python accepts it) is kept as its 3-byte
                 * WTF-8 form so nothing is lost. */
                put_utf8(&b, cp);
                break;
            }
            default: lmt_sb_free(&b); p->s--; return perr(p, "unknown escape");
            }
            continue;
        }
        if (c < 0x80) { lmt_sb_putc(&b, (char)c); p->s++; continue; }
        size_t n = utf8_valid_len((const unsigned char *)p->s, (const unsigned char *)p->end);
        if (!n) { lmt_sb_free(&b); return perr(p, "invalid UTF-8 in string"); }
        lmt_sb_append(&b, p->s, n);
        p->s += n;
    }
    size_t len = b.len;
    char *s = lmt_sb_take(&b);
    if (!s) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory parsing JSON", p->source);
    *out = s;
    *out_len = len;
    return LMT_OK;
}

static lmt_status parse_number(parser *p, lmt_json *j) {
    const char *st = p->s;
    bool integral = true;
    if (p->s < p->end && *p->s == '-') p->s++;
    if (p->end - p->s >= 8 && memcmp(p->s, "Infinity", 8) == 0) {
        p->s += 8;
        j->type = LMT_JSON_NUMBER;
        j->num = (*st == '-') ? -INFINITY : INFINITY;
        return LMT_OK;
    }
    if (p->s >= p->end || !(*p->s >= '0' && *p->s <= '9')) return perr(p, "invalid number");
    if (*p->s == '0') p->s++;
    else while (p->s < p->end && *p->s >= '0' && *p->s <= '9') p->s++;
    if (p->s < p->end && *p->s == '.') {
        integral = false;
        p->s++;
        if (p->s >= p->end || !(*p->s >= '0' && *p->s <= '9')) return perr(p, "invalid number: digit expected after '.'");
        while (p->s < p->end && *p->s >= '0' && *p->s <= '9') p->s++;
    }
    if (p->s < p->end && (*p->s == 'e' || *p->s == 'E')) {
        integral = false;
        p->s++;
        if (p->s < p->end && (*p->s == '+' || *p->s == '-')) p->s++;
        if (p->s >= p->end || !(*p->s >= '0' && *p->s <= '9')) return perr(p, "invalid number: digit expected in exponent");
        while (p->s < p->end && *p->s >= '0' && *p->s <= '9') p->s++;
    }
    char buf[64];
    size_t n = (size_t)(p->s - st);
    char *tmp = n < sizeof buf ? buf : lmt_strndup(st, n);
    if (!tmp) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", p->source);
    if (tmp == buf) { memcpy(buf, st, n); buf[n] = '\0'; }
    j->type = LMT_JSON_NUMBER;
    j->num = strtod(tmp, NULL);
    if (integral) {
        errno = 0;
        long long v = strtoll(tmp, NULL, 10);
        if (errno == 0) { j->is_int = true; j->i64 = v; }
    }
    if (tmp != buf) free(tmp);
    return LMT_OK;
}

static lmt_status parse_value(parser *p, lmt_json *j, int depth);

static lmt_status grow_items(parser *p, lmt_json *j, size_t *cap, bool with_keys) {
    if (j->len < *cap) return LMT_OK;
    size_t nc = *cap ? *cap * 2 : 8;
    lmt_json *ni = realloc(j->items, nc * sizeof *ni);
    if (!ni) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory parsing JSON", p->source);
    j->items = ni;
    if (with_keys) {
        char **nk = realloc(j->keys, nc * sizeof *nk);
        if (!nk) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory parsing JSON", p->source);
        j->keys = nk;
        size_t *nl = realloc(j->key_lens, nc * sizeof *nl);
        if (!nl) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory parsing JSON", p->source);
        j->key_lens = nl;
    }
    *cap = nc;
    return LMT_OK;
}

static lmt_status parse_value(parser *p, lmt_json *j, int depth) {
    memset(j, 0, sizeof *j);
    if (depth > MAX_DEPTH) return perr(p, "nesting too deep");
    skip_ws(p);
    if (p->s >= p->end) return perr(p, "unexpected end of input");
    char c = *p->s;
    if (c == '{') {
        j->type = LMT_JSON_OBJECT;
        size_t cap = 0;
        p->s++;
        skip_ws(p);
        if (p->s < p->end && *p->s == '}') { p->s++; return LMT_OK; }
        for (;;) {
            skip_ws(p);
            if (p->s >= p->end || *p->s != '"') return perr(p, "expected a string key");
            LMT_TRY(grow_items(p, j, &cap, true));
            char *key;
            size_t klen;
            LMT_TRY(parse_string(p, &key, &klen));
            j->keys[j->len] = key;
            j->key_lens[j->len] = klen;
            memset(&j->items[j->len], 0, sizeof(lmt_json));
            j->len++;
            skip_ws(p);
            if (p->s >= p->end || *p->s != ':') return perr(p, "expected ':'");
            p->s++;
            LMT_TRY(parse_value(p, &j->items[j->len - 1], depth + 1));
            skip_ws(p);
            if (p->s < p->end && *p->s == ',') { p->s++; continue; }
            if (p->s < p->end && *p->s == '}') { p->s++; return LMT_OK; }
            return perr(p, "expected ',' or '}'");
        }
    }
    if (c == '[') {
        j->type = LMT_JSON_ARRAY;
        size_t cap = 0;
        p->s++;
        skip_ws(p);
        if (p->s < p->end && *p->s == ']') { p->s++; return LMT_OK; }
        for (;;) {
            LMT_TRY(grow_items(p, j, &cap, false));
            memset(&j->items[j->len], 0, sizeof(lmt_json));
            j->len++;
            LMT_TRY(parse_value(p, &j->items[j->len - 1], depth + 1));
            skip_ws(p);
            if (p->s < p->end && *p->s == ',') { p->s++; continue; }
            if (p->s < p->end && *p->s == ']') { p->s++; return LMT_OK; }
            return perr(p, "expected ',' or ']'");
        }
    }
    if (c == '"') {
        j->type = LMT_JSON_STRING;
        return parse_string(p, &j->str, &j->len);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number(p, j);
    size_t left = (size_t)(p->end - p->s);
    if (left >= 4 && memcmp(p->s, "true", 4) == 0) { p->s += 4; j->type = LMT_JSON_BOOL; j->boolean = true; return LMT_OK; }
    if (left >= 5 && memcmp(p->s, "false", 5) == 0) { p->s += 5; j->type = LMT_JSON_BOOL; return LMT_OK; }
    if (left >= 4 && memcmp(p->s, "null", 4) == 0) { p->s += 4; j->type = LMT_JSON_NULL; return LMT_OK; }
    if (left >= 3 && memcmp(p->s, "NaN", 3) == 0) { p->s += 3; j->type = LMT_JSON_NUMBER; j->num = NAN; return LMT_OK; }
    if (left >= 8 && memcmp(p->s, "Infinity", 8) == 0) return parse_number(p, j);
    return perr(p, "unexpected character");
}

static void free_value(lmt_json *j) {
    if (j->type == LMT_JSON_STRING) free(j->str);
    if (j->type == LMT_JSON_ARRAY || j->type == LMT_JSON_OBJECT) {
        for (size_t i = 0; i < j->len; i++) {
            free_value(&j->items[i]);
            if (j->keys) free(j->keys[i]);
        }
        free(j->items);
        free(j->keys);
        free(j->key_lens);
    }
}

void lmt_json_free(lmt_json *j) {
    if (!j) return;
    free_value(j);
    free(j);
}

lmt_status lmt_json_parse(const char *text, size_t len, const char *source, lmt_json **out) {
    *out = NULL;
    parser p = {text, text + len, text, source ? source : "<json>"};
    /* A UTF-8 BOM is tolerated, as Python's utf-8-sig readers do. */
    if (len >= 3 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB && (unsigned char)text[2] == 0xBF) p.s += 3;
    lmt_json *j = calloc(1, sizeof *j);
    if (!j) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", p.source);
    lmt_status s = parse_value(&p, j, 0);
    if (s == LMT_OK) {
        skip_ws(&p);
        if (p.s != p.end) s = perr(&p, "trailing characters after the JSON value");
    }
    if (s != LMT_OK) { lmt_json_free(j); return s; }
    *out = j;
    return LMT_OK;
}

lmt_status lmt_json_parse_file(const char *path, lmt_json **out) {
    char *data;
    size_t len;
    *out = NULL;
    LMT_TRY(lmt_read_file(path, &data, &len));
    lmt_status s = lmt_json_parse(data, len, path, out);
    free(data);
    return s;
}

const lmt_json *lmt_json_get(const lmt_json *j, const char *key) {
    if (!j || j->type != LMT_JSON_OBJECT) return NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < j->len; i++)
        if (j->key_lens[i] == kl && memcmp(j->keys[i], key, kl) == 0) return &j->items[i];
    return NULL;
}

const char *lmt_json_type_name(lmt_json_type t) {
    static const char *n[] = {"null", "boolean", "number", "string", "array", "object"};
    return (unsigned)t <= LMT_JSON_OBJECT ? n[t] : "?";
}

static lmt_status wrong_type(const char *source, const char *key, const char *want, const lmt_json *v) {
    return lmt_fail(LMT_ERR_FORMAT, "%s: field \"%s\" must be %s, found %s", source ? source : "<json>", key, want,
                    lmt_json_type_name(v->type));
}

lmt_status lmt_json_get_int(const lmt_json *obj, const char *key, int64_t def, const char *source, int64_t *out) {
    const lmt_json *v = lmt_json_get(obj, key);
    if (!v || v->type == LMT_JSON_NULL) { *out = def; return LMT_OK; }
    if (v->type != LMT_JSON_NUMBER || !v->is_int) return wrong_type(source, key, "an integer", v);
    *out = v->i64;
    return LMT_OK;
}

lmt_status lmt_json_get_num(const lmt_json *obj, const char *key, double def, const char *source, double *out) {
    const lmt_json *v = lmt_json_get(obj, key);
    if (!v || v->type == LMT_JSON_NULL) { *out = def; return LMT_OK; }
    if (v->type != LMT_JSON_NUMBER) return wrong_type(source, key, "a number", v);
    *out = v->num;
    return LMT_OK;
}

lmt_status lmt_json_get_bool(const lmt_json *obj, const char *key, bool def, const char *source, bool *out) {
    const lmt_json *v = lmt_json_get(obj, key);
    if (!v || v->type == LMT_JSON_NULL) { *out = def; return LMT_OK; }
    if (v->type != LMT_JSON_BOOL) return wrong_type(source, key, "true or false", v);
    *out = v->boolean;
    return LMT_OK;
}

lmt_status lmt_json_get_str(const lmt_json *obj, const char *key, const char *def, const char *source, const char **out) {
    const lmt_json *v = lmt_json_get(obj, key);
    if (!v || v->type == LMT_JSON_NULL) { *out = def; return LMT_OK; }
    if (v->type != LMT_JSON_STRING) return wrong_type(source, key, "a string", v);
    *out = v->str;
    return LMT_OK;
}

/* ---- writing ---- */
static unsigned decode_utf8(const unsigned char *s, size_t left, size_t *n) {
    unsigned c = s[0];
    size_t k = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    if (k > left) k = 1;
    if (k == 1) { *n = 1; return c; }
    unsigned cp = c & (0x7F >> k);
    for (size_t i = 1; i < k; i++) cp = (cp << 6) | (s[i] & 0x3F);
    *n = k;
    return cp;
}

void lmt_json_write_string(lmt_strbuf *b, const char *s, size_t len, bool ascii_only) {
    lmt_sb_putc(b, '"');
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
        char esc[16];
        switch (c) {
        case '"': lmt_sb_puts(b, "\\\""); i++; continue;
        case '\\': lmt_sb_puts(b, "\\\\"); i++; continue;
        case '\n': lmt_sb_puts(b, "\\n"); i++; continue;
        case '\r': lmt_sb_puts(b, "\\r"); i++; continue;
        case '\t': lmt_sb_puts(b, "\\t"); i++; continue;
        case '\b': lmt_sb_puts(b, "\\b"); i++; continue;
        case '\f': lmt_sb_puts(b, "\\f"); i++; continue;
        default: break;
        }
        if (c < 0x20 || (ascii_only && c == 0x7F)) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            lmt_sb_puts(b, esc);
            i++;
            continue;
        }
        /* a lone surrogate the parser kept (WTF-8: ED A0..BF xx) goes back
         * out as its escape: raw, the text would not be UTF-8 (found by
         * fuzz/fuzz_json.c) */
        if (c == 0xED && i + 2 < len && u[i + 1] >= 0xA0 && u[i + 1] <= 0xBF && (u[i + 2] & 0xC0) == 0x80) {
            snprintf(esc, sizeof esc, "\\u%04x", 0xD000u | ((u[i + 1] & 0x3Fu) << 6) | (u[i + 2] & 0x3Fu));
            lmt_sb_puts(b, esc);
            i += 3;
            continue;
        }
        if (c < 0x80 || !ascii_only) { lmt_sb_putc(b, (char)c); i++; continue; }
        size_t n;
        unsigned cp = decode_utf8(u + i, len - i, &n);
        i += n;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            snprintf(esc, sizeof esc, "\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
        } else {
            snprintf(esc, sizeof esc, "\\u%04x", cp);
        }
        lmt_sb_puts(b, esc);
    }
    lmt_sb_putc(b, '"');
}

/* Python's repr(float): the shortest digits that round-trip, fixed notation
 * for exponents in [-4, 16), "1e-05" style otherwise. */
void lmt_json_write_float_py(lmt_strbuf *b, double x) {
    if (isnan(x)) { lmt_sb_puts(b, "NaN"); return; }
    if (isinf(x)) { lmt_sb_puts(b, x < 0 ? "-Infinity" : "Infinity"); return; }
    char buf[64];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, x);
        if (strtod(buf, NULL) == x) break;
    }
    /* buf: [-]d[.ddd]e[+-]XX */
    char digits[32];
    int nd = 0, exp10;
    const char *q = buf;
    bool neg = false;
    if (*q == '-') { neg = true; q++; }
    for (; *q && *q != 'e'; q++) if (*q >= '0' && *q <= '9') digits[nd++] = *q;
    exp10 = atoi(q + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    if (neg) lmt_sb_putc(b, '-');
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 < 0) {
            lmt_sb_puts(b, "0.");
            for (int i = 0; i < -exp10 - 1; i++) lmt_sb_putc(b, '0');
            lmt_sb_append(b, digits, (size_t)nd);
        } else {
            for (int i = 0; i <= exp10; i++) lmt_sb_putc(b, i < nd ? digits[i] : '0');
            lmt_sb_putc(b, '.');
            if (nd > exp10 + 1) lmt_sb_append(b, digits + exp10 + 1, (size_t)(nd - exp10 - 1));
            else lmt_sb_putc(b, '0');
        }
    } else {
        lmt_sb_putc(b, digits[0]);
        if (nd > 1) { lmt_sb_putc(b, '.'); lmt_sb_append(b, digits + 1, (size_t)(nd - 1)); }
        lmt_sb_printf(b, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    }
}

static void newline_indent(lmt_strbuf *b, int indent, int level) {
    lmt_sb_putc(b, '\n');
    for (int i = 0; i < indent * level; i++) lmt_sb_putc(b, ' ');
}

static void write_value(lmt_strbuf *b, const lmt_json *j, int indent, int level) {
    switch (j->type) {
    case LMT_JSON_NULL: lmt_sb_puts(b, "null"); return;
    case LMT_JSON_BOOL: lmt_sb_puts(b, j->boolean ? "true" : "false"); return;
    case LMT_JSON_NUMBER:
        if (j->is_int) lmt_sb_printf(b, "%lld", (long long)j->i64);
        else lmt_json_write_float_py(b, j->num);
        return;
    case LMT_JSON_STRING: lmt_json_write_string(b, j->str, j->len, false); return;
    case LMT_JSON_ARRAY:
    case LMT_JSON_OBJECT: {
        bool obj = j->type == LMT_JSON_OBJECT;
        lmt_sb_putc(b, obj ? '{' : '[');
        for (size_t i = 0; i < j->len; i++) {
            if (i) lmt_sb_putc(b, ',');
            if (indent > 0) newline_indent(b, indent, level + 1);
            if (obj) {
                lmt_json_write_string(b, j->keys[i], j->key_lens[i], false);
                lmt_sb_puts(b, indent > 0 ? ": " : ":");
            }
            write_value(b, &j->items[i], indent, level + 1);
        }
        if (indent > 0 && j->len) newline_indent(b, indent, level);
        lmt_sb_putc(b, obj ? '}' : ']');
        return;
    }
    }
}

void lmt_json_write(lmt_strbuf *b, const lmt_json *j, int indent) { write_value(b, j, indent, 0); }

/* ---- building ---- */
lmt_json *lmt_json_new(lmt_json_type t) {
    lmt_json *j = calloc(1, sizeof *j);
    if (j) j->type = t;
    return j;
}

lmt_json *lmt_json_new_string(const char *s) {
    lmt_json *j = lmt_json_new(LMT_JSON_STRING);
    if (!j) return NULL;
    j->str = lmt_strdup(s);
    if (!j->str) { free(j); return NULL; }
    j->len = strlen(s);
    return j;
}

lmt_json *lmt_json_new_int(int64_t v) {
    lmt_json *j = lmt_json_new(LMT_JSON_NUMBER);
    if (j) { j->is_int = true; j->i64 = v; j->num = (double)v; }
    return j;
}

lmt_json *lmt_json_new_num(double v) {
    lmt_json *j = lmt_json_new(LMT_JSON_NUMBER);
    if (j) j->num = v;
    return j;
}

lmt_json *lmt_json_new_bool(bool v) {
    lmt_json *j = lmt_json_new(LMT_JSON_BOOL);
    if (j) j->boolean = v;
    return j;
}

static lmt_status append_item(lmt_json *c, char *key, lmt_json *v) {
    lmt_json *ni = realloc(c->items, (c->len + 1) * sizeof *ni);
    if (!ni) return LMT_ERR_NOMEM;
    c->items = ni;
    if (c->type == LMT_JSON_OBJECT) {
        char **nk = realloc(c->keys, (c->len + 1) * sizeof *nk);
        if (!nk) return LMT_ERR_NOMEM;
        c->keys = nk;
        size_t *nl = realloc(c->key_lens, (c->len + 1) * sizeof *nl);
        if (!nl) return LMT_ERR_NOMEM;
        c->key_lens = nl;
        c->keys[c->len] = key;
        c->key_lens[c->len] = strlen(key);
    }
    c->items[c->len++] = *v;
    free(v);
    return LMT_OK;
}

lmt_status lmt_json_array_push(lmt_json *arr, lmt_json *v) {
    if (!v) return lmt_fail(LMT_ERR_NOMEM, "out of memory building JSON");
    if (!arr || arr->type != LMT_JSON_ARRAY) { lmt_json_free(v); return lmt_fail(LMT_ERR_INTERNAL, "JSON push onto a non-array"); }
    if (append_item(arr, NULL, v) != LMT_OK) { lmt_json_free(v); return lmt_fail(LMT_ERR_NOMEM, "out of memory building JSON"); }
    return LMT_OK;
}

lmt_status lmt_json_object_set(lmt_json *obj, const char *key, lmt_json *v) {
    if (!v) return lmt_fail(LMT_ERR_NOMEM, "out of memory building JSON");
    if (!obj || obj->type != LMT_JSON_OBJECT) { lmt_json_free(v); return lmt_fail(LMT_ERR_INTERNAL, "JSON set on a non-object"); }
    size_t kl = strlen(key);
    for (size_t i = 0; i < obj->len; i++) {
        if (obj->key_lens[i] == kl && memcmp(obj->keys[i], key, kl) == 0) {
            free_value(&obj->items[i]);
            obj->items[i] = *v;
            free(v);
            return LMT_OK;
        }
    }
    char *k = lmt_strdup(key);
    if (!k || append_item(obj, k, v) != LMT_OK) { free(k); lmt_json_free(v); return lmt_fail(LMT_ERR_NOMEM, "out of memory building JSON"); }
    return LMT_OK;
}

static bool clone_into(lmt_json *dst, const lmt_json *src) {
    *dst = *src;
    dst->str = NULL; dst->items = NULL; dst->keys = NULL; dst->key_lens = NULL;
    if (src->type == LMT_JSON_STRING) {
        dst->str = lmt_strndup(src->str, src->len);
        return dst->str != NULL;
    }
    if (src->type != LMT_JSON_ARRAY && src->type != LMT_JSON_OBJECT) return true;
    dst->len = 0;
    if (src->len == 0) return true;
    dst->items = calloc(src->len, sizeof *dst->items);
    if (!dst->items) return false;
    if (src->type == LMT_JSON_OBJECT) {
        dst->keys = calloc(src->len, sizeof *dst->keys);
        dst->key_lens = calloc(src->len, sizeof *dst->key_lens);
        if (!dst->keys || !dst->key_lens) return false;
    }
    for (size_t i = 0; i < src->len; i++) {
        if (src->type == LMT_JSON_OBJECT) {
            dst->keys[i] = lmt_strndup(src->keys[i], src->key_lens[i]);
            dst->key_lens[i] = src->key_lens[i];
            if (!dst->keys[i]) return false;
        }
        dst->len = i + 1;
        if (!clone_into(&dst->items[i], &src->items[i])) return false;
    }
    return true;
}

lmt_json *lmt_json_clone(const lmt_json *j) {
    lmt_json *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (!clone_into(c, j)) { lmt_json_free(c); return NULL; }
    return c;
}

/* ---- Python-compatible output ---- */
static int cmp_key_idx(const void *a, const void *b, void *ctx) {
    const lmt_json *j = ctx;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    size_t la = j->key_lens[ia], lb = j->key_lens[ib];
    int c = memcmp(j->keys[ia], j->keys[ib], la < lb ? la : lb);
    return c ? c : (la < lb ? -1 : la > lb);
}

static void write_py(lmt_strbuf *b, const lmt_json *j, int indent, bool sort, int level) {
    if (j->type == LMT_JSON_STRING) { lmt_json_write_string(b, j->str, j->len, true); return; }
    if ((j->type != LMT_JSON_ARRAY && j->type != LMT_JSON_OBJECT) || j->len == 0) { write_value(b, j, indent, level); return; }
    bool obj = j->type == LMT_JSON_OBJECT;
    size_t *idx = malloc(j->len * sizeof *idx);
    if (!idx) { b->oom = true; return; }
    for (size_t i = 0; i < j->len; i++) idx[i] = i;
    /* sort_keys compares code points; for UTF-8 that is byte order */
    if (obj && sort) qsort_r(idx, j->len, sizeof *idx, cmp_key_idx, (void *)j);
    lmt_sb_putc(b, obj ? '{' : '[');
    for (size_t n = 0; n < j->len; n++) {
        size_t i = idx[n];
        if (n) lmt_sb_puts(b, indent > 0 ? "," : ", ");
        if (indent > 0) newline_indent(b, indent, level + 1);
        if (obj) {
            lmt_json_write_string(b, j->keys[i], j->key_lens[i], true);
            lmt_sb_puts(b, ": ");
        }
        write_py(b, &j->items[i], indent, sort, level + 1);
    }
    free(idx);
    if (indent > 0) newline_indent(b, indent, level);
    lmt_sb_putc(b, obj ? '}' : ']');
}

void lmt_json_write_py(lmt_strbuf *b, const lmt_json *j, int indent, bool sort_keys) {
    write_py(b, j, indent, sort_keys, 0);
}
