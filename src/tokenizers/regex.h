/* The regex engine of tokenizer.json's Split pre-tokenizer and Replace
 * normalizer: Oniguruma, as HF tokenizers (onig crate: Ruby syntax, UTF-8). */
#ifndef LMT_TOK_REGEX_H
#define LMT_TOK_REGEX_H
#include <stddef.h>
#include <stdint.h>
#include "lmtune/lmtune.h"

typedef struct lmt_regex lmt_regex;

/* Compiles pattern[0..len); errors name `source` and Oniguruma's message. */
lmt_status lmt_regex_compile(const char *pattern, size_t len, const char *source, lmt_regex **out);
/* A regex matching the literal string s (tokenizers' String pattern). */
lmt_status lmt_regex_literal(const char *s, size_t len, const char *source, lmt_regex **out);
void lmt_regex_free(lmt_regex *re);
/* Match registers, one per caller (thread); *region starts NULL. */
typedef struct lmt_regex_region lmt_regex_region;
void lmt_regex_region_free(lmt_regex_region *r);
/* Leftmost match in text[from..n) (text valid UTF-8): 1 and [*ms, *me),
 * 0 when none, -1 on an engine error. */
int lmt_regex_find(const lmt_regex *re, lmt_regex_region **region, const char *text, size_t n, size_t from, size_t *ms,
                   size_t *me);
#endif
