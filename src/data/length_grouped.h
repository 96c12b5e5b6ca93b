/* transformers' LengthGroupedSampler (train_sampling_strategy
 * "group_by_length", transformers 4's group_by_length=True): a random
 * permutation cut into megabatches of mega_batch_mult * batch_size (50, or
 * fewer so that there are 4), each sorted by length, longest first, with
 * the longest example of all moved to the front. */
#ifndef LMT_DATA_LENGTH_GROUPED_H
#define LMT_DATA_LENGTH_GROUPED_H
#include <stdint.h>
#include "lmtune/lmtune.h"
#include "core/rng.h"

/* get_length_grouped_indices(lengths, batch_size) with the permutation
 * torch.randperm(n, generator=g) draws (g advances). scratch: n int64. */
void lmt_length_grouped_indices(const int64_t *lengths, int64_t n, int64_t batch_size, lmt_mt19937 *g, int64_t *order);

/* The Trainer's sampler (an lmt_sampler_fn over an lmt_length_sampler):
 * LengthGroupedSampler draws from torch's global generator, which
 * set_seed(seed) seeded and nothing else draws from while dropout is off,
 * so epoch e's order is the (e+1)-th draw after seeding. */
typedef struct lmt_length_sampler {
    const int64_t *lengths;    /* (n) not owned */
    int64_t batch_size;        /* train_batch_size * gradient_accumulation_steps */
} lmt_length_sampler;
void lmt_sampler_length_grouped(void *ctx, int64_t seed, int64_t epoch, int64_t n, int64_t *order);
#endif
