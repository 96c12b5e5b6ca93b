/* The LoRA adapter slot of a linear layer (see adapter.h).
 *
 * The adapter's products have one dimension of size r (4..64): as GEMMs they
 * are mostly packing and tile traffic (a few GFLOP/s), so they run here as
 * row loops over OpenMP threads instead: rows (or column slices) per thread,
 * a fixed summation order, results independent of the thread count. */
#include <string.h>
#include "kernels/dropout.h"
#include "kernels/parallel.h"
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

static float dot(const float *a, const float *b, int n) {
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* y (N, r) = alpha * x (N, K) W^T, W (r, K): r dot products per row */
static void rows_dot(float *y, const float *x, const float *W, float alpha, int N, int K, int r) {
#pragma omp parallel for schedule(static) if ((long)N * K * r >= LMT_PAR_MIN)
    for (long n = 0; n < N; n++)
        for (int j = 0; j < r; j++) y[n * r + j] = alpha * dot(x + n * K, W + (size_t)j * K, K);
}

/* y (N, D) += h (N, r) V, V (r, D): r row updates per row */
static void rows_axpy(float *y, const float *h, const float *V, int N, int D, int r) {
#pragma omp parallel for schedule(static) if ((long)N * D * r >= LMT_PAR_MIN)
    for (long n = 0; n < N; n++) {
        float *yn = y + n * D;
        for (int j = 0; j < r; j++) {
            float c = h[n * r + j];
            const float *v = V + (size_t)j * D;
#pragma omp simd
            for (int d = 0; d < D; d++) yn[d] += c * v[d];
        }
    }
}

/* G (r, D) += alpha * h (N, r)^T x (N, D): threads own column slices of G */
static void cols_outer(float *G, const float *h, const float *x, float alpha, int N, int D, int r) {
#pragma omp parallel if ((long)N * D * r >= LMT_PAR_MIN)
    {
        long d0, d1;
        lmt_thread_slice(D, 16, &d0, &d1);
        for (long n = 0; n < N && d0 < d1; n++) {
            const float *xn = x + n * D;
            for (int j = 0; j < r; j++) {
                float c = alpha * h[n * r + j];
                float *g = G + (size_t)j * D;
#pragma omp simd
                for (long d = d0; d < d1; d++) g[d] += c * xn[d];
            }
        }
    }
}

/* Bt (r, OC) = B^T */
static void transpose(float *Bt, const float *B, int OC, int r) {
    for (int o = 0; o < OC; o++)
        for (int j = 0; j < r; j++) Bt[(size_t)j * OC + o] = B[(size_t)o * r + j];
}

void lmt_adapted_forward(float *out, const float *inp, const float *weight, const float *bias, lmt_adapter *ad, int N,
                         int IC, int OC, lmt_wlayout wl, bool training) {
    lmt_linear_forward(out, inp, weight, bias, N, IC, OC, wl);
    if (!ad) return;
    int r = ad->r;
    if (training && ad->dropout > 0.0f) ad->seed = next_seed(ad->seed_src);
    const float *xin = adapter_input(ad, inp, N, training);
    rows_dot(ad->h, xin, ad->A, 1.0f, N, IC, r);          // h (N, r) = drop(x) A^T
    transpose(ad->bt, ad->B, OC, r);
    for (size_t i = 0; i < (size_t)N * r; i++) ad->h[i] *= ad->scaling;   // s h: kept for dB
    rows_axpy(out, ad->h, ad->bt, N, OC, r);              // out += s h B^T
}

void lmt_adapted_backward(bool set, float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                          const float *weight, const lmt_adapter *ad, int N, int IC, int OC, lmt_wlayout wl,
                          bool training) {
    if (set) lmt_linear_backward_set(dinp, dweight, dbias, dout, inp, weight, N, IC, OC, wl);
    else lmt_linear_backward(dinp, dweight, dbias, dout, inp, weight, N, IC, OC, wl);
    if (!ad || !ad->dA) return;
    int r = ad->r;
    /* dB (OC, r) += dout^T (s h): as dB^T (r, OC) in bt, then added */
    memset(ad->bt, 0, (size_t)r * OC * sizeof(float));
    cols_outer(ad->bt, ad->h, dout, 1.0f, N, OC, r);
    for (int o = 0; o < OC; o++)
        for (int j = 0; j < r; j++) ad->dB[(size_t)o * r + j] += ad->bt[(size_t)j * OC + o];
    /* d(h) (N, r) = s dout B, into h (no longer needed) */
    transpose(ad->bt, ad->B, OC, r);
    rows_dot(ad->h, dout, ad->bt, ad->scaling, N, OC, r);
    bool drop = training && ad->dropout > 0.0f;
    const float *xin = adapter_input(ad, inp, N, training);
    cols_outer(ad->dA, ad->h, xin, 1.0f, N, IC, r);       // dA (r, IC) += d(h)^T drop(x)
    if (!dinp) return;
    if (!drop) {                                          // dinp += d(h) A
        rows_axpy(dinp, ad->h, ad->A, N, IC, r);
        return;
    }
    memset(ad->xd, 0, (size_t)N * IC * sizeof(float));
    rows_axpy(ad->xd, ad->h, ad->A, N, IC, r);
    lmt_dropout_backward_set(ad->xd, ad->xd, (size_t)N * IC, ad->dropout, ad->seed);
    for (size_t i = 0; i < (size_t)N * IC; i++) dinp[i] += ad->xd[i];
}
