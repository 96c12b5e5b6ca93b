/* What a collator produces and the Trainer consumes: a collated batch and a
 * dataset read through a collator. It lives in data/ so the collators
 * (mlm_collator, seq2seq_collator, the CLM block collator) need nothing
 * from train/; train/trainer.h includes it. */
#ifndef LMT_DATA_BATCH_H
#define LMT_DATA_BATCH_H
#include <stdint.h>
#include "lmtune/lmtune.h"

/* A collated batch; arrays are (B, T) row-major; NULL when absent. */
typedef struct lmt_batch {
    int B, T;
    int32_t *input_ids, *attention_mask, *labels, *token_type_ids;
    int T_dec;                       /* seq2seq: decoder length; labels are then (B, T_dec) */
    int32_t *decoder_input_ids;
    int32_t *position_ids;           /* (B, T) packed sequences (positions restart per sequence), or NULL */
} lmt_batch;

/* A dataset the Trainer reads through a collator. collate fills *out for the
 * examples idx[0..n) with malloc'd arrays; the Trainer releases them with
 * lmt_batch_free. (Collators may be random - MLM masking - so each batch is
 * collated exactly once.) */
typedef struct lmt_train_data {
    int64_t n;
    void *ctx;
    lmt_status (*collate)(void *ctx, const int64_t *idx, int n, lmt_batch *out);
    /* Optional: example i's length as LengthGroupedSampler measures it,
     * len(input_ids) (train_sampling_strategy group_by_length). NULL: the
     * Trainer collates the example alone and counts its attention mask,
     * which a collator that draws random numbers (MLM masking) must not
     * allow - those set this. */
    int64_t (*length)(void *ctx, int64_t i);
} lmt_train_data;

/* Frees the arrays of b and zeroes it. */
void lmt_batch_free(lmt_batch *b);
#endif
