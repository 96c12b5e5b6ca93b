/* BERT's WordPiece pipeline stages (tokenizers' BertNormalizer,
 * BertPreTokenizer, WordPiece model and decoder). The normalizer keeps, for
 * every byte of its output, the byte range of the original character it came
 * from, as tokenizers' NormalizedString alignments do, so token offsets map
 * back to the input. */
#ifndef LMT_TOK_WORDPIECE_H
#define LMT_TOK_WORDPIECE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lmtune/lmtune.h"
#include "tokenizers/bpe.h"
#include "tokenizers/pretok_gpt2.h"

typedef struct lmt_bert_norm {
    bool enabled;             /* a BertNormalizer is configured */
    bool clean_text, handle_chinese_chars, strip_accents, lowercase;
} lmt_bert_norm;

/* Normalized text: s[0..n) with ostart/oend[i] the original byte range of
 * the character that produced byte i. */
typedef struct lmt_normalized {
    char *s;
    uint32_t *ostart, *oend;
    size_t n, cap;
} lmt_normalized;

void lmt_normalized_free(lmt_normalized *ns);
/* Normalizes text[0..n) (valid UTF-8); base is added to the alignments.
 * Appends nothing for text that normalizes away. 0, or -1 on allocation failure. */
int lmt_bert_normalize(const lmt_bert_norm *cfg, const char *text, size_t n, uint32_t base, lmt_normalized *out);

/* Unicode classes as tokenizers sees them (tables in wordpiece_unicode_tables.h). */
bool lmt_wp_is_punctuation(uint32_t c);
bool lmt_wp_is_chinese(uint32_t c);
bool lmt_wp_is_clean_removed(uint32_t c);
bool lmt_wp_is_nonspacing_mark(uint32_t c);

/* BertPreTokenizer over s[0..n) (valid UTF-8): whitespace removed, each
 * punctuation character a word of its own. Appends byte spans. */
int lmt_pretok_bert(const char *s, size_t n, lmt_spans *out);

typedef struct lmt_wordpiece {
    int32_t unk_id;
    char *prefix;             /* continuing_subword_prefix, "##" */
    size_t prefix_len;
    size_t max_chars;         /* max_input_chars_per_word, 100 */
    size_t max_token_len;     /* longest vocabulary entry in bytes (bounds the search) */
} lmt_wordpiece;

/* Greedy longest-match-first over one word w[0..n) (valid UTF-8) with the
 * vocabulary in vocab. Appends tokens with byte ranges inside the word; a
 * word over max_chars characters or with an unmatched rest is one unk
 * token spanning the word. 0, or -1 on allocation failure. */
int lmt_wordpiece_encode(const lmt_wordpiece *wp, const lmt_bpe *vocab, const char *w, size_t n, lmt_bpe_tok **out,
                         size_t *count, size_t *cap);
/* WordPiece decoder over token strings: pieces starting with the prefix are
 * glued (prefix dropped), others get a leading space (except the first);
 * with cleanup, tokenizers' per-token cleanup (" ." -> "." ...). */
void lmt_wordpiece_decode_piece(const char *prefix, size_t prefix_len, bool cleanup, bool first, const char *tok,
                                size_t len, void *strbuf);
/* transformers' clean_up_tokenization over a whole string, in place. */
size_t lmt_clean_up_tokenization(char *s, size_t n);
#endif
