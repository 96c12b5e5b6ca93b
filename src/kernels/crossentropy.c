#include <math.h>
#include <string.h>
#include "kernels/parallel.h"
#include "kernels/crossentropy.h"
#include "kernels/fastmath.h"
#include "kernels/variant.h"

/* log(sum(exp(x))) of one row, with the max subtracted first. */
static inline float row_lse(const float *x, int V) {
    float mx = -INFINITY;
#pragma omp simd reduction(max:mx)
    for (int v = 0; v < V; v++) mx = x[v] > mx ? x[v] : mx;
    float s = 0.0f;
#pragma omp simd reduction(+:s)
    for (int v = 0; v < V; v++) s += lmt_expf(x[v] - mx);
    return mx + logf(s);
}

long LMT_KERNEL_FN(lmt_crossentropy_forward)(float *losses, float *lse, const float *logits, const int32_t *targets, int N, int V) {
    long count = 0;
#pragma omp parallel for schedule(static) reduction(+:count) if ((long)N * V >= LMT_PAR_MIN)
    for (long n = 0; n < N; n++) {
        int32_t t = targets[n];
        if (t == LMT_IGNORE_INDEX) { losses[n] = 0.0f; continue; }
        const float *x = logits + n * V;     // (V)
        float l = row_lse(x, V);
        lse[n] = l;
        losses[n] = l - x[t];
        count++;
    }
    return count;
}

void LMT_KERNEL_FN(lmt_crossentropy_backward)(float *dlogits, const float *logits, const float *lse, const int32_t *targets,
                                              float dloss, int N, int V) {
#pragma omp parallel for schedule(static) if ((long)N * V >= LMT_PAR_MIN)
    for (long n = 0; n < N; n++) {
        int32_t t = targets[n];
        float *d = dlogits + n * V;
        if (t == LMT_IGNORE_INDEX) { memset(d, 0, (size_t)V * sizeof(float)); continue; }
        const float *x = logits + n * V;
        float l = lse[n];
#pragma omp simd
        for (int v = 0; v < V; v++) d[v] = dloss * lmt_expf(x[v] - l);
        d[t] -= dloss;
    }
}

long LMT_KERNEL_FN(lmt_crossentropy_forward_grad)(float *losses, float *logits, const int32_t *targets, int N, int V) {
    long count = 0;
#pragma omp parallel for schedule(static) reduction(+:count) if ((long)N * V >= LMT_PAR_MIN)
    for (long n = 0; n < N; n++) {
        int32_t t = targets[n];
        float *x = logits + n * V;     // (V), becomes its gradient
        if (t == LMT_IGNORE_INDEX) { losses[n] = 0.0f; memset(x, 0, (size_t)V * sizeof(float)); continue; }
        float l = row_lse(x, V);
        losses[n] = l - x[t];
#pragma omp simd
        for (int v = 0; v < V; v++) x[v] = lmt_expf(x[v] - l);
        x[t] -= 1.0f;
        count++;
    }
    return count;
}
