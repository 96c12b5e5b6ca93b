/* Strict UTF-8, Python whitespace and universal-newline lines. */
#include <string.h>
#include "core/error.h"
#include "data/text_util.h"

size_t lmt_data_utf8_invalid_at(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t len;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c >= 0xE0 && c <= 0xEF) { len = 3; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
        else if (c >= 0xF0 && c <= 0xF4) { len = 4; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
        else return i;
        if (n - i < len) return i;
        if (s[i + 1] < lo || s[i + 1] > hi) return i;
        for (size_t k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
        i += len;
    }
    return n;
}

lmt_status lmt_data_check_utf8(const char *path, const char *s, size_t n, int64_t line_base) {
    size_t bad = lmt_data_utf8_invalid_at(s, n);
    if (bad == n) return LMT_OK;
    int64_t line = line_base;
    size_t col0 = 0;
    for (size_t i = 0; i < bad; i++)
        if (s[i] == '\n' || (s[i] == '\r' && (i + 1 >= n || s[i + 1] != '\n'))) { line++; col0 = i + 1; }
    return lmt_fail(LMT_ERR_FORMAT, "%s: line %lld, byte %zu: invalid UTF-8 (byte 0x%02X)", path, (long long)line,
                    bad - col0 + 1, (unsigned char)s[bad]);
}

/* Python's str.isspace(): bidi classes WS, B, S and category Zs. */
static bool py_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static uint32_t decode_at(const unsigned char *s, size_t n, size_t i, size_t *len) {
    unsigned c = s[i];
    if (c < 0x80) { *len = 1; return c; }
    if (c < 0xE0 && i + 1 < n) { *len = 2; return ((c & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu); }
    if (c < 0xF0 && i + 2 < n) { *len = 3; return ((c & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu); }
    if (i + 3 < n) {
        *len = 4;
        return ((c & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12) | ((s[i + 2] & 0x3Fu) << 6) | (s[i + 3] & 0x3Fu);
    }
    *len = 1;
    return 0xFFFD;
}

void lmt_data_py_strip(const char *str, size_t n, size_t *b, size_t *e) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, last_end = 0, len;
    bool any = false;
    size_t first = n;
    while (i < n) {
        uint32_t c = decode_at(s, n, i, &len);
        if (!py_space(c)) {
            if (!any) { first = i; any = true; }
            last_end = i + len;
        }
        i += len;
    }
    if (!any) { *b = *e = 0; return; }
    *b = first;
    *e = last_end;
}

bool lmt_line_next(lmt_line_iter *it, const char **line, size_t *len, bool *has_nl) {
    if (it->p >= it->end) return false;
    const char *s = it->p, *q = s;
    while (q < it->end && *q != '\n' && *q != '\r') q++;
    *line = s;
    *len = (size_t)(q - s);
    *has_nl = q < it->end;
    if (q < it->end) q += (*q == '\r' && q + 1 < it->end && q[1] == '\n') ? 2 : 1;
    it->p = q;
    it->line++;
    return true;
}
