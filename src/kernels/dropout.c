#include <string.h>
#include "kernels/parallel.h"
#include "kernels/dropout.h"
#include "kernels/variant.h"

void LMT_KERNEL_FN(lmt_dropout_forward)(float *out, const float *inp, size_t n, float p, uint64_t seed) {
    if (p <= 0.0f) {
        if (out != inp) memcpy(out, inp, n * sizeof(float));
        return;
    }
    float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
#pragma omp parallel for schedule(static) if (n >= LMT_PAR_MIN)
    for (size_t i = 0; i < n; i++) out[i] = lmt_dropout_keep(seed, i, p) ? inp[i] * scale : 0.0f;
}

void LMT_KERNEL_FN(lmt_dropout_backward)(float *dinp, const float *dout, size_t n, float p, uint64_t seed) {
    float scale = p <= 0.0f ? 1.0f : (p < 1.0f ? 1.0f / (1.0f - p) : 0.0f);
#pragma omp parallel for schedule(static) if (n >= LMT_PAR_MIN)
    for (size_t i = 0; i < n; i++)
        if (p <= 0.0f || lmt_dropout_keep(seed, i, p)) dinp[i] += dout[i] * scale;
}

void LMT_KERNEL_FN(lmt_dropout_residual_forward)(float *out, const float *inp, const float *resid, size_t n, float p, uint64_t seed) {
    if (p <= 0.0f) {
#pragma omp parallel for simd schedule(static) if (n >= LMT_PAR_MIN)
        for (size_t i = 0; i < n; i++) out[i] = resid[i] + inp[i];
        return;
    }
    float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
#pragma omp parallel for schedule(static) if (n >= LMT_PAR_MIN)
    for (size_t i = 0; i < n; i++) out[i] = resid[i] + (lmt_dropout_keep(seed, i, p) ? inp[i] * scale : 0.0f);
}

void LMT_KERNEL_FN(lmt_dropout_backward_set)(float *dinp, const float *dout, size_t n, float p, uint64_t seed) {
    float scale = p <= 0.0f ? 1.0f : (p < 1.0f ? 1.0f / (1.0f - p) : 0.0f);
#pragma omp parallel for schedule(static) if (n >= LMT_PAR_MIN)
    for (size_t i = 0; i < n; i++) dinp[i] = (p <= 0.0f || lmt_dropout_keep(seed, i, p)) ? dout[i] * scale : 0.0f;
}

void LMT_KERNEL_FN(lmt_dropout_row)(float *x, size_t n, float p, uint64_t seed, uint64_t base) {
    if (p <= 0.0f) return;
    float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    for (size_t i = 0; i < n; i++) x[i] = lmt_dropout_keep(seed, base + i, p) ? x[i] * scale : 0.0f;
}
