/* The LoRA adapter slot of a linear layer (see adapter.h).
 *
 * The adapter's products have one dimension of size r (4..64): as GEMMs they
 * are mostly packing and tile traffic (a few GFLOP/s), so they run as
 * kernels/lowrank.h's register-blocked loops instead (a fixed summation
 * order, results independent of the thread count). Its terms go where the
 * base product then accumulates (the output starts as b + s h B^T, d(x) as
 * the adapter's part), so they cost no pass of their own over the rows. */
#include <string.h>
#include "kernels/lowrank.h"
#include "models/blocks/adapter.h"

/* splitmix64 step: the adapters' dropout seeds */
static uint64_t next_seed(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* dst (cols, rows) = src (rows, cols)^T */
static void transpose(float *dst, const float *src, int rows, int cols) {
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) dst[(size_t)j * rows + i] = src[(size_t)i * cols + j];
}

void lmt_adapted_forward(float *out, const float *inp, const float *weight, const float *bias, lmt_adapter *ad, int N,
                         int IC, int OC, lmt_wlayout wl, bool training) {
    if (!ad) {
        lmt_linear_forward(out, inp, weight, bias, N, IC, OC, wl);
        return;
    }
    int r = ad->r;
    float p = training ? ad->dropout : 0.0f;
    if (p > 0.0f) ad->seed = next_seed(ad->seed_src);
    transpose(ad->bt, ad->A, r, IC);                                    // A^T (IC, r)
    lmt_lowrank_project(ad->h, inp, ad->bt, ad->scaling, N, IC, r, p, ad->seed);   // h (N, r) = s drop(x) A^T: kept for dB
    transpose(ad->bt, ad->B, OC, r);                                    // B^T (r, OC)
    lmt_lowrank_expand(out, false, bias, ad->h, ad->bt, N, OC, r, 0.0f, 0);   // out = b + h B^T
    lmt_linear_forward_add(out, inp, weight, N, IC, OC, wl);            // out += x W: no pass of its own for the adapter
}

void lmt_adapted_backward(bool set, float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                          const float *weight, const lmt_adapter *ad, int N, int IC, int OC, lmt_wlayout wl,
                          bool training) {
    if (!ad || !ad->dA) {
        if (set) lmt_linear_backward_set(dinp, dweight, dbias, dout, inp, weight, N, IC, OC, wl);
        else lmt_linear_backward(dinp, dweight, dbias, dout, inp, weight, N, IC, OC, wl);
        return;
    }
    int r = ad->r;
    float p = training ? ad->dropout : 0.0f;   // the forward's mask again (same seed)
    memset(ad->bt, 0, (size_t)r * OC * sizeof(float));                  // dB (OC, r) += dout^T (s h),
    lmt_lowrank_outer(ad->bt, dout, ad->h, N, OC, r, 0.0f, 0);          // as dB^T (r, OC) first
    for (int o = 0; o < OC; o++)
        for (int j = 0; j < r; j++) ad->dB[(size_t)o * r + j] += ad->bt[(size_t)j * OC + o];
    lmt_lowrank_project(ad->h, dout, ad->B, ad->scaling, N, OC, r, 0.0f, 0);   // d(h) (N, r) = s dout B, into h
    lmt_lowrank_outer(ad->dA, inp, ad->h, N, IC, r, p, ad->seed);       // dA (r, IC) += d(h)^T drop(x)
    if (dinp)                                                           // dinp (+)= drop'(d(h) A)
        lmt_lowrank_expand(dinp, !set, NULL, ad->h, ad->A, N, IC, r, p, ad->seed);
    lmt_linear_backward(dinp, dweight, dbias, dout, inp, weight, N, IC, OC, wl);   // dinp += dout W^T
}
