/* Llama-3's and Qwen2's Split patterns hand-coded (the same leftmost,
 * first-alternative semantics as Oniguruma, a few times faster):
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *    ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * (Qwen2: \p{N} alone). Every position starts a match, so a find is a
 * match at the current position. */
#include <string.h>
#include "tokenizers/pretok_gpt2.h"
#include "tokenizers/tok_pipeline.h"
#include "tokenizers/utf8.h"

const char lmt_llama3_pattern[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char lmt_qwen2_pattern[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static inline uint32_t at(const unsigned char *s, size_t n, size_t i, size_t *l) { return lmt_utf8_decode(s + i, n - i, l); }
static inline bool is_ws(int k) { return k == C_SPACE || k == C_WS; }

/* ASCII case folding plus U+017F (long s folds to s under (?i)) */
static uint32_t fold(uint32_t c) {
    if (c >= 'A' && c <= 'Z') return c + 32;
    if (c == 0x17F) return 's';
    return c;
}

size_t lmt_pretok_llama3_match(const unsigned char *s, size_t n, size_t i, int max_digits) {
    size_t l0, l1, l2;
    uint32_t c0 = at(s, n, i, &l0);
    int k0 = lmt_pretok_char_class(c0);
    /* 1: contractions */
    if (c0 == '\'' && i + 1 < n) {
        uint32_t c1 = fold(at(s, n, i + 1, &l1));
        if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return i + 1 + l1;
        if ((c1 == 'r' || c1 == 'v' || c1 == 'l') && i + 1 + l1 < n) {
            uint32_t c2 = fold(at(s, n, i + 1 + l1, &l2));
            if (((c1 == 'r' || c1 == 'v') && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return i + 1 + l1 + l2;
        }
    }
    /* 2: one optional non-letter, non-number, non-CR/LF, then letters */
    size_t j = i;
    if (k0 != C_LETTER && k0 != C_NUMBER && c0 != '\r' && c0 != '\n' && i + l0 < n &&
        lmt_pretok_char_class(at(s, n, i + l0, &l1)) == C_LETTER)
        j = i + l0;
    if (lmt_pretok_char_class(at(s, n, j, &l1)) == C_LETTER) {
        while (j < n && lmt_pretok_char_class(at(s, n, j, &l1)) == C_LETTER) j += l1;
        return j;
    }
    /* 3: numbers */
    if (k0 == C_NUMBER) {
        j = i;
        for (int d = 0; d < max_digits && j < n && lmt_pretok_char_class(at(s, n, j, &l1)) == C_NUMBER; d++) j += l1;
        return j;
    }
    /* 4: an optional space, others, then CR/LF */
    j = c0 == ' ' ? i + 1 : i;
    if (j < n && lmt_pretok_char_class(at(s, n, j, &l1)) == C_OTHER) {
        while (j < n && lmt_pretok_char_class(at(s, n, j, &l1)) == C_OTHER) j += l1;
        while (j < n && (s[j] == '\r' || s[j] == '\n')) j++;
        return j;
    }
    /* c0 is whitespace from here on: its maximal run [i, e) */
    size_t e = i, last_nl = 0, last_start = i;
    bool nl = false;
    while (e < n) {
        uint32_t c = at(s, n, e, &l1);
        if (!is_ws(lmt_pretok_char_class(c))) break;
        if (c == '\r' || c == '\n') { nl = true; last_nl = e + 1; }
        last_start = e;
        e += l1;
    }
    /* 5: \s*[\r\n]+ - up to the run's last CR/LF */
    if (nl) return last_nl;
    /* 6: \s+(?!\S) - the run, or all of it but its last character */
    if (e == n) return e;
    if (last_start > i) return last_start;
    /* 7: \s+ */
    return e;
}
