/* Post-processors (tokenizers' RobertaProcessing, TemplateProcessing,
 * ByteLevel): offset trimming and the special tokens around one sequence
 * or a pair. */
#ifndef LMT_TOK_POSTPROCESS_H
#define LMT_TOK_POSTPROCESS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lmtune/tokenizer.h"
#include "core/json.h"

typedef enum { LMT_POST_NONE = 0, LMT_POST_ROBERTA, LMT_POST_TEMPLATE } lmt_post_kind;

/* A template piece: sequence A (seq 0) / B (seq 1), or a special token
 * (seq -1) standing for one or more ids. */
typedef struct lmt_tpl_piece { int seq; int32_t type_id; int32_t *ids; size_t n_ids; } lmt_tpl_piece;

typedef struct lmt_post {
    lmt_post_kind kind;
    bool trim_offsets;        /* RobertaProcessing / ByteLevel trim_offsets */
    bool add_prefix_space;    /* their add_prefix_space (keeps a first lone 'Ġ') */
    int32_t cls, sep;         /* RobertaProcessing */
    lmt_tpl_piece *single, *pair;
    size_t n_single, n_pair;
} lmt_post;

/* Token positions before the post-processor: char offsets plus the count of
 * leading/trailing spaces ('Ġ' or Unicode whitespace) of each token string. */
typedef struct lmt_post_seq {
    const int32_t *ids, *words;
    int32_t *cstart, *cend;
    const uint16_t *lead, *trail;
    size_t from, n;           /* the tokens kept after truncation */
} lmt_post_seq;

void lmt_post_free(lmt_post *p);
/* GPT-2 as transformers builds it from vocab.json + merges.txt: a template
 * with no special tokens, sequence B typed 1. */
lmt_status lmt_post_gpt2_default(lmt_post *p);
/* Parses a tokenizer.json post_processor (null, ByteLevel, RobertaProcessing,
 * TemplateProcessing, or a Sequence of those); `vocab` resolves names. */
typedef int32_t (*lmt_post_lookup)(const void *ctx, const char *token);
lmt_status lmt_post_parse(lmt_post *p, const lmt_json *j, const char *src, lmt_post_lookup lookup, const void *ctx);
/* Special tokens it adds (num_special_tokens_to_add). */
size_t lmt_post_added(const lmt_post *p, bool pair);
/* ByteLevel's process_offsets over the kept tokens of one sequence. */
void lmt_post_trim(const lmt_post *p, lmt_post_seq *s);
/* Appends the processed tokens (trimmed, special tokens inserted) to out,
 * which has room for them. nseq is 1 or 2. */
void lmt_post_assemble(const lmt_post *p, bool add_special, lmt_post_seq *seqs, int nseq, lmt_encoding *out);
/* Appends one token to an encoding with room for it. */
void lmt_enc_put(lmt_encoding *e, int32_t id, int32_t type, int32_t special, int32_t word, int32_t seq, int32_t s, int32_t en);
#endif
