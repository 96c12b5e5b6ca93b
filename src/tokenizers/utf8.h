/* UTF-8 helpers for the tokenizers: decoding, validation with Python's
 * error='replace' repair, and byte -> character index maps for offsets. */
#ifndef LMT_TOK_UTF8_H
#define LMT_TOK_UTF8_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Decodes the code point at s[0..n) (which must be valid UTF-8); sets *len. */
static inline uint32_t lmt_utf8_decode(const unsigned char *s, size_t n, size_t *len) {
    unsigned c = s[0];
    if (c < 0x80 || n < 2) { *len = 1; return c; }
    if (c < 0xE0) { *len = 2; return ((c & 0x1Fu) << 6) | (s[1] & 0x3Fu); }
    if (c < 0xF0 || n < 4) { *len = 3; return ((c & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu); }
    *len = 4;
    return ((c & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
}

/* Encodes cp into out (at least 4 bytes); returns the byte count. */
size_t lmt_utf8_encode(uint32_t cp, char *out);
/* Length of the longest valid prefix of s. */
size_t lmt_utf8_valid_prefix(const char *s, size_t n);
/* Replaces each maximal ill-formed subsequence with U+FFFD, exactly as
 * Python's bytes.decode("utf-8", errors="replace") (and Rust's
 * from_utf8_lossy) do. Returns NULL when s is already valid (no copy);
 * otherwise a new NUL-terminated buffer (caller frees) and *out_len. */
char *lmt_utf8_repair(const char *s, size_t n, size_t *out_len);

/* Unicode White_Space (what \s means to Oniguruma and Rust's regex and
 * char::is_whitespace). */
static inline bool lmt_unicode_is_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}
/* Rust regex's Unicode \w: letters, marks, decimal and letter numbers,
 * connector punctuation, ZWNJ/ZWJ. */
bool lmt_unicode_is_word(uint32_t c);
/* The code point that ends at s[end) (s valid UTF-8, end > 0). */
uint32_t lmt_utf8_decode_before(const unsigned char *s, size_t end, size_t *len);
#endif
