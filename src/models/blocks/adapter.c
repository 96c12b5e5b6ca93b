/* The LoRA adapter slot of a linear layer (see adapter.h). */
#include <string.h>
#include "kernels/dropout.h"
#include "kernels/matmul.h"
#include "models/blocks/adapter.h"

/* splitmix64 step: the adapters' dropout seeds */
static uint64_t next_seed(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* drop(x): x itself without dropout */
static const float *adapter_input(const lmt_adapter *ad, const float *inp, int N, bool training) {
    if (!training || ad->dropout <= 0.0f) return inp;
    lmt_dropout_forward(ad->xd, inp, (size_t)N * ad->IC, ad->dropout, ad->seed);
    return ad->xd;
}

void lmt_adapted_forward(float *out, const float *inp, const float *weight, const float *bias, lmt_adapter *ad, int N,
                         int IC, int OC, lmt_wlayout wl, bool training) {
    lmt_linear_forward(out, inp, weight, bias, N, IC, OC, wl);
    if (!ad) return;
    int r = ad->r;
    if (training && ad->dropout > 0.0f) ad->seed = next_seed(ad->seed_src);
    const float *xin = adapter_input(ad, inp, N, training);
    lmt_sgemm(false, true, N, r, IC, 1.0f, xin, IC, ad->A, IC, 0.0f, ad->h, r);              // h (N, r) = drop(x) A^T
    lmt_sgemm(false, true, N, OC, r, ad->scaling, ad->h, r, ad->B, r, 1.0f, out, OC);        // out += s h B^T
}

void lmt_adapted_backward(bool set, float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                          const float *weight, const lmt_adapter *ad, int N, int IC, int OC, lmt_wlayout wl,
                          bool training) {
    if (set) lmt_linear_backward_set(dinp, dweight, dbias, dout, inp, weight, N, IC, OC, wl);
    else lmt_linear_backward(dinp, dweight, dbias, dout, inp, weight, N, IC, OC, wl);
    if (!ad || !ad->dA) return;
    int r = ad->r;
    /* dB (OC, r) += s dout^T h */
    lmt_sgemm(true, false, OC, r, N, ad->scaling, dout, OC, ad->h, r, 1.0f, ad->dB, r);
    /* d(h) (N, r) = s dout B, into h (no longer needed) */
    lmt_sgemm(false, false, N, r, OC, ad->scaling, dout, OC, ad->B, r, 0.0f, ad->h, r);
    bool drop = training && ad->dropout > 0.0f;
    const float *xin = adapter_input(ad, inp, N, training);
    /* dA (r, IC) += d(h)^T drop(x) */
    lmt_sgemm(true, false, r, IC, N, 1.0f, ad->h, r, xin, IC, 1.0f, ad->dA, IC);
    if (!dinp) return;
    if (!drop) {   // dinp += d(h) A
        lmt_sgemm(false, false, N, IC, r, 1.0f, ad->h, r, ad->A, IC, 1.0f, dinp, IC);
        return;
    }
    lmt_sgemm(false, false, N, IC, r, 1.0f, ad->h, r, ad->A, IC, 0.0f, ad->xd, IC);
    lmt_dropout_backward_set(ad->xd, ad->xd, (size_t)N * IC, ad->dropout, ad->seed);
    for (size_t i = 0; i < (size_t)N * IC; i++) dinp[i] += ad->xd[i];
}
