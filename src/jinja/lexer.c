/* Template source -> tokens, as jinja2's lexer does with transformers'
 * settings: trim_blocks (a block or comment tag eats one newline after it),
 * lstrip_blocks (spaces and tabs before a block or comment tag on its own
 * line go), "-" / "+" whitespace control, and keep_trailing_newline=False
 * (one final newline of the source is dropped; "\r\n" and "\r" read as "\n"). */
#include <stdlib.h>
#include <string.h>
#include "jinja/internal.h"
#include "core/error.h"

typedef struct {
    const char *src;
    size_t len, pos;
    const char *source;
    jarena *a;
    jvec toks;
    size_t last_at;               /* pos_of's resume point */
    int last_line, last_col;
} lexer;

/* line and column (code points, 1-based) of src[at]; tokens come in order,
 * so the scan resumes from the last position asked for */
static void pos_of(lexer *L, size_t at, int *line, int *col) {
    if (at < L->last_at) { L->last_at = 0; L->last_line = 1; L->last_col = 0; }
    for (size_t i = L->last_at; i < at && i < L->len; i++) {
        if (L->src[i] == '\n') { L->last_line++; L->last_col = 0; }
        else if (((unsigned char)L->src[i] & 0xC0) != 0x80) L->last_col++;
    }
    L->last_at = at;
    *line = L->last_line;
    *col = L->last_col + 1;
}

static lmt_status lerr(lexer *L, size_t at, const char *what) {
    int line, col;
    pos_of(L, at, &line, &col);
    return lmt_fail(LMT_ERR_FORMAT, "%s: line %d, column %d: %s", L->source, line, col, what);
}

static lmt_status emit(lexer *L, jtok_type t, const char *s, size_t len, size_t at) {
    jtok *k = ja_alloc(L->a, sizeof *k);
    if (!k || !jvec_push(&L->toks, k)) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", L->source);
    k->t = t;
    k->s = s;
    k->len = len;
    pos_of(L, at, &k->line, &k->col);
    return LMT_OK;
}

static bool ws_at(const char *s, size_t len, size_t *n) { return py_isspace(s, len, n); }

/* length of text after stripping trailing whitespace (Python rstrip) */
static size_t rstrip_len(const char *s, size_t len) {
    size_t end = len, i = 0, last_non_ws = 0;
    while (i < end) {
        size_t n;
        bool w = ws_at(s + i, end - i, &n);
        i += n;
        if (!w) last_non_ws = i;
    }
    return last_non_ws;
}

static size_t skip_ws(const char *s, size_t len, size_t i) {
    while (i < len) {
        size_t n;
        if (!ws_at(s + i, len - i, &n)) break;
        i += n;
    }
    return i;
}

static int hexv(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void put_cp(lmt_strbuf *b, unsigned cp) {
    char u[4];
    if (cp < 0x80) { lmt_sb_putc(b, (char)cp); return; }
    if (cp < 0x800) { u[0] = (char)(0xC0 | cp >> 6); u[1] = (char)(0x80 | (cp & 0x3F)); lmt_sb_append(b, u, 2); return; }
    if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12); u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[2] = (char)(0x80 | (cp & 0x3F));
        lmt_sb_append(b, u, 3);
        return;
    }
    u[0] = (char)(0xF0 | cp >> 18); u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F));
    lmt_sb_append(b, u, 4);
}

/* a string literal at L->pos (the quote); Python's unicode-escape decoding */
static lmt_status lex_string(lexer *L) {
    size_t start = L->pos;
    char q = L->src[L->pos++];
    lmt_strbuf b;
    lmt_sb_init(&b);
    while (L->pos < L->len && L->src[L->pos] != q) {
        char c = L->src[L->pos];
        if (c != '\\' || L->pos + 1 >= L->len) { lmt_sb_putc(&b, c); L->pos++; continue; }
        char e = L->src[L->pos + 1];
        L->pos += 2;
        int digits = 0;
        switch (e) {
        case 'n': lmt_sb_putc(&b, '\n'); break;
        case 't': lmt_sb_putc(&b, '\t'); break;
        case 'r': lmt_sb_putc(&b, '\r'); break;
        case 'a': lmt_sb_putc(&b, '\a'); break;
        case 'b': lmt_sb_putc(&b, '\b'); break;
        case 'f': lmt_sb_putc(&b, '\f'); break;
        case 'v': lmt_sb_putc(&b, '\v'); break;
        case '\\': lmt_sb_putc(&b, '\\'); break;
        case '\'': lmt_sb_putc(&b, '\''); break;
        case '"': lmt_sb_putc(&b, '"'); break;
        case '\n': break;
        case 'x': digits = 2; break;
        case 'u': digits = 4; break;
        case 'U': digits = 8; break;
        default:
            if (e >= '0' && e <= '7') {
                unsigned v = (unsigned)(e - '0');
                for (int k = 0; k < 2 && L->pos < L->len && L->src[L->pos] >= '0' && L->src[L->pos] <= '7'; k++)
                    v = v * 8 + (unsigned)(L->src[L->pos++] - '0');
                put_cp(&b, v);
            } else {
                lmt_sb_putc(&b, '\\');
                lmt_sb_putc(&b, e);
            }
        }
        if (digits) {
            unsigned v = 0;
            for (int k = 0; k < digits; k++) {
                int h = L->pos < L->len ? hexv(L->src[L->pos]) : -1;
                if (h < 0) { lmt_sb_free(&b); return lerr(L, start, "truncated \\x, \\u or \\U escape in a string"); }
                v = v * 16 + (unsigned)h;
                L->pos++;
            }
            put_cp(&b, v);
        }
    }
    if (L->pos >= L->len) { lmt_sb_free(&b); return lerr(L, start, "unterminated string"); }
    L->pos++;
    char *s = ja_strndup(L->a, b.data ? b.data : "", b.len);
    size_t n = b.len;
    lmt_sb_free(&b);
    if (!s) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", L->source);
    return emit(L, T_STRING, s, n, start);
}

