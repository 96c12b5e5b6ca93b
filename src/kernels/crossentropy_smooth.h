/* Label-smoothed softmax cross-entropy: transformers' LabelSmoother per row,
 * (1 - eps) * (-log p[target]) + eps * mean_v(-log p[v]) =
 * lse - (1 - eps) x[target] - eps * mean(x); its gradient is
 * softmax - (1 - eps) onehot(target) - eps / V. Rows whose target is
 * LMT_IGNORE_INDEX count for nothing. */
#ifndef LMT_KERNELS_CROSSENTROPY_SMOOTH_H
#define LMT_KERNELS_CROSSENTROPY_SMOOTH_H
#include <stdbool.h>
#include <stdint.h>

/* logits (N, V), targets (N). Writes losses (N) (0 for ignored rows); with
 * grad, turns logits into the gradient of the summed loss (zeros for
 * ignored rows). Returns the number of counted rows. */
long lmt_crossentropy_smooth_forward(float *losses, float *logits, const int32_t *targets, int N, int V, float eps, bool grad);
#endif
