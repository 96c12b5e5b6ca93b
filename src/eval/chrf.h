/* Corpus chrF / chrF++ exactly as sacrebleu 2.6.0's CHRF computes it
 * (defaults: char_order 6, word_order 0, beta 2, whitespace excluded). */
#ifndef LMT_EVAL_CHRF_H
#define LMT_EVAL_CHRF_H
#include <stddef.h>
#include <stdbool.h>
#include "lmtune/lmtune.h"

#define LMT_CHRF_MAX_ORDER 32 /* char_order + word_order */

typedef struct {
    int char_order;     /* default 6 */
    int word_order;     /* default 0; 2 gives chrF++ */
    int beta;           /* default 2 */
    bool whitespace;    /* keep whitespace inside character n-grams */
    bool eps_smoothing; /* chrF++.py / NLTK style averaging */
} lmt_chrf_opts;

lmt_chrf_opts lmt_chrf_opts_default(void);

/* Same stream layout as lmt_bleu_corpus: refs[r][i], NULL entries skipped.
 * *score is in 0..100. opts may be NULL for the defaults. */
lmt_status lmt_chrf_corpus(const char *const *hyps, size_t n,
                           const char *const *const *refs, size_t n_refs,
                           const lmt_chrf_opts *opts, double *score);
#endif
