#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "kernels/optimizer.h"
#include "kernels/parallel.h"
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
    lmt_adamw_coefs c = {.w1 = w1, .b2 = b2, .w2 = w2, .bc2_sqrt = bc2_sqrt, .eps = eps, .step_size = step_size,
                         .grad_scale = grad_scale};
    /* one parallel region for the whole buffer; each tensor split between the
     * threads, whose shares go to the element kernel (kernels/optimizer.h) */
#pragma omp parallel firstprivate(c)
    for (size_t k = 0; k < L->n_params; k++) {
        const lmt_param_spec *ps = &L->params[k];
        if (!trained(ps)) continue;
        c.decay = (ps->flags & LMT_PARAM_NO_DECAY) ? 1.0f : (float)(1.0 - lr * opt->weight_decay);
        long lo, hi;
        lmt_thread_slice((long)ps->numel, 16, &lo, &hi);
        if (lo < hi) {
            const size_t o = ps->offset + (size_t)lo;
            lmt_adamw_update(params + o, opt->m + o, opt->v + o, grads + o, hi - lo, &c);
        }
    }
}

/* Sum of squares of every trained tensor in double. Each tensor is cut into
 * chunks of a fixed size whose sums are added in order, so the norm is the
 * same for any number of threads (bit-reproducible runs). */
enum { NORM_CHUNK = 1 << 16 };

typedef struct { const float *x; long n; } norm_chunk;

double lmt_grad_norm(const float *grads, const lmt_layout *layout) {
    size_t nc = 0;
    for (size_t k = 0; k < layout->n_params; k++)
        if (trained(&layout->params[k])) nc += (layout->params[k].numel + NORM_CHUNK - 1) / NORM_CHUNK;
    norm_chunk *ch = malloc(nc * sizeof *ch);
    double *part = malloc(nc * sizeof *part);
    double total = 0.0;
    if (!ch || !part) {   // no memory for the partials: one thread, the same sums in the same order
        for (size_t k = 0; k < layout->n_params; k++) {
            const lmt_param_spec *ps = &layout->params[k];
            if (!trained(ps)) continue;
            for (size_t i = 0; i < ps->numel; i += NORM_CHUNK)
                total += lmt_sum_squares(grads + ps->offset + i, (long)(ps->numel - i < NORM_CHUNK ? ps->numel - i : NORM_CHUNK));
        }
    } else {
        size_t c = 0;
        for (size_t k = 0; k < layout->n_params; k++) {
            const lmt_param_spec *ps = &layout->params[k];
            if (!trained(ps)) continue;
            for (size_t i = 0; i < ps->numel; i += NORM_CHUNK)
                ch[c++] = (norm_chunk){grads + ps->offset + i, (long)(ps->numel - i < NORM_CHUNK ? ps->numel - i : NORM_CHUNK)};
        }
#pragma omp parallel for schedule(static) if (nc > 1)
        for (size_t i = 0; i < nc; i++) part[i] = lmt_sum_squares(ch[i].x, ch[i].n);
        for (size_t i = 0; i < nc; i++) total += part[i];
    }
    free(ch);
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
                lmt_scale_floats(grads + ps->offset, (long)ps->numel, coef);
            }
        }
    }
    return norm;
}
