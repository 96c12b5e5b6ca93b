/* Text helpers shared by the loaders: strict UTF-8 checking (what Python's
 * "utf-8" codec rejects), Python's str.isspace/strip, and line iteration
 * with Python's universal newlines. */
#ifndef LMT_DATA_TEXT_UTIL_H
#define LMT_DATA_TEXT_UTIL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lmtune/lmtune.h"

/* Offset of the first byte that is not valid UTF-8 (overlongs, surrogates
 * and code points above U+10FFFF are invalid), or n when all is valid. */
size_t lmt_data_utf8_invalid_at(const char *s, size_t n);
/* Fails with "path: line L, column C: invalid UTF-8 (byte 0xXX)" when s is
 * not valid; line_base is the line number of s[0]. */
lmt_status lmt_data_check_utf8(const char *path, const char *s, size_t n, int64_t line_base);
/* Python's str.strip(): the [*b, *e) range without leading/trailing Python
 * whitespace (s valid UTF-8). */
void lmt_data_py_strip(const char *s, size_t n, size_t *b, size_t *e);

/* Universal-newline lines of a buffer: "\r\n", "\r" and "\n" each end a line.
 * Each line is returned without its terminator; has_nl says whether one
 * ended it (the last line of a file may have none). */
typedef struct lmt_line_iter { const char *p, *end; int64_t line; } lmt_line_iter;
static inline void lmt_line_iter_init(lmt_line_iter *it, const char *s, size_t n) {
    it->p = s; it->end = s + n; it->line = 0;
}
bool lmt_line_next(lmt_line_iter *it, const char **line, size_t *len, bool *has_nl);
#endif
