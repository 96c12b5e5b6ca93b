/* Fully connected layer y = x W + b through lmt_sgemm, for both weight
 * orientations HF uses: GPT-2's Conv1D stores W as (in, out), nn.Linear as
 * (out, in). Rows: N = B*T. */
#ifndef LMT_KERNELS_LINEAR_H
#define LMT_KERNELS_LINEAR_H

typedef enum lmt_wlayout {
    LMT_W_IN_OUT = 0,   /* Conv1D: weight (IC, OC) */
    LMT_W_OUT_IN = 1,   /* nn.Linear: weight (OC, IC) */
} lmt_wlayout;

/* out (N, OC) = inp (N, IC) @ W + bias (OC); bias may be NULL. */
void lmt_linear_forward(float *out, const float *inp, const float *weight, const float *bias, int N, int IC, int OC,
                        lmt_wlayout wl);
/* out (N, OC) += inp (N, IC) @ W: the product accumulates onto what out holds
 * (a LoRA adapter's term, models/blocks/adapter.c), with no pass of its own. */
void lmt_linear_forward_add(float *out, const float *inp, const float *weight, int N, int IC, int OC, lmt_wlayout wl);
/* dinp (N, IC) += dout @ W^T; dweight += inp^T dout (in W's orientation);
 * dbias (OC) += column sums of dout. Any output may be NULL. */
void lmt_linear_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                         const float *weight, int N, int IC, int OC, lmt_wlayout wl);
/* lmt_linear_forward with weight's packed copy (lmt_matmul_pack_b of the
 * product's B: trans_b for LMT_W_OUT_IN, N = OC, K = IC), or NULL. */
struct lmt_gemm_packed;
void lmt_linear_forward_packed(float *out, const float *inp, const float *weight, const struct lmt_gemm_packed *packed,
                               const float *bias, int N, int IC, int OC, lmt_wlayout wl);
/* The same with dinp overwritten (= dout @ W^T): no zeroing pass first. */
void lmt_linear_backward_set(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                             const float *weight, int N, int IC, int OC, lmt_wlayout wl);
#endif
