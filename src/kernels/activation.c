#include <math.h>
#include <string.h>
#include "kernels/activation.h"
#include "kernels/fastmath.h"
#include "kernels/parallel.h"
#include "kernels/variant.h"

#define GELU_K 0.7978845608028654f   /* sqrt(2/pi) */
#define GELU_A 0.044715f
#define INV_SQRT2 0.7071067811865476f
#define INV_SQRT_2PI 0.3989422804014327f

/* One element of each activation and of its derivative: every kernel below
 * uses these, so the formulas exist once. */
#pragma omp declare simd notinbranch
static inline float gelu_tanh(float x) { return 0.5f * x * (1.0f + lmt_tanhf(GELU_K * (x + GELU_A * x * x * x))); }
#pragma omp declare simd notinbranch
static inline float gelu_tanh_grad(float x) {
    float t = lmt_tanhf(GELU_K * (x + GELU_A * x * x * x));
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * GELU_K * (1.0f + 3.0f * GELU_A * x * x);
}
static inline float gelu(float x) { return 0.5f * x * (1.0f + erff(x * INV_SQRT2)); }
static inline float gelu_grad(float x) {
    return 0.5f * (1.0f + erff(x * INV_SQRT2)) + x * INV_SQRT_2PI * expf(-0.5f * x * x);
}
#pragma omp declare simd notinbranch
static inline float silu(float x) { return x / (1.0f + lmt_expf(-x)); }
#pragma omp declare simd notinbranch
static inline float silu_grad(float x) {
    float s = 1.0f / (1.0f + lmt_expf(-x));
    return s * (1.0f + x * (1.0f - s));
}

static inline float act_value(float x, lmt_activation act) {
    switch (act) {
    case LMT_ACT_GELU_TANH: return gelu_tanh(x);
    case LMT_ACT_GELU: return gelu(x);
    case LMT_ACT_RELU: return x > 0.0f ? x : 0.0f;
    default: return silu(x);
    }
}

static inline float act_grad(float x, lmt_activation act) {
    switch (act) {
    case LMT_ACT_GELU_TANH: return gelu_tanh_grad(x);
    case LMT_ACT_GELU: return gelu_grad(x);
    case LMT_ACT_RELU: return x > 0.0f ? 1.0f : 0.0f;
    default: return silu_grad(x);
    }
}

