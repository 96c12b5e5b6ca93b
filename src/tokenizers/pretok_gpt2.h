/* GPT-2's pre-tokenizer: the split of
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * hand-coded over Unicode classes (utf8proc), with the regex's leftmost,
 * first-alternative semantics. */
#ifndef LMT_TOK_PRETOK_GPT2_H
#define LMT_TOK_PRETOK_GPT2_H
#include <stddef.h>
#include <stdint.h>

typedef struct lmt_span { uint32_t start, end; } lmt_span;  /* byte offsets */

typedef struct lmt_spans { lmt_span *v; size_t n, cap; } lmt_spans;

/* Appends the pieces of text[0..n) (valid UTF-8), offset by `base`.
 * Returns 0, or -1 on allocation failure. */
int lmt_pretok_gpt2(const char *text, size_t n, uint32_t base, lmt_spans *out);
int lmt_spans_push(lmt_spans *s, uint32_t start, uint32_t end);
/* The classes the hand-coded patterns use: \p{L}, \p{N}, U+0020, other
 * White_Space (Oniguruma's \s), the rest. */
enum { C_LETTER, C_NUMBER, C_SPACE, C_WS, C_OTHER };
int lmt_pretok_char_class(uint32_t c);
#endif
