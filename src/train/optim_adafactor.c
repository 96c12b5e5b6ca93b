/* transformers.optimization.Adafactor as the Trainer configures it
 * (optim="adafactor": lr from the scheduler, scale_parameter=False,
 * relative_step=False, warmup_init=False, beta1=None, eps=(1e-30, 1e-3),
 * clip_threshold=1.0, decay_rate=-0.8). Tensors of two or more dimensions,
 * seen as (B, R, C), keep factored second moments: a row (B, R) and a
 * column (B, C) average of g^2 + eps; 1-D tensors keep the full one. The
 * update g / sqrt(v) is scaled down to RMS <= clip_threshold, times lr;
 * weight decay shrinks p by wd * lr first. */
#include <math.h>
#include "train/optimizer.h"

static const float EPS1 = 1e-30f, CLIP_THRESHOLD = 1.0f;
static const double DECAY_RATE = -0.8;

/* (B, R, C) of a parameter: C its last dimension, R the one before, B the rest. */
static void dims(const lmt_param_spec *ps, size_t *B, size_t *R, size_t *C) {
    *C = (size_t)ps->shape[ps->ndim - 1];
    *R = ps->ndim >= 2 ? (size_t)ps->shape[ps->ndim - 2] : 1;
    *B = ps->numel / (*R * *C);
}

static bool factored(const lmt_param_spec *ps) { return ps->ndim >= 2; }

size_t lmt_adafactor_plan(lmt_optimizer *o) {
    size_t total = 0;
    for (size_t k = 0; k < o->layout->n_params; k++) {
        const lmt_param_spec *ps = &o->layout->params[k];
        o->offsets[k] = total;
        if (!lmt_optim_trained(ps)) continue;
        size_t B, R, C;
        dims(ps, &B, &R, &C);
        total += factored(ps) ? B * (R + C) : ps->numel;
    }
    o->offsets[o->layout->n_params] = total;
    return total;
}

/* sum of (g * gs)^2 + eps1 over n elements */
static double sq_sum(const float *g, float gs, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        float x = g[i] * gs;
        s += x * x + EPS1;
    }
    return s;
}

typedef struct { float *p; const float *g; float gs; size_t B, R, C; float *row, *col, *v; } tensor_c;

/* The update at element (b, r, c) before clipping: g * rsqrt(v_hat). */
static inline float raw_update(const tensor_c *t, const float *rfac, size_t b, size_t r, size_t c) {
    size_t i = (b * t->R + r) * t->C + c;
    float g = t->g[i] * t->gs;
    if (t->v) return g / sqrtf(t->v[i]);
    return rfac[b * t->R + r] * (1.0f / sqrtf(t->col[b * t->C + c])) * g;
}

static void step_tensor(tensor_c *t, float beta2t, float lr, float wd, float *rfac, double *colsum) {
    size_t B = t->B, R = t->R, C = t->C, n = B * R * C;
    float w = 1.0f - beta2t;
    if (t->v) {
        for (size_t i = 0; i < n; i++) {
            float g = t->g[i] * t->gs;
            t->v[i] = t->v[i] * beta2t + w * (g * g + EPS1);
        }
    } else {
        for (size_t b = 0; b < B; b++) {
            const float *gb = t->g + b * R * C;
            for (size_t r = 0; r < R; r++) {   /* update.mean(dim=-1) */
                float *row = &t->row[b * R + r];
                *row = *row * beta2t + w * (float)(sq_sum(gb + r * C, t->gs, C) / (double)C);
            }
            /* update.mean(dim=-2): the column sums row by row (in memory order), each in row order */
            for (size_t c = 0; c < C; c++) colsum[c] = 0;
            for (size_t r = 0; r < R; r++) {
                const float *g = gb + r * C;
                for (size_t c = 0; c < C; c++) {
                    float x = g[c] * t->gs;
                    colsum[c] += x * x + EPS1;
                }
            }
            for (size_t c = 0; c < C; c++) {
                float *col = &t->col[b * C + c];
                *col = *col * beta2t + w * (float)(colsum[c] / (double)R);
            }
            /* r_factor = rsqrt(row / row.mean(-1)) */
            double rs = 0;
            for (size_t r = 0; r < R; r++) rs += t->row[b * R + r];
            float rmean = (float)(rs / (double)R);
            for (size_t r = 0; r < R; r++) rfac[b * R + r] = 1.0f / sqrtf(t->row[b * R + r] / rmean);
        }
    }
    /* clip: update / max(1, rms(update) / clip_threshold) */
    double ss = 0;
    for (size_t b = 0; b < B; b++)
        for (size_t r = 0; r < R; r++)
            for (size_t c = 0; c < C; c++) {
                float u = raw_update(t, rfac, b, r, c);
                ss += (double)u * u;
            }
    float rms = (float)(sqrt(ss) / sqrt((double)n)) / CLIP_THRESHOLD;
    float denom = rms > 1.0f ? rms : 1.0f;
    float shrink = -wd * lr;
    for (size_t b = 0; b < B; b++)
        for (size_t r = 0; r < R; r++)
            for (size_t c = 0; c < C; c++) {
                size_t i = (b * R + r) * C + c;
                float u = raw_update(t, rfac, b, r, c) / denom * lr;
                if (wd != 0.0f) t->p[i] += t->p[i] * shrink;
                t->p[i] += -u;
            }
}

void lmt_adafactor_step(lmt_optimizer *o, float *params, const float *grads, double lr, float grad_scale) {
    const lmt_layout *L = o->layout;
    float beta2t = (float)(1.0 - pow((double)o->step, DECAY_RATE));
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t k = 0; k < L->n_params; k++) {
        const lmt_param_spec *ps = &L->params[k];
        if (!lmt_optim_trained(ps)) continue;
        tensor_c t = {params + ps->offset, grads + ps->offset, grad_scale, 0, 0, 0, NULL, NULL, NULL};
        dims(ps, &t.B, &t.R, &t.C);
        float *st = o->state[0] + o->offsets[k];
        float *rfac = o->scratch + o->offsets[k];   /* (B, R) row factors */
        if (factored(ps)) {
            t.row = st;
            t.col = st + t.B * t.R;
        } else {
            t.B = 1; t.R = 1; t.C = ps->numel;
            t.v = st;
        }
        step_tensor(&t, beta2t, (float)lr, lmt_optim_decay(o, ps), rfac, o->scratch_d + o->offsets[k]);
    }
}