static const char *const ops2[] = {"//", "**", "==", "!=", ">=", "<="};
static const char ops1[] = "+-*/%~<>=.,:|()[]{}";

/* the tokens of one {{ }} or {% %} tag; L->pos is past its opening */
static lmt_status lex_tag(lexer *L, bool block, size_t open_at, bool *ate_newline) {
    const char close = block ? '%' : '}';
    int depth = 0;
    for (;;) {
        while (L->pos < L->len && (L->src[L->pos] == ' ' || L->src[L->pos] == '\t' || L->src[L->pos] == '\n' ||
                                   L->src[L->pos] == '\r'))
            L->pos++;
        if (L->pos >= L->len) return lerr(L, open_at, block ? "unclosed block tag: no '%}'" : "unclosed '{{': no '}}'");
        const char *p = L->src + L->pos;
        size_t left = L->len - L->pos;
        /* the end of the tag: "-%}" strips the whitespace after, "%}" (block) eats one newline */
        if (depth == 0) {
            bool minus = left >= 3 && p[0] == '-' && p[1] == close && p[2] == '}';
            bool plus = block && left >= 3 && p[0] == '+' && p[1] == close && p[2] == '}';
            bool plain = left >= 2 && p[0] == close && p[1] == '}';
            if (minus || plus || plain) {
                LMT_TRY(emit(L, block ? T_BLOCK_END : T_VAR_END, NULL, 0, L->pos));
                L->pos += plain ? 2 : 3;
                *ate_newline = false;
                if (minus) {
                    size_t e = skip_ws(L->src, L->len, L->pos);
                    *ate_newline = e > L->pos && L->src[e - 1] == '\n';
                    L->pos = e;
                } else if (plain && block && L->pos < L->len && L->src[L->pos] == '\n') {
                    L->pos++;
                    *ate_newline = true;
                }
                return LMT_OK;
            }
        }
        char c = *p;
        if (c == '"' || c == '\'') { LMT_TRY(lex_string(L)); continue; }
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
            size_t s = L->pos;
            while (L->pos < L->len && ((L->src[L->pos] >= 'a' && L->src[L->pos] <= 'z') ||
                                       (L->src[L->pos] >= 'A' && L->src[L->pos] <= 'Z') ||
                                       (L->src[L->pos] >= '0' && L->src[L->pos] <= '9') || L->src[L->pos] == '_'))
                L->pos++;
            LMT_TRY(emit(L, T_NAME, L->src + s, L->pos - s, s));
            continue;
        }
        if (c >= '0' && c <= '9') {
            size_t s = L->pos;
            bool is_float = false;
            while (L->pos < L->len && ((L->src[L->pos] >= '0' && L->src[L->pos] <= '9') || L->src[L->pos] == '_')) L->pos++;
            if (L->pos + 1 < L->len && L->src[L->pos] == '.' && L->src[L->pos + 1] >= '0' && L->src[L->pos + 1] <= '9') {
                is_float = true;
                L->pos++;
                while (L->pos < L->len && ((L->src[L->pos] >= '0' && L->src[L->pos] <= '9') || L->src[L->pos] == '_')) L->pos++;
            }
            if (L->pos < L->len && (L->src[L->pos] == 'e' || L->src[L->pos] == 'E')) {
                size_t q = L->pos + 1;
                if (q < L->len && (L->src[q] == '+' || L->src[q] == '-')) q++;
                if (q < L->len && L->src[q] >= '0' && L->src[q] <= '9') {
                    is_float = true;
                    L->pos = q;
                    while (L->pos < L->len && L->src[L->pos] >= '0' && L->src[L->pos] <= '9') L->pos++;
                }
            }
            char buf[128];
            size_t k = 0;
            for (size_t i = s; i < L->pos && k + 1 < sizeof buf; i++)
                if (L->src[i] != '_') buf[k++] = L->src[i];
            buf[k] = 0;
            LMT_TRY(emit(L, is_float ? T_FLOAT : T_INT, L->src + s, L->pos - s, s));
            jtok *t = L->toks.p[L->toks.n - 1];
            if (is_float) t->f = strtod(buf, NULL);
            else t->i = strtoll(buf, NULL, 10);
            continue;
        }
        size_t oplen = 0;
        for (size_t i = 0; i < sizeof ops2 / sizeof *ops2; i++)
            if (left >= 2 && p[0] == ops2[i][0] && p[1] == ops2[i][1]) oplen = 2;
        if (!oplen && strchr(ops1, c)) oplen = 1;
        if (!oplen) return lerr(L, L->pos, "unexpected character in a tag");
        if (c == '(' || c == '[' || c == '{') depth++;
        if ((c == ')' || c == ']' || c == '}') && depth > 0) depth--;
        LMT_TRY(emit(L, T_OP, L->src + L->pos, oplen, L->pos));
        L->pos += oplen;
    }
}