void LMT_KERNEL_FN(lmt_activation_forward)(float *out, const float *inp, size_t n, lmt_activation act) {
    switch (act) {
    case LMT_ACT_GELU_TANH:
#pragma omp parallel for simd schedule(static) if (n >= LMT_PAR_MIN)
        for (size_t i = 0; i < n; i++) out[i] = gelu_tanh(inp[i]);
        break;
    case LMT_ACT_GELU:
#pragma omp parallel for schedule(static) if (n >= LMT_PAR_MIN)
        for (size_t i = 0; i < n; i++) out[i] = gelu(inp[i]);
        break;
    case LMT_ACT_RELU:
#pragma omp parallel for simd schedule(static) if (n >= LMT_PAR_MIN)
        for (size_t i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
        break;
    case LMT_ACT_SILU:
#pragma omp parallel for simd schedule(static) if (n >= LMT_PAR_MIN)
        for (size_t i = 0; i < n; i++) out[i] = silu(inp[i]);
        break;
    }
}

void LMT_KERNEL_FN(lmt_activation_backward)(float *dinp, const float *dout, const float *inp, size_t n, lmt_activation act) {
    switch (act) {
    case LMT_ACT_GELU_TANH:
#pragma omp parallel for simd schedule(static) if (n >= LMT_PAR_MIN)
        for (size_t i = 0; i < n; i++) dinp[i] += dout[i] * gelu_tanh_grad(inp[i]);
        break;
    case LMT_ACT_GELU:
#pragma omp parallel for schedule(static) if (n >= LMT_PAR_MIN)
        for (size_t i = 0; i < n; i++) dinp[i] += dout[i] * gelu_grad(inp[i]);
        break;
    case LMT_ACT_RELU:
#pragma omp parallel for simd schedule(static) if (n >= LMT_PAR_MIN)
        for (size_t i = 0; i < n; i++) dinp[i] += inp[i] > 0.0f ? dout[i] : 0.0f;
        break;
    case LMT_ACT_SILU:
#pragma omp parallel for simd schedule(static) if (n >= LMT_PAR_MIN)
        for (size_t i = 0; i < n; i++) dinp[i] += dout[i] * silu_grad(inp[i]);
        break;
    }
}

void LMT_KERNEL_FN(lmt_bias_activation_forward)(float *pre, float *out, const float *bias, int N, int F, lmt_activation act) {
#pragma omp parallel for schedule(static) if ((long)N * F >= LMT_PAR_MIN)
    for (long n = 0; n < N; n++) {
        float *h = pre + n * F, *o = out + n * F;
        if (act == LMT_ACT_GELU_TANH) {   // the common case, a loop of its own for the vectoriser
#pragma omp simd
            for (int f = 0; f < F; f++) { h[f] += bias[f]; o[f] = gelu_tanh(h[f]); }
        } else {
            for (int f = 0; f < F; f++) { h[f] += bias[f]; o[f] = act_value(h[f], act); }
        }
    }
}

/* Row chunks of a fixed size: the bias gradient is summed per chunk and the
 * chunks added in order, the same for any number of threads. */
enum { BIAS_ROWS = 64 };

void LMT_KERNEL_FN(lmt_activation_bias_backward)(float *dpre, float *dbias, const float *dout, const float *pre, int N, int F,
                                                 lmt_activation act, float *scratch) {
    long chunks = (N + BIAS_ROWS - 1) / BIAS_ROWS;
#pragma omp parallel for schedule(static) if ((long)N * F >= LMT_PAR_MIN)
    for (long c = 0; c < chunks; c++) {
        float *part = scratch + c * F;
        memset(part, 0, (size_t)F * sizeof(float));
        long n1 = (c + 1) * BIAS_ROWS < N ? (c + 1) * BIAS_ROWS : N;
        for (long n = c * BIAS_ROWS; n < n1; n++) {
            const float *x = pre + n * F, *d = dout + n * F;
            float *di = dpre + n * F;
            if (act == LMT_ACT_GELU_TANH) {
#pragma omp simd
                for (int f = 0; f < F; f++) { di[f] = d[f] * gelu_tanh_grad(x[f]); part[f] += di[f]; }
            } else {
                for (int f = 0; f < F; f++) { di[f] = d[f] * act_grad(x[f], act); part[f] += di[f]; }
            }
        }
    }
    if (!dbias) return;
#pragma omp parallel if (chunks * F >= LMT_PAR_MIN)
    {
        long f0, f1;
        lmt_thread_slice(F, 16, &f0, &f1);
        for (long c = 0; c < chunks && f0 < f1; c++)
            for (long f = f0; f < f1; f++) dbias[f] += scratch[c * F + f];
    }
}

/* the same at every level: one copy (kernels/variant.h) */
#if LMT_KERNEL_ONCE
size_t lmt_activation_bias_scratch_floats(int N, int F) { return (size_t)((N + BIAS_ROWS - 1) / BIAS_ROWS) * F; }
#endif

void LMT_KERNEL_FN(lmt_swiglu_forward)(float *out, const float *gate, const float *up, size_t n) {
#pragma omp parallel for simd schedule(static) if (n >= LMT_PAR_MIN)
    for (size_t i = 0; i < n; i++) out[i] = silu(gate[i]) * up[i];
}

void LMT_KERNEL_FN(lmt_swiglu_backward)(float *dgate, float *dup, const float *dout, const float *gate, const float *up,
                                        size_t n) {
#pragma omp parallel for simd schedule(static) if (n >= LMT_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float g = gate[i], d = dout[i];
        dgate[i] = d * up[i] * silu_grad(g);
        dup[i] = d * silu(g);
    }
}
