/* Inverted dropout as torch.nn.Dropout in training mode: each element kept
 * with probability 1-p and scaled by 1/(1-p). The keep decision is a pure
 * function of (seed, element index) - a counter-based generator - so the
 * backward regenerates the mask instead of storing it, and results do not
 * depend on the number of threads. Callers draw one seed per dropout site
 * and step from their lmt_rng. (torch's own random stream is not reproduced:
 * parity tests run with dropout off.) */
#ifndef LMT_KERNELS_DROPOUT_H
#define LMT_KERNELS_DROPOUT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline uint64_t lmt_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
/* Whether element `idx` survives: a 24-bit uniform u in [0, 1), kept if u >= p. */
static inline bool lmt_dropout_keep(uint64_t seed, uint64_t idx, float p) {
    uint64_t h = lmt_mix64(seed ^ lmt_mix64(idx + 0x9e3779b97f4a7c15ULL));
    return (float)(h >> 40) * (1.0f / 16777216.0f) >= p;
}

/* out (N) = dropout(inp (N)); out may alias inp. p = 0 copies. */
void lmt_dropout_forward(float *out, const float *inp, size_t n, float p, uint64_t seed);
/* dinp (N) += dropout'(dout) with the same mask (same seed). */
void lmt_dropout_backward(float *dinp, const float *dout, size_t n, float p, uint64_t seed);
/* out = resid + dropout(inp) in one pass (the residual branch of a block);
 * out may alias inp or resid. */
void lmt_dropout_residual_forward(float *out, const float *inp, const float *resid, size_t n, float p, uint64_t seed);
/* x (N) = dropout(x) for the elements base .. base+N-1 of a site, on the
 * calling thread (a row of attention probabilities). */
void lmt_dropout_row(float *x, size_t n, float p, uint64_t seed, uint64_t base);
/* dinp (N) = dropout'(dout), overwritten. */
void lmt_dropout_backward_set(float *dinp, const float *dout, size_t n, float p, uint64_t seed);
#endif
