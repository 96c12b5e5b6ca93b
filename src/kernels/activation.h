/* Element-wise activations of the supported models: GELU with the tanh
 * approximation (GPT-2's "gelu_new": 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3)))),
 * exact erf GELU (BERT, RoBERTa, DistilBERT), ReLU and SiLU (Marian's "swish"). */
#ifndef LMT_KERNELS_ACTIVATION_H
#define LMT_KERNELS_ACTIVATION_H
#include <stddef.h>

/* Which activation; config.json's names for them are models/config.h's
 * business (lmt_activation_name). */
typedef enum lmt_activation {
    LMT_ACT_GELU_TANH = 0, /* "gelu_new", "gelu_pytorch_tanh" */
    LMT_ACT_GELU,          /* "gelu" (erf) */
    LMT_ACT_RELU,
    LMT_ACT_SILU,          /* "swish", "silu" */
} lmt_activation;

/* out (N) = act(inp (N)); out may alias inp. */
void lmt_activation_forward(float *out, const float *inp, size_t n, lmt_activation act);
/* dinp (N) += dout * act'(inp). */
void lmt_activation_backward(float *dinp, const float *dout, const float *inp, size_t n, lmt_activation act);

/* Fused with the bias of the linear layer before it (which then runs without
 * one): pre (N, F) += bias (F) in place, out (N, F) = act(pre). */
void lmt_bias_activation_forward(float *pre, float *out, const float *bias, int N, int F, lmt_activation act);
/* dpre (N, F) = dout * act'(pre) (overwritten) and dbias (F) += its column
 * sums (NULL: none), in one pass; scratch holds
 * lmt_activation_bias_scratch_floats(N, F) floats. */
void lmt_activation_bias_backward(float *dpre, float *dbias, const float *dout, const float *pre, int N, int F,
                                  lmt_activation act, float *scratch);
size_t lmt_activation_bias_scratch_floats(int N, int F);

/* SwiGLU (the Llama family's MLP): out (n) = silu(gate) * up. */
void lmt_swiglu_forward(float *out, const float *gate, const float *up, size_t n);
/* dgate (n) = dout * up * silu'(gate), dup (n) = dout * silu(gate) (both overwritten). */
void lmt_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, size_t n);
#endif
