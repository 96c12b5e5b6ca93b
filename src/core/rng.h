/* Deterministic random numbers (splitmix64 seeding + xoshiro256**), used for
 * weight initialisation, dropout, masking and shuffling. */
#ifndef LMT_CORE_RNG_H
#define LMT_CORE_RNG_H
#include <stdint.h>
typedef struct lmt_rng { uint64_t s[4]; } lmt_rng;
void lmt_rng_seed(lmt_rng *r, uint64_t seed);
uint64_t lmt_rng_u64(lmt_rng *r);
/* Uniform in [0, 1). */
double lmt_rng_uniform(lmt_rng *r);
/* Uniform integer in [0, n). */
uint64_t lmt_rng_below(lmt_rng *r, uint64_t n);
/* Standard normal (Box-Muller). */
double lmt_rng_normal(lmt_rng *r);
#endif
