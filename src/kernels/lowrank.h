/* The products of a rank-r adapter (LoRA: models/blocks/adapter.h), where
 * one dimension is the rank r (4..64 typically). As GEMMs they would be
 * mostly packing and tile traffic; here each is a register-blocked loop that
 * runs across r in vectors, with a fixed summation order per output (over
 * the long dimension, first to last): results do not depend on the thread
 * count nor on the blocking. Rows are parallel over OpenMP threads.
 *
 * Dropout (p > 0, LoRA's on the adapter's input x (N, IC)): element
 * (n, i) of x is kept as lmt_lowrank_keep(seed, n * IC + i) says, computed
 * where it is used (no mask or dropped copy of x in memory), the same in the
 * forward's projection and the backward's products. */
#ifndef LMT_KERNELS_LOWRANK_H
#define LMT_KERNELS_LOWRANK_H
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

/* The adapters' dropout mask: a 32-bit counter-based hash of (seed, element
 * index) (Wellons' lowbias32 finaliser over index * golden ratio ^ seed),
 * cheaper than kernels/dropout.h's two 64-bit mixes and vectorised at every
 * level (32-bit multiplies); an element is kept when the hash's top 24 bits,
 * as a uniform in [0, 1), are >= p. Kept values are scaled by 1 / (1 - p). */
static inline uint32_t lmt_lowrank_seed(uint64_t seed) { return (uint32_t)(seed ^ (seed >> 32)); }
static inline uint32_t lmt_lowrank_threshold(float p) { return p > 0.0f ? (uint32_t)ceilf(p * 16777216.0f) : 0u; }
static inline bool lmt_lowrank_keep(uint32_t seed, uint32_t idx, uint32_t thr) {
    uint32_t x = idx * 0x9E3779B9U ^ seed;
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return (x >> 8) >= thr;
}

/* H (N, r) = alpha * drop(X (N, K)) M (K, r); p = 0: no dropout. */
void lmt_lowrank_project(float *H, const float *X, const float *M, float alpha, int N, int K, int r, float p,
                         uint64_t seed);
/* Y (N, D) = (add ? Y : 0) + (init ? init (D) : 0) + drop'(H (N, r) V (r, D)):
 * with p > 0 the adapter's d(x), masked as X was. */
void lmt_lowrank_expand(float *Y, bool add, const float *init, const float *H, const float *V, int N, int D, int r,
                        float p, uint64_t seed);
/* G (r, D) += H (N, r)^T drop(X (N, D)). */
void lmt_lowrank_outer(float *G, const float *X, const float *H, int N, int D, int r, float p, uint64_t seed);
#endif