lmt_status jinja_lex(const char *src0, size_t len0, const char *source, jarena *a, jtok **toks_out, size_t *n_out) {
    /* normalise newlines and drop one trailing newline */
    char *src = ja_alloc(a, len0 + 1);
    if (!src) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", source);
    size_t len = 0;
    for (size_t i = 0; i < len0; i++) {
        if (src0[i] == '\r') {
            src[len++] = '\n';
            if (i + 1 < len0 && src0[i + 1] == '\n') i++;
        } else {
            src[len++] = src0[i];
        }
    }
    if (len && src[len - 1] == '\n') len--;
    src[len] = 0;
    lexer L = {.src = src, .len = len, .source = source, .a = a, .last_line = 1};
    bool line_starting = true;
    lmt_status st = LMT_OK;
    while (L.pos < len && st == LMT_OK) {
        const char *open = NULL;
        for (size_t i = L.pos; i + 1 < len; i++)
            if (src[i] == '{' && (src[i + 1] == '{' || src[i + 1] == '%' || src[i + 1] == '#')) { open = src + i; break; }
        size_t text_end = open ? (size_t)(open - src) : len;
        size_t tlen = text_end - L.pos;
        const char *text = src + L.pos;
        if (open) {
            char kind = open[1];
            char sign = text_end + 2 < len ? open[2] : 0;
            if (sign == '-') {
                tlen = rstrip_len(text, tlen);
            } else if (sign != '+' && kind != '{') {   /* lstrip_blocks */
                size_t l_pos = 0;
                for (size_t i = tlen; i > 0; i--)
                    if (text[i - 1] == '\n') { l_pos = i; break; }
                if ((l_pos > 0 || line_starting) && l_pos < tlen) {
                    bool all_ws = true;
                    for (size_t i = l_pos; i < tlen;) {
                        size_t n;
                        if (!ws_at(text + i, tlen - i, &n)) { all_ws = false; break; }
                        i += n;
                    }
                    if (all_ws) tlen = l_pos;
                }
            }
        }
        if (tlen) {
            char *t = ja_strndup(a, text, tlen);
            st = t ? emit(&L, T_TEXT, t, tlen, L.pos) : lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", source);
            if (st) break;
        }
        if (!open) { L.pos = len; break; }
        size_t open_at = text_end;
        char kind = open[1];
        L.pos = text_end + 2;
        if (L.pos < len && (src[L.pos] == '-' || src[L.pos] == '+')) L.pos++;
        bool ate_newline = false;
        if (kind == '#') {
            const char *end = NULL;
            for (size_t i = L.pos; i + 1 < len; i++)
                if (src[i] == '#' && src[i + 1] == '}') { end = src + i; break; }
            if (!end) { st = lerr(&L, open_at, "unclosed comment: no '#}'"); break; }
            size_t e = (size_t)(end - src);
            bool minus = e > L.pos && src[e - 1] == '-';
            bool plus = e > L.pos && src[e - 1] == '+';
            L.pos = e + 2;
            if (minus) {
                size_t q = skip_ws(src, len, L.pos);
                ate_newline = q > L.pos && src[q - 1] == '\n';
                L.pos = q;
            } else if (!plus && L.pos < len && src[L.pos] == '\n') {
                L.pos++;
                ate_newline = true;
            }
        } else {
            st = emit(&L, kind == '%' ? T_BLOCK_BEGIN : T_VAR_BEGIN, NULL, 0, open_at);
            if (st) break;
            st = lex_tag(&L, kind == '%', open_at, &ate_newline);
        }
        line_starting = ate_newline;
    }
    if (st == LMT_OK) st = emit(&L, T_EOF, NULL, 0, len);
    if (st != LMT_OK) { free(L.toks.p); return st; }
    size_t n;
    void **p = jvec_finish(&L.toks, a, &n);
    if (!p) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", source);
    jtok *arr = ja_alloc(a, n * sizeof *arr);
    if (!arr) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", source);
    for (size_t i = 0; i < n; i++) arr[i] = *(jtok *)p[i];
    *toks_out = arr;
    *n_out = n;
    return LMT_OK;
}
