#include <math.h>
#include "kernels/activation.h"
#include "kernels/fastmath.h"

#define GELU_K 0.7978845608028654f   /* sqrt(2/pi) */
#define GELU_A 0.044715f
#define INV_SQRT2 0.7071067811865476f
#define INV_SQRT_2PI 0.3989422804014327f

void lmt_activation_forward(float *out, const float *inp, size_t n, lmt_activation act) {
    switch (act) {
    case LMT_ACT_GELU_TANH:
#pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) {
            float x = inp[i];
            out[i] = 0.5f * x * (1.0f + lmt_tanhf(GELU_K * (x + GELU_A * x * x * x)));
        }
        break;
    case LMT_ACT_GELU:
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) out[i] = 0.5f * inp[i] * (1.0f + erff(inp[i] * INV_SQRT2));
        break;
    case LMT_ACT_RELU:
#pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
        break;
    case LMT_ACT_SILU:
#pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) out[i] = inp[i] / (1.0f + lmt_expf(-inp[i]));
        break;
    }
}

void lmt_activation_backward(float *dinp, const float *dout, const float *inp, size_t n, lmt_activation act) {
    switch (act) {
    case LMT_ACT_GELU_TANH:
#pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) {
            float x = inp[i];
            float t = lmt_tanhf(GELU_K * (x + GELU_A * x * x * x));
            float g = 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * GELU_K * (1.0f + 3.0f * GELU_A * x * x);
            dinp[i] += dout[i] * g;
        }
        break;
    case LMT_ACT_GELU:
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            float x = inp[i];
            float g = 0.5f * (1.0f + erff(x * INV_SQRT2)) + x * INV_SQRT_2PI * expf(-0.5f * x * x);
            dinp[i] += dout[i] * g;
        }
        break;
    case LMT_ACT_RELU:
#pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) dinp[i] += inp[i] > 0.0f ? dout[i] : 0.0f;
        break;
    case LMT_ACT_SILU:
#pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) {
            float s = 1.0f / (1.0f + lmt_expf(-inp[i]));
            dinp[i] += dout[i] * s * (1.0f + inp[i] * (1.0f - s));
        }
        break;
    }
}
