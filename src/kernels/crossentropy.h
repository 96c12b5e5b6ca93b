/* Softmax cross-entropy over the vocabulary, fused: the forward keeps only
 * the log-sum-exp of each row, the backward turns the logits into their
 * gradient in place - no probability matrix exists. Targets equal to
 * LMT_IGNORE_INDEX (-100, torch's ignore_index) contribute nothing. */
#ifndef LMT_KERNELS_CROSSENTROPY_H
#define LMT_KERNELS_CROSSENTROPY_H
#include <stdint.h>

#define LMT_IGNORE_INDEX (-100)

/* logits (N, V), targets (N) in [0, V) or -100. Writes losses (N)
 * (-log softmax at the target; 0 for ignored rows) and lse (N) (only for
 * counted rows). Returns the number of counted rows. */
long lmt_crossentropy_forward(float *losses, float *lse, const float *logits, const int32_t *targets, int N, int V);
/* dlogits (N, V) = dloss * (softmax(logits) - onehot(target)) for counted
 * rows and 0 for ignored ones. Overwrites (does not accumulate); dlogits may
 * be logits itself. For a mean loss over k targets, dloss = 1/k. */
void lmt_crossentropy_backward(float *dlogits, const float *logits, const float *lse, const int32_t *targets,
                               float dloss, int N, int V);
/* Training: forward and backward in one sweep over each row while it is in
 * cache. Writes losses (N) as lmt_crossentropy_forward and turns logits (N, V)
 * into softmax - onehot(target) (zeros for ignored rows): the gradient of
 * the summed loss, to be scaled by the caller (e.g. as the GEMM's alpha).
 * Returns the number of counted rows. */
long lmt_crossentropy_forward_grad(float *losses, float *logits, const int32_t *targets, int N, int V);
#endif
