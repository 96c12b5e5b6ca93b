/* The products of a rank-r adapter (LoRA: models/blocks/adapter.h), where
 * one dimension is the rank r (4..64 typically). As GEMMs they would be
 * mostly packing and tile traffic; here each is a register-blocked loop that
 * runs across r in vectors, with a fixed summation order per output (over
 * the long dimension, first to last): results do not depend on the thread
 * count nor on the blocking. Rows are parallel over OpenMP threads.
 *
 * Dropout (p > 0): `keep` holds one byte per element of the (N, D) input
 * the mask applies to (1: kept), from lmt_lowrank_dropout; the kept values
 * are scaled by 1 / (1 - p). */
#ifndef LMT_KERNELS_LOWRANK_H
#define LMT_KERNELS_LOWRANK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* H (N, r) = alpha * X (N, K) M (K, r). */
void lmt_lowrank_project(float *H, const float *X, const float *M, float alpha, int N, int K, int r);
/* Y (N, D) = (add ? Y : 0) + (init ? init (D) : 0) + drop'(H (N, r) V (r, D)):
 * keep NULL, or the dropout mask of Y's elements (its backward). */
void lmt_lowrank_expand(float *Y, bool add, const float *init, const float *H, const float *V, int N, int D, int r,
                        const uint8_t *keep, float p);
/* G (D, r) += X^T (D, N) H (N, r), in blocks of rows of X: each element of G
 * gains one partial sum per block, in order. */
void lmt_lowrank_outer(float *G, const float *X, const float *H, int N, int D, int r);
/* xd (n) = dropout(x): the adapters' mask, a pure function of (seed, element
 * index) as kernels/dropout.h's (a cheaper hash, see lowrank.c), and keep
 * (n) its bytes when keep is not NULL. */
void lmt_lowrank_dropout(float *xd, uint8_t *keep, const float *x, size_t n, float p, uint64_t seed);
#endif
