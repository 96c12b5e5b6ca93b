/* The LoRA adapter slot of a block's linear layer (peft's LoraLayer):
 *
 *   y = x W + b + scaling * (drop(x) A^T) B^T      A (r, IC), B (OC, r)
 *
 * A and B are nn.Linear weights in every case (peft's fan_in_fan_out only
 * turns the base weight: GPT-2's Conv1D (IC, OC)). The blocks call
 * lmt_adapted_forward / _backward wherever they call lmt_linear_*; with no
 * adapter (NULL) these are exactly lmt_linear_forward / _backward. The
 * backward skips the frozen weight's product when its gradient is NULL. */
#ifndef LMT_MODELS_BLOCKS_ADAPTER_H
#define LMT_MODELS_BLOCKS_ADAPTER_H
#include <stdbool.h>
#include <stdint.h>
#include "kernels/linear.h"

typedef struct lmt_adapter {
    int r, IC, OC;
    float scaling;               /* alpha / r, or alpha / sqrt(r) (use_rslora) */
    float dropout;               /* on the adapter's input, training only */
    float *A, *B;                /* (r, IC), (OC, r) in the adapter's flat buffer */
    float *dA, *dB;              /* their gradients (NULL without gradients) */
    float *h;                    /* (Nmax, r) scaling * drop(x) A^T of the last forward */
    float *bt;                   /* (r, max(IC, OC)) scratch: A^T, B^T, dB^T (shared by a model's adapters) */
    uint64_t seed;               /* the last forward's dropout seed (the mask: kernels/lowrank.h) */
    uint64_t *seed_src;          /* the adapter's seed stream state (shared by the adapters of a model) */
    int max_N;
} lmt_adapter;

/* out (N, OC) = inp W + bias (+ the adapter's term when ad). */
void lmt_adapted_forward(float *out, const float *inp, const float *weight, const float *bias, lmt_adapter *ad, int N,
                         int IC, int OC, lmt_wlayout wl, bool training);
/* set: dinp overwritten (lmt_linear_backward_set), else added to; dweight /
 * dbias NULL for frozen tensors (their products skipped); dA / dB added. */
void lmt_adapted_backward(bool set, float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                          const float *weight, const lmt_adapter *ad, int N, int IC, int OC, lmt_wlayout wl,
                          bool training);
#endif
