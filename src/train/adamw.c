#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "train/adamw.h"

static bool trained(const lmt_param_spec *p) { return !(p->flags & (LMT_PARAM_BUFFER | LMT_PARAM_STATIC)); }

lmt_status lmt_adamw_init(lmt_adamw *opt, const lmt_layout *layout, double beta1, double beta2, double eps,
                          double weight_decay) {
    memset(opt, 0, sizeof *opt);
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps >= 0) || !(weight_decay >= 0))
        return lmt_fail(LMT_ERR_ARG, "AdamW: invalid settings (betas %g, %g, eps %g, weight decay %g)", beta1, beta2, eps, weight_decay);
    opt->beta1 = beta1;
    opt->beta2 = beta2;
    opt->eps = eps;
    opt->weight_decay = weight_decay;
    opt->layout = layout;
    opt->n = layout->num_floats;
    if (opt->n > SIZE_MAX / sizeof(float)) return lmt_fail(LMT_ERR_NOMEM, "AdamW: too many parameters");
    opt->m = lmt_aligned_alloc(opt->n * sizeof(float));
    opt->v = lmt_aligned_alloc(opt->n * sizeof(float));
    if (!opt->m || !opt->v) {
        lmt_adamw_free(opt);
        return lmt_fail(LMT_ERR_NOMEM, "AdamW: out of memory for the moments of %zu parameters", layout->num_floats);
    }
    memset(opt->m, 0, opt->n * sizeof(float));
    memset(opt->v, 0, opt->n * sizeof(float));
    return LMT_OK;
}

void lmt_adamw_free(lmt_adamw *opt) {
    lmt_aligned_free(opt->m);
    lmt_aligned_free(opt->v);
    opt->m = opt->v = NULL;
}

void lmt_adamw_step(lmt_adamw *opt, float *params, const float *grads, double lr) {
    lmt_adamw_step_scaled(opt, params, grads, lr, 1.0f);
}

void lmt_adamw_step_scaled(lmt_adamw *opt, float *params, const float *grads, double lr, float grad_scale) {
    opt->step++;
    /* Scalars as torch computes them (Python floats), used in fp32 ops. */
    double bc1 = 1.0 - pow(opt->beta1, (double)opt->step);
    double bc2 = 1.0 - pow(opt->beta2, (double)opt->step);
    float step_size = (float)(lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    float w1 = (float)(1.0 - opt->beta1), b2 = (float)opt->beta2, w2 = (float)(1.0 - opt->beta2);
    float eps = (float)opt->eps;
    const lmt_layout *L = opt->layout;
    bool scaled = grad_scale != 1.0f;
    /* one parallel region for the whole buffer; each tensor split between the threads */
#pragma omp parallel
    for (size_t k = 0; k < L->n_params; k++) {
        const lmt_param_spec *ps = &L->params[k];
        if (!trained(ps)) continue;
        float decay = (ps->flags & LMT_PARAM_NO_DECAY) ? 1.0f : (float)(1.0 - lr * opt->weight_decay);
        float *p = params + ps->offset, *m = opt->m + ps->offset, *v = opt->v + ps->offset;
        const float *g = grads + ps->offset;
        long n = (long)ps->numel;
#pragma omp for simd schedule(static) nowait
        for (long i = 0; i < n; i++) {
            float gi = scaled ? g[i] * grad_scale : g[i];   // clip_grad_norm_'s g.mul_(coef), fused
            float pi = p[i] * decay;
            m[i] = m[i] + w1 * (gi - m[i]);              // exp_avg.lerp_(grad, 1 - beta1)
            v[i] = v[i] * b2 + w2 * gi * gi;             // exp_avg_sq.mul_(beta2).addcmul_(g, g, 1 - beta2)
            float denom = sqrtf(v[i]) / bc2_sqrt + eps;
            p[i] = pi + (-step_size) * m[i] / denom;
        }
    }
}

/* Sum of squares of every trained tensor in double, in one parallel region:
 * each thread sums its contiguous share of each tensor, and the partials are
 * added in (tensor, thread) order, so runs are bit-reproducible. */
double lmt_grad_norm(const float *grads, const lmt_layout *layout) {
    enum { MAX_T = 64 };
    size_t np = layout->n_params;
    double *part = calloc(np * MAX_T, sizeof *part);
    if (!part) {   // no memory for the partials: one thread, same arithmetic per tensor
        double total = 0.0;
        for (size_t k = 0; k < np; k++) {
            const lmt_param_spec *ps = &layout->params[k];
            if (!trained(ps)) continue;
            for (size_t i = 0; i < ps->numel; i++) total += (double)grads[ps->offset + i] * grads[ps->offset + i];
        }
        return sqrt(total);
    }
    int used = 1;
#pragma omp parallel num_threads(omp_get_max_threads() < MAX_T ? omp_get_max_threads() : MAX_T)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        for (size_t k = 0; k < np; k++) {
            const lmt_param_spec *ps = &layout->params[k];
            if (!trained(ps)) continue;
            const float *x = grads + ps->offset;
            long n = (long)ps->numel, per = (n + nt - 1) / nt, a = t * per, b = a + per < n ? a + per : n;
            double s = 0.0;
#pragma omp simd reduction(+:s)
            for (long i = a; i < b; i++) s += (double)x[i] * x[i];
            part[k * MAX_T + t] = s;
        }
        if (t == 0) used = nt;
    }
    double total = 0.0;
    for (size_t k = 0; k < np; k++)
        for (int t = 0; t < used; t++) total += part[k * MAX_T + t];
    free(part);
    return sqrt(total);
}

float lmt_clip_coef(double norm, double max_norm) {
    if (max_norm <= 0) return 1.0f;
    /* torch: clip_coef = max_norm / (total_norm + 1e-6), clamped to 1 */
    float coef = (float)max_norm / ((float)norm + 1e-6f);
    return coef < 1.0f ? coef : 1.0f;
}

double lmt_clip_grad_norm(float *grads, const lmt_layout *layout, double max_norm) {
    double norm = lmt_grad_norm(grads, layout);
    if (max_norm > 0) {
        float coef = lmt_clip_coef(norm, max_norm);
        if (coef < 1.0f) {
            for (size_t k = 0; k < layout->n_params; k++) {
                const lmt_param_spec *ps = &layout->params[k];
                if (!trained(ps)) continue;
                float *g = grads + ps->offset;
                long n = (long)ps->numel;
#pragma omp parallel for simd schedule(static)
                for (long i = 0; i < n; i++) g[i] *= coef;
            }
        }
    }
    return norm;
}
