/* Residual connection out = a + b. */
#ifndef LMT_KERNELS_RESIDUAL_H
#define LMT_KERNELS_RESIDUAL_H
#include <stddef.h>

/* out (N) = a (N) + b (N); out may alias a or b. */
void lmt_residual_forward(float *out, const float *a, const float *b, size_t n);
/* da (N) += dout, db (N) += dout; either may be NULL. */
void lmt_residual_backward(float *da, float *db, const float *dout, size_t n);
#endif
