#include "kernels/optimizer.h"
#include <math.h>
#include <stdbool.h>
#include "kernels/parallel.h"
#include "kernels/variant.h"

void LMT_KERNEL_FN(lmt_adamw_update)(float *p, float *m, float *v, const float *g, long n, const lmt_adamw_coefs *c) {
    const float w1 = c->w1, b2 = c->b2, w2 = c->w2, bc2_sqrt = c->bc2_sqrt, eps = c->eps;
    const float step_size = c->step_size, decay = c->decay, grad_scale = c->grad_scale;
    const bool scaled = grad_scale != 1.0f;
#pragma omp simd
    for (long i = 0; i < n; i++) {
        float gi = scaled ? g[i] * grad_scale : g[i];   // clip_grad_norm_'s g.mul_(coef), fused
        float pi = p[i] * decay;
        m[i] = m[i] + w1 * (gi - m[i]);              // exp_avg.lerp_(grad, 1 - beta1)
        v[i] = v[i] * b2 + w2 * gi * gi;             // exp_avg_sq.mul_(beta2).addcmul_(g, g, 1 - beta2)
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] = pi + (-step_size) * m[i] / denom;
    }
}

double LMT_KERNEL_FN(lmt_sum_squares)(const float *x, long n) {
    double s = 0.0;
#pragma omp simd reduction(+:s)
    for (long i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

void LMT_KERNEL_FN(lmt_scale_floats)(float *x, long n, float s) {
#pragma omp parallel for simd schedule(static) if (n >= LMT_PAR_MIN)
    for (long i = 0; i < n; i++) x[i] *= s;
}
