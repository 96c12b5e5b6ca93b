#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "tokenizers/utf8.h"

bool lmt_unicode_is_word(uint32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (c == 0x200C || c == 0x200D) return true;
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_PC:
        return true;
    default:
        return false;
    }
}

uint32_t lmt_utf8_decode_before(const unsigned char *s, size_t end, size_t *len) {
    size_t b = end - 1;
    while (b > 0 && (s[b] & 0xC0) == 0x80 && end - b < 4) b--;
    return lmt_utf8_decode(s + b, end - b, len);
}

size_t lmt_utf8_encode(uint32_t cp, char *o) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) { o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F)); return 3; }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Well-formed sequences (Unicode Table 3-7): returns how many bytes of s
 * form a valid sequence (0 if the lead byte is invalid) and, via *prefix,
 * the length of the maximal valid prefix when the sequence is cut short. */
static size_t seq_len(const unsigned char *s, size_t n, size_t *prefix) {
    unsigned c = s[0];
    *prefix = 0;
    if (c < 0x80) return 1;
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c == 0xE0) { need = 2; lo = 0xA0; }
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) need = 2;
    else if (c == 0xED) { need = 2; hi = 0x9F; }
    else if (c == 0xF0) { need = 3; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) need = 3;
    else if (c == 0xF4) { need = 3; hi = 0x8F; }
    else return 0;
    for (size_t k = 1; k <= need; k++) {
        if (k >= n || s[k] < lo || s[k] > hi) { *prefix = k; return 0; }
        lo = 0x80;
        hi = 0xBF;
    }
    return need + 1;
}

size_t lmt_utf8_valid_prefix(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) { i++; continue; }
        size_t p, l = seq_len(s + i, n - i, &p);
        if (!l) return i;
        i += l;
    }
    return n;
}

char *lmt_utf8_repair(const char *str, size_t n, size_t *out_len) {
    size_t ok = lmt_utf8_valid_prefix(str, n);
    if (ok == n) return NULL;
    const unsigned char *s = (const unsigned char *)str;
    char *out = malloc(n * 3 + 1);   /* each bad byte becomes at most 3 bytes */
    if (!out) return NULL;
    memcpy(out, str, ok);
    size_t o = ok, i = ok;
    while (i < n) {
        if (s[i] < 0x80) { out[o++] = (char)s[i++]; continue; }
        size_t p, l = seq_len(s + i, n - i, &p);
        if (l) { memcpy(out + o, s + i, l); o += l; i += l; continue; }
        out[o++] = (char)0xEF; out[o++] = (char)0xBF; out[o++] = (char)0xBD;
        i += p ? p : 1;
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}
