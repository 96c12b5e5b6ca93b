/* LayerNorm and RMSNorm over the last dimension (torch.nn.LayerNorm: biased variance,
 * eps inside the square root). mean and rstd are kept for the backward. */
#ifndef LMT_KERNELS_LAYERNORM_H
#define LMT_KERNELS_LAYERNORM_H

/* out (N, C), mean (N), rstd (N), inp (N, C), weight (C), bias (C). */
void lmt_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                           const float *bias, int N, int C, float eps);
/* dinp (N, C) += ..., dweight (C) += ..., dbias (C) += ... (either may be NULL). */
void lmt_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                            const float *weight, const float *mean, const float *rstd, int N, int C);

/* RMSNorm (LlamaRMSNorm, in fp32): out = weight * (x * rstd),
 * rstd = 1 / sqrt(mean(x^2) + eps). out (N, C), rstd (N) kept for the backward. */
void lmt_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, int N, int C, float eps);
/* dinp (N, C) += ..., dweight (C) += ... (NULL: none). */
void lmt_rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                          const float *rstd, int N, int C);
#endif
