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

/* The MT19937 of torch's CPU generator and of CPython's random module. */
typedef struct lmt_mt19937 { uint32_t mt[624]; int mti; } lmt_mt19937;
/* torch.Generator().manual_seed(seed): init_genrand(seed mod 2^32). */
void lmt_mt_seed(lmt_mt19937 *g, uint64_t seed);
uint32_t lmt_mt_next(lmt_mt19937 *g);
/* One element of a float32 tensor.uniform_(from, to) on CPU: the low 24 bits
 * of one draw scaled to [0, 1), then x * (to - from) + from in double over
 * the float bounds, rounded to float (what torch 2.15's values show). */
float lmt_torch_uniform(lmt_mt19937 *g, float from, float to);
#endif
