/* Added and special tokens (tokenizers' AddedVocabulary): matched in the raw
 * text before pre-tokenization, leftmost-longest, with lstrip/rstrip. */
#ifndef LMT_TOK_ADDED_TOKENS_H
#define LMT_TOK_ADDED_TOKENS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lmtune/lmtune.h"

typedef struct lmt_added_token {
    char *content;
    size_t len;
    int32_t id;
    bool special, lstrip, rstrip, single_word, normalized;
    char *match;              /* what is matched when not content: a normalized=true
                                 token's content through the normalizer (pipeline) */
    size_t match_len;
} lmt_added_token;

typedef struct lmt_added_vocab {
    lmt_added_token *v;
    size_t n;
    uint64_t first[4];        /* bitmap of the tokens' first bytes (a fast skip) */
} lmt_added_vocab;

/* A piece of the input: a run of ordinary text (token < 0) or an added token. */
typedef struct lmt_segment { uint32_t start, end; int32_t token; } lmt_segment;
typedef struct lmt_segments { lmt_segment *v; size_t n, cap; } lmt_segments;

lmt_status lmt_added_vocab_add(lmt_added_vocab *a, const char *content, int32_t id, bool special, bool lstrip, bool rstrip,
                               bool single_word, bool normalized);
void lmt_added_vocab_free(lmt_added_vocab *a);
/* Token k is matched as s[0..n) instead of its content. */
lmt_status lmt_added_vocab_set_match(lmt_added_vocab *a, size_t k, const char *s, size_t n);
/* One pass over text[from..to): the tokens with this normalized-ness only
 * (the pipeline matches normalized=true tokens in normalized text). */
int lmt_added_split_pass(const lmt_added_vocab *a, const char *text, size_t from, size_t to, bool normalized, lmt_segments *out);
/* Index of the added token with this id, or -1. */
long lmt_added_vocab_find_id(const lmt_added_vocab *a, int32_t id);
/* Splits text[0..n) (valid UTF-8) into segments as tokenizers'
 * AddedVocabulary::extract_and_normalize does: first the tokens with
 * normalized=false over the whole text, then those with normalized=true
 * inside each remaining run (lmtune's BPE has no normalizer, so both match
 * the raw text). Matches are leftmost-longest; a single_word token is only
 * kept between non-word characters; lstrip/rstrip pull the Unicode
 * whitespace around the match into it. Returns 0 or -1 on allocation
 * failure. */
int lmt_added_split(const lmt_added_vocab *a, const char *text, size_t n, lmt_segments *out);
#endif
