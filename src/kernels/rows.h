/* Gathering the labelled rows of a batch and scattering their gradients
 * back: a vocabulary head that only the loss needs runs on those rows alone. */
#ifndef LMT_KERNELS_ROWS_H
#define LMT_KERNELS_ROWS_H
#include <stdint.h>

/* Copies the rows of x (N, C) whose target is not LMT_IGNORE_INDEX to out
 * (M, C) and their indices to rows (M), and compacts targets (N) in place to
 * those M targets. Returns M. */
int lmt_rows_gather_labelled(float *out, int32_t *rows, int32_t *targets, const float *x, int N, int C);
/* dst[rows[r]] (C) = src[r] for r < M; other rows of dst are left alone. */
void lmt_rows_scatter(float *dst, const float *src, const int32_t *rows, int M, int C);
#endif
