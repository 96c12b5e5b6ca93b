/* Element-wise activations of the supported models: GELU with the tanh
 * approximation (GPT-2's "gelu_new": 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3)))),
 * exact erf GELU (BERT, RoBERTa, DistilBERT), ReLU and SiLU (Marian's "swish"). */
#ifndef LMT_KERNELS_ACTIVATION_H
#define LMT_KERNELS_ACTIVATION_H
#include <stddef.h>
#include "models/config.h"

/* out (N) = act(inp (N)); out may alias inp. */
void lmt_activation_forward(float *out, const float *inp, size_t n, lmt_activation act);
/* dinp (N) += dout * act'(inp). */
void lmt_activation_backward(float *dinp, const float *dout, const float *inp, size_t n, lmt_activation act);
#endif
