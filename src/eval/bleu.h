/* Corpus BLEU exactly as sacrebleu 2.6.0 computes it (BLEU() defaults:
 * tokenize="13a", smooth_method="exp", max_ngram_order=4, no lowercasing). */
#ifndef LMT_EVAL_BLEU_H
#define LMT_EVAL_BLEU_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "lmtune/lmtune.h"

#define LMT_BLEU_MAX_ORDER 4

typedef enum {
    LMT_BLEU_SMOOTH_EXP = 0, /* sacrebleu default ("exp", mteval-v13a) */
    LMT_BLEU_SMOOTH_NONE,
    LMT_BLEU_SMOOTH_FLOOR,   /* smooth_value default 0.1 */
    LMT_BLEU_SMOOTH_ADD_K    /* smooth_value default 1 */
} lmt_bleu_smooth;

typedef struct {
    lmt_bleu_smooth smooth;
    double smooth_value;   /* < 0: the method's sacrebleu default */
    int max_order;         /* 1..LMT_BLEU_MAX_ORDER; 0 = 4 */
    bool effective_order;
    bool tokenize_none;    /* tokenize="none": split on whitespace only */
} lmt_bleu_opts;

/* Zero-initialised opts are sacrebleu's defaults except smooth_value, which
 * must be < 0 to mean "default"; lmt_bleu_opts_default() sets it so. */
lmt_bleu_opts lmt_bleu_opts_default(void);

typedef struct {
    double score;                          /* 0..100 */
    int64_t counts[LMT_BLEU_MAX_ORDER];    /* clipped matches (before add-k) */
    int64_t totals[LMT_BLEU_MAX_ORDER];    /* hypothesis n-grams (before add-k) */
    double precisions[LMT_BLEU_MAX_ORDER]; /* percent, smoothed */
    double bp;
    int64_t sys_len;
    int64_t ref_len;
    int max_order;
} lmt_bleu_result;

/* refs[r][i] is reference stream r's segment i (sacrebleu's list of
 * reference documents); a NULL entry is skipped (sacrebleu's None), but each
 * segment needs at least one reference. All strings are UTF-8. opts may be
 * NULL for the defaults. */
lmt_status lmt_bleu_corpus(const char *const *hyps, size_t n,
                           const char *const *const *refs, size_t n_refs,
                           const lmt_bleu_opts *opts, lmt_bleu_result *out);

/* The 13a tokenizer (sacrebleu Tokenizer13a after str.rstrip()). Returns a
 * malloc'd NUL-terminated string (tokens separated by single spaces) in *out,
 * its length in *out_len (may be NULL). Fails on invalid UTF-8. */
lmt_status lmt_bleu_tokenize_13a(const char *s, size_t len, char **out, size_t *out_len);
#endif
