#include <stdlib.h>
#include <utf8proc.h>
#include "tokenizers/pretok_gpt2.h"
#include "tokenizers/utf8.h"


static int is_white_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* The ASCII classes as a constant: a table filled on first use raced when
 * encode.c's threads met it first together. */
enum { L = C_LETTER, N = C_NUMBER, S = C_SPACE, W = C_WS, O = C_OTHER };
static const unsigned char ascii_class[128] = {
    O, O, O, O, O, O, O, O, O, W, W, W, W, W, O, O,
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,
    S, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,
    N, N, N, N, N, N, N, N, N, N, O, O, O, O, O, O,
    O, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L,
    L, L, L, L, L, L, L, L, L, L, L, O, O, O, O, O,
    O, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L,
    L, L, L, L, L, L, L, L, L, L, L, O, O, O, O, O,
};

int lmt_pretok_char_class(uint32_t c) {
    if (c < 128) return ascii_class[c];
    if (is_white_space(c)) return C_WS;
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
        return C_LETTER;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return C_NUMBER;
    default:
        return C_OTHER;
    }
}

int lmt_spans_push(lmt_spans *s, uint32_t start, uint32_t end) {
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        lmt_span *nv = realloc(s->v, nc * sizeof *nv);
        if (!nv) return -1;
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n].start = start;
    s->v[s->n].end = end;
    s->n++;
    return 0;
}

static inline int is_ws_class(int k) { return k == C_SPACE || k == C_WS; }

int lmt_pretok_gpt2(const char *text, size_t n, uint32_t base, lmt_spans *out) {
    const unsigned char *s = (const unsigned char *)text;
    /* classes of each character, decoded once */
    size_t cap = n + 1, nc = 0;
    uint32_t stack_pos[256];
    unsigned char stack_cls[256];
    uint32_t *pos = cap <= 256 ? stack_pos : malloc(cap * sizeof *pos);
    unsigned char *cls = cap <= 256 ? stack_cls : malloc(cap);
    if (!pos || !cls) { if (pos != stack_pos) free(pos); if (cls != stack_cls) free(cls); return -1; }
    for (size_t i = 0; i < n;) {
        size_t l;
        uint32_t cp = s[i] < 0x80 ? (l = 1, s[i]) : lmt_utf8_decode(s + i, n - i, &l);
        pos[nc] = (uint32_t)i;
        cls[nc] = (unsigned char)lmt_pretok_char_class(cp);
        nc++;
        i += l;
    }
    pos[nc] = (uint32_t)n;
    int rc = 0;
    size_t i = 0;
    while (i < nc && rc == 0) {
        size_t j;
        unsigned char c = s[pos[i]];
        /* 's 't 're 've 'm 'll 'd */
        if (c == '\'' && i + 1 < nc) {
            unsigned char a = s[pos[i + 1]], b = i + 2 < nc ? s[pos[i + 2]] : 0;
            size_t m = 0;
            if (a == 's' || a == 't' || a == 'm' || a == 'd') m = 2;
            else if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) m = 3;
            if (m) { rc = lmt_spans_push(out, base + pos[i], base + pos[i + m]); i += m; continue; }
        }
        int k = cls[i];
        /* ' ?X+' for letters, numbers, and other (non-space) characters */
        size_t start = i;
        int want = -1;
        if (k == C_SPACE && i + 1 < nc && !is_ws_class(cls[i + 1])) { want = cls[i + 1]; j = i + 1; }
        else if (!is_ws_class(k)) { want = k; j = i; }
        if (want >= 0) {
            while (j < nc && cls[j] == want) j++;
            rc = lmt_spans_push(out, base + pos[start], base + pos[j]);
            i = j;
            continue;
        }
        /* whitespace run: \s+(?!\S) leaves the last space for the next word */
        j = i;
        while (j < nc && is_ws_class(cls[j])) j++;
        if (j < nc && j - i >= 2) j--;
        rc = lmt_spans_push(out, base + pos[i], base + pos[j]);
        i = j;
    }
    if (pos != stack_pos) free(pos);
    if (cls != stack_cls) free(cls);
    return rc;
}
