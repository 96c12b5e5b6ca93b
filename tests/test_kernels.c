/* Every layer kernel against an independent double-precision reference:
 * the forward against the reference's output, the backward against central
 * finite differences of the reference (h = 1e-5 in double, so the reference
 * gradient is exact to ~1e-9 and the tolerance only covers fp32 rounding).
 * The backward kernels accumulate, so gradients start from a non-zero
 * value and the test checks the increment. */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "core/cpu.h"
#include "core/util.h"
#include "core/rng.h"
#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "kernels/rows.h"
#include "kernels/crossentropy.h"
#include "kernels/dropout.h"
#include "kernels/embedding.h"
#include "kernels/layernorm.h"
#include "kernels/linear.h"
#include "kernels/residual.h"
#include "kernels/rope.h"
#include "kernels/zero.h"
#include "models/config.h"   /* lmt_activation_name, for messages */

static lmt_rng rng;
#define PRE 0.25f   /* initial value of every gradient buffer */

static double *rand_d(size_t n, double scale) {
    double *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = scale * (2.0 * lmt_rng_uniform(&rng) - 1.0);
    return x;
}
static float *to_f(const double *x, size_t n) {
    float *f = malloc(n * sizeof *f);
    for (size_t i = 0; i < n; i++) f[i] = (float)x[i];
    return f;
}
/* Round the double inputs to fp32 so both sides see the same numbers. */
static double *rand_df(size_t n, double scale) {
    double *x = rand_d(n, scale);
    for (size_t i = 0; i < n; i++) x[i] = (float)x[i];
    return x;
}
static float *filled(size_t n, float v) {
    float *f = malloc(n * sizeof *f);
    for (size_t i = 0; i < n; i++) f[i] = v;
    return f;
}

/* |got - want| <= atol + rtol * |want| everywhere; one CHECK per array. */
static void close_d(const char *what, const float *got, const double *want, size_t n, double offset, double atol,
                    double rtol) {
    double worst = 0;
    size_t at = 0;
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        double g = (double)got[i] - offset, err = fabs(g - want[i]);
        double lim = atol + rtol * fabs(want[i]);
        if (!(err <= lim)) ok = false;
        if (!(err <= worst) || isnan(err)) { worst = err; at = i; }
    }
    CHECK_MSG(ok, "%s: worst error %.3g at [%zu] (got %.9g, want %.9g)", what, worst, at, (double)got[at] - offset, want[at]);
}

/* Finite differences of loss() with respect to x[0..n). */
typedef double (*loss_fn)(void *ctx);
static double *fd(loss_fn f, void *ctx, double *x, size_t n) {
    const double h = 1e-5;
    double *g = malloc(n * sizeof *g);
    for (size_t i = 0; i < n; i++) {
        double s = x[i];
        x[i] = s + h;
        double lp = f(ctx);
        x[i] = s - h;
        double lm = f(ctx);
        x[i] = s;
        g[i] = (lp - lm) / (2 * h);
    }
    return g;
}
static double dot(const double *w, const double *y, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += w[i] * y[i];
    return s;
}

#define ATOL 2e-5
#define RTOL 2e-4

/* ---------------------------------------------------------------- linear */
typedef struct { int N, IC, OC; lmt_wlayout wl; double *x, *w, *b, *dy, *y; } lin_ctx;
static void lin_ref(lin_ctx *c) {
    for (int n = 0; n < c->N; n++)
        for (int o = 0; o < c->OC; o++) {
            double s = c->b ? c->b[o] : 0;
            for (int i = 0; i < c->IC; i++)
                s += c->x[n * c->IC + i] * (c->wl == LMT_W_IN_OUT ? c->w[i * c->OC + o] : c->w[o * c->IC + i]);
            c->y[n * c->OC + o] = s;
        }
}
static double lin_loss(void *p) { lin_ctx *c = p; lin_ref(c); return dot(c->dy, c->y, (size_t)c->N * c->OC); }

static void test_linear(lmt_wlayout wl, bool bias) {
    lin_ctx c = {5, 7, 6, wl, NULL, NULL, NULL, NULL, NULL};
    size_t nx = (size_t)c.N * c.IC, nw = (size_t)c.IC * c.OC, ny = (size_t)c.N * c.OC;
    c.x = rand_df(nx, 1);
    c.w = rand_df(nw, 0.5);
    c.b = bias ? rand_df(c.OC, 0.5) : NULL;
    c.dy = rand_df(ny, 1);
    c.y = malloc(ny * sizeof(double));
    float *x = to_f(c.x, nx), *w = to_f(c.w, nw), *b = bias ? to_f(c.b, c.OC) : NULL, *dy = to_f(c.dy, ny);
    float *y = malloc(ny * sizeof(float));
    lmt_linear_forward(y, x, w, b, c.N, c.IC, c.OC, wl);
    lin_ref(&c);
    close_d(wl == LMT_W_IN_OUT ? "linear (in,out) forward" : "linear (out,in) forward", y, c.y, ny, 0, 1e-6, 1e-5);
    float *dx = filled(nx, PRE), *dw = filled(nw, PRE), *db = filled(c.OC, PRE);
    lmt_linear_backward(dx, dw, bias ? db : NULL, dy, x, w, c.N, c.IC, c.OC, wl);
    double *gx = fd(lin_loss, &c, c.x, nx), *gw = fd(lin_loss, &c, c.w, nw);
    close_d("linear dinp", dx, gx, nx, PRE, ATOL, RTOL);
    float *dx_set = filled(nx, NAN);   // overwritten: stale contents (even NaN) must not leak in
    lmt_linear_backward_set(dx_set, NULL, NULL, dy, x, w, c.N, c.IC, c.OC, wl);
    close_d("linear dinp (overwrite)", dx_set, gx, nx, 0, ATOL, RTOL);
    free(dx_set);
    close_d("linear dweight", dw, gw, nw, PRE, ATOL, RTOL);
    if (bias) {
        double *gb = fd(lin_loss, &c, c.b, c.OC);
        close_d("linear dbias", db, gb, c.OC, PRE, ATOL, RTOL);
        free(gb);
    }
    free(gx); free(gw); free(c.x); free(c.w); free(c.b); free(c.dy); free(c.y);
    free(x); free(w); free(b); free(dy); free(y); free(dx); free(dw); free(db);
}

/* ------------------------------------------------------------- layernorm */
typedef struct { int N, C; double eps; double *x, *w, *b, *dy, *y; } ln_ctx;
static void ln_ref(ln_ctx *c) {
    for (int n = 0; n < c->N; n++) {
        const double *x = c->x + n * c->C;
        double m = 0, v = 0;
        for (int i = 0; i < c->C; i++) m += x[i];
        m /= c->C;
        for (int i = 0; i < c->C; i++) v += (x[i] - m) * (x[i] - m);
        v /= c->C;
        for (int i = 0; i < c->C; i++) c->y[n * c->C + i] = (x[i] - m) / sqrt(v + c->eps) * c->w[i] + c->b[i];
    }
}
static double ln_loss(void *p) { ln_ctx *c = p; ln_ref(c); return dot(c->dy, c->y, (size_t)c->N * c->C); }

static void test_layernorm(void) {
    ln_ctx c = {6, 19, 1e-5, NULL, NULL, NULL, NULL, NULL};
    size_t n = (size_t)c.N * c.C;
    c.x = rand_df(n, 2);
    for (int i = 0; i < c.C; i++) c.x[i] = (float)(c.x[i] + 30.0);   // a row with a large mean
    c.w = rand_df(c.C, 1);
    c.b = rand_df(c.C, 1);
    c.dy = rand_df(n, 1);
    c.y = malloc(n * sizeof(double));
    float *x = to_f(c.x, n), *w = to_f(c.w, c.C), *b = to_f(c.b, c.C), *dy = to_f(c.dy, n);
    float *y = malloc(n * sizeof(float)), *mean = malloc(c.N * sizeof(float)), *rstd = malloc(c.N * sizeof(float));
    lmt_layernorm_forward(y, mean, rstd, x, w, b, c.N, c.C, (float)c.eps);
    ln_ref(&c);
    close_d("layernorm forward", y, c.y, n, 0, 2e-6, 1e-5);
    float *dx = filled(n, PRE), *dw = filled(c.C, PRE), *db = filled(c.C, PRE);
    lmt_layernorm_backward(dx, dw, db, dy, x, w, mean, rstd, c.N, c.C);
    double *gx = fd(ln_loss, &c, c.x, n), *gw = fd(ln_loss, &c, c.w, c.C), *gb = fd(ln_loss, &c, c.b, c.C);
    close_d("layernorm dinp", dx, gx, n, PRE, ATOL, RTOL);
    close_d("layernorm dweight", dw, gw, c.C, PRE, ATOL, RTOL);
    close_d("layernorm dbias", db, gb, c.C, PRE, ATOL, RTOL);
    free(gx); free(gw); free(gb); free(c.x); free(c.w); free(c.b); free(c.dy); free(c.y);
    free(x); free(w); free(b); free(dy); free(y); free(mean); free(rstd); free(dx); free(dw); free(db);
}

/* --------------------------------------------------------------- rmsnorm */
typedef struct { int N, C; double eps; double *x, *w, *dy, *y; } rms_ctx;
static void rms_ref(rms_ctx *c) {
    for (int n = 0; n < c->N; n++) {
        const double *x = c->x + n * c->C;
        double v = 0;
        for (int i = 0; i < c->C; i++) v += x[i] * x[i];
        v /= c->C;
        for (int i = 0; i < c->C; i++) c->y[n * c->C + i] = c->w[i] * (x[i] / sqrt(v + c->eps));
    }
}
static double rms_loss(void *p) { rms_ctx *c = p; rms_ref(c); return dot(c->dy, c->y, (size_t)c->N * c->C); }

static void test_rmsnorm(void) {
    rms_ctx c = {6, 19, 1e-6, NULL, NULL, NULL, NULL};
    size_t n = (size_t)c.N * c.C;
    c.x = rand_df(n, 2);
    for (int i = 0; i < c.C; i++) c.x[i] = (float)(c.x[i] * 30.0);   // a row of large values
    c.w = rand_df(c.C, 1);
    c.dy = rand_df(n, 1);
    c.y = malloc(n * sizeof(double));
    float *x = to_f(c.x, n), *w = to_f(c.w, c.C), *dy = to_f(c.dy, n);
    float *y = malloc(n * sizeof(float)), *rstd = malloc(c.N * sizeof(float));
    lmt_rmsnorm_forward(y, rstd, x, w, c.N, c.C, (float)c.eps);
    rms_ref(&c);
    close_d("rmsnorm forward", y, c.y, n, 0, 2e-6, 1e-5);
    float *dx = filled(n, PRE), *dw = filled(c.C, PRE);
    lmt_rmsnorm_backward(dx, dw, dy, x, w, rstd, c.N, c.C);
    double *gx = fd(rms_loss, &c, c.x, n), *gw = fd(rms_loss, &c, c.w, c.C);
    close_d("rmsnorm dinp", dx, gx, n, PRE, ATOL, RTOL);
    close_d("rmsnorm dweight", dw, gw, c.C, PRE, ATOL, RTOL);
    free(gx); free(gw); free(c.x); free(c.w); free(c.dy); free(c.y);
    free(x); free(w); free(dy); free(y); free(rstd); free(dx); free(dw);
}

/* ---------------------------------------------------------------- swiglu */
typedef struct { size_t n; double *g, *u, *dy, *y; } swiglu_ctx;
static void swiglu_ref(swiglu_ctx *c) {
    for (size_t i = 0; i < c->n; i++) c->y[i] = c->g[i] / (1 + exp(-c->g[i])) * c->u[i];
}
static double swiglu_loss(void *p) { swiglu_ctx *c = p; swiglu_ref(c); return dot(c->dy, c->y, c->n); }

static void test_swiglu(void) {
    swiglu_ctx c = {203, NULL, NULL, NULL, NULL};
    c.g = rand_df(c.n, 6);
    c.g[0] = 0.0; c.g[1] = -30.0; c.g[2] = 30.0;
    c.u = rand_df(c.n, 2);
    c.dy = rand_df(c.n, 1);
    c.y = malloc(c.n * sizeof(double));
    float *g = to_f(c.g, c.n), *u = to_f(c.u, c.n), *dy = to_f(c.dy, c.n), *y = malloc(c.n * sizeof(float));
    lmt_swiglu_forward(y, g, u, c.n);
    swiglu_ref(&c);
    close_d("swiglu forward", y, c.y, c.n, 0, 1e-6, 1e-5);
    float *dg = malloc(c.n * sizeof(float)), *du = malloc(c.n * sizeof(float));
    lmt_swiglu_backward(dg, du, dy, g, u, c.n);
    double *gg = fd(swiglu_loss, &c, c.g, c.n), *gu = fd(swiglu_loss, &c, c.u, c.n);
    close_d("swiglu dgate", dg, gg, c.n, 0, ATOL, RTOL);
    close_d("swiglu dup", du, gu, c.n, 0, ATOL, RTOL);
    /* d(up) may overwrite d(out) (the feed-forward block does) */
    lmt_swiglu_backward(dg, dy, dy, g, u, c.n);
    close_d("swiglu dup in place", dy, gu, c.n, 0, ATOL, RTOL);
    free(gg); free(gu); free(c.g); free(c.u); free(c.dy); free(c.y);
    free(g); free(u); free(dy); free(y); free(dg); free(du);
}

/* ------------------------------------------------------------------ rope */
/* transformers' apply_rotary_pos_emb: q * cos + rotate_half(q) * sin, with
 * the (T, hs / 2) tables repeated over both halves; the backward is the
 * transposed rotation (the rotation's inverse). */
static void test_rope(void) {
    int B = 2, T = 5, NH = 3, hs = 8, half = hs / 2, ld = NH * hs + 4;   // a row stride wider than the heads
    size_t n = (size_t)B * T * ld;
    float *cs = malloc((size_t)T * half * sizeof(float)), *sn = malloc((size_t)T * half * sizeof(float));
    for (int t = 0; t < T; t++)
        for (int i = 0; i < half; i++) {
            double a = t * pow(10000.0, -2.0 * i / hs);
            cs[t * half + i] = (float)cos(a);
            sn[t * half + i] = (float)sin(a);
        }
    double *xd = rand_df(n, 2);
    float *x = to_f(xd, n), *y = to_f(xd, n);
    double *want = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) want[i] = xd[i];
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < NH; h++)
                for (int i = 0; i < hs; i++) {
                    size_t at = ((size_t)b * T + t) * ld + (size_t)h * hs;
                    double c = cs[t * half + i % half], s = sn[t * half + i % half];
                    double rot = i < half ? -xd[at + i + half] : xd[at + i - half];
                    want[at + i] = xd[at + i] * c + rot * s;
                }
    lmt_rope_forward(y, B, T, NH, hs, ld, cs, sn);
    close_d("rope forward", y, want, n, 0, 1e-6, 1e-5);
    /* <R x, d> = <x, R^T d>: the backward of y is x again */
    lmt_rope_backward(y, B, T, NH, hs, ld, cs, sn);
    close_d("rope backward (inverse rotation)", y, xd, n, 0, 1e-6, 1e-5);
    free(cs); free(sn); free(xd); free(x); free(y); free(want);
}

/* ------------------------------------------------------------ activation */
typedef struct { size_t n; lmt_activation act; double *x, *dy, *y; } act_ctx;
static void act_ref(act_ctx *c) {
    for (size_t i = 0; i < c->n; i++) {
        double x = c->x[i];
        switch (c->act) {
        case LMT_ACT_GELU_TANH: c->y[i] = 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); break;
        case LMT_ACT_GELU: c->y[i] = 0.5 * x * (1 + erf(x / sqrt(2.0))); break;
        case LMT_ACT_RELU: c->y[i] = x > 0 ? x : 0; break;
        case LMT_ACT_SILU: c->y[i] = x / (1 + exp(-x)); break;
        }
    }
}
static double act_loss(void *p) { act_ctx *c = p; act_ref(c); return dot(c->dy, c->y, c->n); }

static void test_activation(lmt_activation act) {
    act_ctx c = {203, act, NULL, NULL, NULL};
    c.x = rand_df(c.n, 6);
    c.x[0] = 0.0; c.x[1] = 1e-4; c.x[2] = -12.0; c.x[3] = 12.0; c.x[5] = 60.0; c.x[6] = -60.0; c.x[4] = 1e-20;
    if (act == LMT_ACT_RELU)   // keep finite differences off the kink
        for (size_t i = 0; i < c.n; i++) if (fabs(c.x[i]) < 1e-3) c.x[i] = 0.5;
    c.dy = rand_df(c.n, 1);
    c.y = malloc(c.n * sizeof(double));
    float *x = to_f(c.x, c.n), *dy = to_f(c.dy, c.n), *y = malloc(c.n * sizeof(float));
    lmt_activation_forward(y, x, c.n, act);
    act_ref(&c);
    char what[64];
    snprintf(what, sizeof what, "%s forward", lmt_activation_name(act));
    close_d(what, y, c.y, c.n, 0, 1e-6, 1e-5);
    float *dx = filled(c.n, PRE);
    lmt_activation_backward(dx, dy, x, c.n, act);
    double *gx = fd(act_loss, &c, c.x, c.n);
    snprintf(what, sizeof what, "%s backward", lmt_activation_name(act));
    close_d(what, dx, gx, c.n, PRE, ATOL, RTOL);
    /* in place */
    memcpy(y, x, c.n * sizeof(float));
    lmt_activation_forward(y, y, c.n, act);
    close_d("activation in place", y, c.y, c.n, 0, 1e-6, 1e-5);
    free(gx); free(c.x); free(c.dy); free(c.y); free(x); free(dy); free(y); free(dx);
}

/* The fused bias + activation: pre = x + b, y = act(pre); backward writes
 * dpre and adds the bias gradient (several 64-row chunks). */
static void test_bias_activation(lmt_activation act) {
    int N = 150, F = 19;
    size_t n = (size_t)N * F;
    act_ctx c = {n, act, NULL, NULL, NULL};
    double *x0 = rand_df(n, 4), *b0 = rand_df(F, 1);
    c.x = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        c.x[i] = x0[i] + (double)(float)b0[i % F];
        if (act == LMT_ACT_RELU && fabs(c.x[i]) < 1e-3) { x0[i] += 0.5; c.x[i] += 0.5; }
    }
    c.dy = rand_df(n, 1);
    c.y = malloc(n * sizeof(double));
    float *pre = to_f(x0, n), *bias = to_f(b0, F), *y = malloc(n * sizeof(float)), *dy = to_f(c.dy, n);
    lmt_bias_activation_forward(pre, y, bias, N, F, act);
    act_ref(&c);
    char what[80];
    snprintf(what, sizeof what, "bias+%s forward", lmt_activation_name(act));
    close_d(what, y, c.y, n, 0, 1e-6, 1e-5);
    float *dpre = filled(n, NAN), *db = filled(F, PRE);
    float *scratch = malloc(lmt_activation_bias_scratch_floats(N, F) * sizeof(float));
    lmt_activation_bias_backward(dpre, db, dy, pre, N, F, act, scratch);
    double *gx = fd(act_loss, &c, c.x, n), *gb = calloc(F, sizeof(double));
    for (size_t i = 0; i < n; i++) gb[i % F] += gx[i];   // d/db = column sums of d/dpre
    snprintf(what, sizeof what, "bias+%s dpre", lmt_activation_name(act));
    close_d(what, dpre, gx, n, 0, ATOL, RTOL);
    snprintf(what, sizeof what, "bias+%s dbias", lmt_activation_name(act));
    close_d(what, db, gb, F, PRE, 1e-4, RTOL);
    free(x0); free(b0); free(c.x); free(c.dy); free(c.y); free(pre); free(bias); free(y); free(dy);
    free(dpre); free(db); free(scratch); free(gx); free(gb);
}

/* lmt_sgemm's one-row path (decoding with a cache): both layouts of B,
 * alpha, beta 0 over NaN and beta 1, against double loops; and the bf16
 * copy (lmt_bf16_cols_pack, N not a multiple of its 128-column groups) with
 * lmt_gemv_bf16 against the same sums over bf16-rounded B. */
static void test_sgemm_row(void) {
    int N = 1037, K = 301, ldb_t = K + 3, ldb_n = N + 5;
    double *a = rand_df(K, 1), *bt = rand_df((size_t)N * ldb_t, 1), *bn = rand_df((size_t)K * ldb_n, 1);
    float *af = to_f(a, K), *btf = to_f(bt, (size_t)N * ldb_t), *bnf = to_f(bn, (size_t)K * ldb_n);
    double *want = malloc(N * sizeof(double));
    for (int trans = 0; trans < 2; trans++)
        for (int beta1 = 0; beta1 < 2; beta1++) {
            float *c = filled(N, beta1 ? 0.25f : NAN);
            lmt_sgemm(false, trans, 1, N, K, 0.5f, af, K, trans ? btf : bnf, trans ? ldb_t : ldb_n, beta1 ? 1.0f : 0.0f, c, N);
            for (int n = 0; n < N; n++) {
                double sum = 0;
                for (int k = 0; k < K; k++) sum += a[k] * (trans ? bt[(size_t)n * ldb_t + k] : bn[(size_t)k * ldb_n + n]);
                want[n] = 0.5 * sum + (beta1 ? 0.25 : 0.0);
            }
            close_d(trans ? "sgemm one row, B (N, K)" : "sgemm one row, B (K, N)", c, want, N, 0, 1e-5, 1e-5);
            /* the bf16 variant against the same sums over bf16-rounded B */
            const double *bd = trans ? bt : bn;
            int ldb = trans ? ldb_t : ldb_n;
            size_t nb = trans ? (size_t)N * ldb_t : (size_t)K * ldb_n;
            uint16_t *b16 = malloc(nb * sizeof *b16);
            for (size_t i = 0; i < nb; i++) b16[i] = lmt_f32_to_bf16((float)bd[i]);
            uint16_t *packed = lmt_bf16_cols_pack(trans, trans ? btf : bnf, ldb, N, K);
            for (int n = 0; n < N; n++) {
                double sum = 0;
                for (int k = 0; k < K; k++)
                    sum += a[k] * lmt_bf16_to_f32(b16[trans ? (size_t)n * ldb + k : (size_t)k * ldb + n]);
                want[n] = 0.5 * sum + (beta1 ? 0.25 : 0.0);
            }
            for (int n = 0; n < N; n++) c[n] = beta1 ? 0.25f : NAN;
            lmt_gemv_bf16(N, K, 0.5f, af, packed, beta1 ? 1.0f : 0.0f, c);
            close_d(trans ? "bf16 one row, B (N, K)" : "bf16 one row, B (K, N)", c, want, N, 0, 1e-5, 1e-5);
            free(b16);
            free(packed);
            free(c);
        }
    free(a); free(bt); free(bn); free(af); free(btf); free(bnf); free(want);
}

/* Gathering the labelled rows and scattering gradients back. */
static void test_rows(void) {
    enum { N = 6, C = 3 };
    float x[N * C], out[N * C], back[N * C];
    for (int i = 0; i < N * C; i++) x[i] = (float)i;
    int32_t targets[N] = {-100, 4, -100, -100, 7, 2}, rows[N];
    int M = lmt_rows_gather_labelled(out, rows, targets, x, N, C);
    CHECK(M == 3 && rows[0] == 1 && rows[1] == 4 && rows[2] == 5);
    CHECK(targets[0] == 4 && targets[1] == 7 && targets[2] == 2);
    for (int r = 0; r < M; r++)
        for (int c = 0; c < C; c++) CHECK(out[r * C + c] == x[rows[r] * C + c]);
    for (int i = 0; i < N * C; i++) back[i] = -1.0f;
    lmt_rows_scatter(back, out, rows, M, C);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            bool labelled = n == 1 || n == 4 || n == 5;
            CHECK(back[n * C + c] == (labelled ? x[n * C + c] : -1.0f));
        }
}

/* ------------------------------------------------------------- embedding */
static void test_embedding(void) {
    int B = 2, T = 5, C = 37, V = 11, P = 8;
    int32_t ids[10] = {3, 1, 3, 3, 0, 10, 1, 1, 7, 3};   // repeated ids accumulate
    int32_t pos[10] = {2, 3, 4, 5, 6, 0, 1, 2, 3, 4};
    double *wte = rand_df((size_t)V * C, 1), *wpe = rand_df((size_t)P * C, 1), *dy = rand_df((size_t)B * T * C, 1);
    float *wtef = to_f(wte, (size_t)V * C), *wpef = to_f(wpe, (size_t)P * C), *dyf = to_f(dy, (size_t)B * T * C);
    float *y = malloc((size_t)B * T * C * sizeof(float));
    double *want = malloc((size_t)B * T * C * sizeof(double));
    for (int explicit_pos = 0; explicit_pos < 2; explicit_pos++) {
        float scale = explicit_pos ? 2.5f : 1.0f;
        const int32_t *pp = explicit_pos ? pos : NULL;
        lmt_embedding_forward(y, ids, pp, wtef, wpef, scale, B, T, C);
        for (int n = 0; n < B * T; n++)
            for (int c = 0; c < C; c++)
                want[n * C + c] = scale * wte[ids[n] * C + c] + wpe[(pp ? pp[n] : n % T) * C + c];
        close_d("embedding forward", y, want, (size_t)B * T * C, 0, 1e-6, 1e-6);
        /* the loss is linear: the exact gradient is a scatter of dy */
        float *dwte = filled((size_t)V * C, PRE), *dwpe = filled((size_t)P * C, PRE);
        double *gte = calloc((size_t)V * C, sizeof(double)), *gpe = calloc((size_t)P * C, sizeof(double));
        for (int n = 0; n < B * T; n++)
            for (int c = 0; c < C; c++) {
                gte[ids[n] * C + c] += scale * dy[n * C + c];
                gpe[(pp ? pp[n] : n % T) * C + c] += dy[n * C + c];
            }
        lmt_embedding_backward(dwte, dwpe, dyf, ids, pp, scale, B, T, C);
        close_d("embedding dwte", dwte, gte, (size_t)V * C, PRE, ATOL, RTOL);
        close_d("embedding dwpe", dwpe, gpe, (size_t)P * C, PRE, ATOL, RTOL);
        free(dwte); free(dwpe); free(gte); free(gpe);
    }
    free(wte); free(wpe); free(dy); free(wtef); free(wpef); free(dyf); free(y); free(want);
}

/* -------------------------------------------------------------- residual */
static void test_residual(void) {
    size_t n = 77;
    double *a = rand_df(n, 1), *b = rand_df(n, 1), *dy = rand_df(n, 1), *want = malloc(n * sizeof(double));
    float *af = to_f(a, n), *bf = to_f(b, n), *dyf = to_f(dy, n), *y = malloc(n * sizeof(float));
    lmt_residual_forward(y, af, bf, n);
    /* the IEEE fp32 sum (a double sum rounded to float can differ by an ulp
     * when b is tiny: double rounding) */
    for (size_t i = 0; i < n; i++) { volatile float s = (float)a[i] + (float)b[i]; want[i] = s; }
    close_d("residual forward", y, want, n, 0, 0, 0);
    float *da = filled(n, PRE), *db = filled(n, PRE);
    lmt_residual_backward(da, db, dyf, n);
    close_d("residual da", da, dy, n, PRE, 1e-7, 1e-6);
    close_d("residual db", db, dy, n, PRE, 1e-7, 1e-6);
    free(a); free(b); free(dy); free(want); free(af); free(bf); free(dyf); free(y); free(da); free(db);
}

/* ------------------------------------------------------------- attention */
typedef struct {
    lmt_attention_shape s;
    double *q, *k, *v, *dy, *y;   // q (B, Tq, ldq), k/v (B, Tk, ldk/ldv), y (B, Tq, ldo)
} att_ctx;
static void att_ref(att_ctx *c) {
    const lmt_attention_shape *s = &c->s;
    double *sc = malloc((size_t)s->Tk * sizeof(double));
    float keep_scale = s->dropout > 0 ? 1.0f / (1.0f - s->dropout) : 1.0f;
    for (int b = 0; b < s->B; b++)
        for (int h = 0; h < s->NH; h++)
            for (int i = 0; i < s->Tq; i++) {
                /* as HF: masked scores get the fp32 minimum added */
                double mx = -INFINITY;
                bool any = false;
                for (int j = 0; j < s->Tk; j++) {
                    double d = 0;
                    for (int e = 0; e < s->hs; e++)
                        d += c->q[(b * s->Tq + i) * s->ldq + h * s->hs + e] * c->k[(b * s->Tk + j) * s->ldk + h * s->hs + e];
                    bool masked = (s->causal && j > i + (s->Tk - s->Tq)) || (s->key_mask && !s->key_mask[b * s->Tk + j]);
                    sc[j] = masked ? -INFINITY : d * s->scale;
                    if (!masked) { any = true; if (sc[j] > mx) mx = sc[j]; }
                }
                double sum = 0;
                for (int j = 0; j < s->Tk; j++) { sc[j] = any && sc[j] != -INFINITY ? exp(sc[j] - mx) : 0; sum += sc[j]; }
                for (int j = 0; j < s->Tk; j++) {
                    sc[j] = any ? sc[j] / sum : 0;   // fully masked row: zeros (torch sdpa)
                    if (s->dropout > 0) {
                        uint64_t idx = (((uint64_t)b * s->NH + h) * s->Tq + i) * s->Tk + j;
                        sc[j] = lmt_dropout_keep(s->seed, idx, s->dropout) ? sc[j] * keep_scale : 0;
                    }
                }
                for (int e = 0; e < s->hs; e++) {
                    double o = 0;
                    for (int j = 0; j < s->Tk; j++) o += sc[j] * c->v[(b * s->Tk + j) * s->ldv + h * s->hs + e];
                    c->y[(b * s->Tq + i) * s->ldo + h * s->hs + e] = o;
                }
            }
    free(sc);
}
static double att_loss(void *p) {
    att_ctx *c = p;
    att_ref(c);
    return dot(c->dy, c->y, (size_t)c->s.B * c->s.Tq * c->s.ldo);
}

static void test_attention(const char *what, lmt_attention_shape s, bool fused) {
    att_ctx c = {s, NULL, NULL, NULL, NULL, NULL};
    size_t nq = (size_t)s.B * s.Tq * s.ldq, nk = (size_t)s.B * s.Tk * s.ldk, nv = (size_t)s.B * s.Tk * s.ldv;
    size_t ny = (size_t)s.B * s.Tq * s.ldo;
    double *qkv = NULL;
    if (fused) {   // GPT-2's (B, T, 3C): q, k, v interleaved in one array
        qkv = rand_df(nq, 1);
        c.q = qkv; c.k = qkv + s.NH * s.hs; c.v = qkv + 2 * s.NH * s.hs;
    } else {
        c.q = rand_df(nq, 1); c.k = rand_df(nk, 1); c.v = rand_df(nv, 1);
    }
    c.dy = rand_df(ny, 1);
    c.y = calloc(ny, sizeof(double));
    float *qf = to_f(fused ? qkv : c.q, fused ? nq : nq), *kf = fused ? qf + s.NH * s.hs : to_f(c.k, nk);
    float *vf = fused ? qf + 2 * s.NH * s.hs : to_f(c.v, nv);
    float *dyf = to_f(c.dy, ny), *y = calloc(ny, sizeof(float));
    float *lse = malloc((size_t)s.B * s.NH * s.Tq * sizeof(float));
    float *scratch = malloc(lmt_attention_scratch_floats(&s) * sizeof(float));
    lmt_attention_forward(y, lse, qf, kf, vf, &s, scratch);
    att_ref(&c);
    char msg[128];
    snprintf(msg, sizeof msg, "attention forward (%s)", what);
    close_d(msg, y, c.y, ny, 0, 2e-6, 1e-5);
    if (fused) {
        float *dqkv = filled(nq, PRE);
        lmt_attention_backward(dqkv, dqkv + s.NH * s.hs, dqkv + 2 * s.NH * s.hs, dyf, lse, qf, kf, vf, &s, scratch);
        double *g = fd(att_loss, &c, qkv, nq);
        snprintf(msg, sizeof msg, "attention dqkv (%s)", what);
        close_d(msg, dqkv, g, nq, PRE, ATOL, RTOL);
        free(g); free(dqkv); free(qkv);
    } else {
        float *dq = filled(nq, PRE), *dk = filled(nk, PRE), *dv = filled(nv, PRE);
        lmt_attention_backward(dq, dk, dv, dyf, lse, qf, kf, vf, &s, scratch);
        double *gq = fd(att_loss, &c, c.q, nq), *gk = fd(att_loss, &c, c.k, nk), *gv = fd(att_loss, &c, c.v, nv);
        snprintf(msg, sizeof msg, "attention dq (%s)", what);
        close_d(msg, dq, gq, nq, PRE, ATOL, RTOL);
        snprintf(msg, sizeof msg, "attention dk (%s)", what);
        close_d(msg, dk, gk, nk, PRE, ATOL, RTOL);
        snprintf(msg, sizeof msg, "attention dv (%s)", what);
        close_d(msg, dv, gv, nv, PRE, ATOL, RTOL);
        free(gq); free(gk); free(gv); free(dq); free(dk); free(dv);
        free(c.q); free(c.k); free(c.v); free(kf); free(vf);
    }
    free(qf); free(c.dy); free(c.y); free(dyf); free(y); free(lse); free(scratch);
}

static void test_attention_all(void) {
    /* GPT-2: causal, fused qkv, right padding in row 1 and left padding in
     * row 2 (its first query row sees no key at all -> zeros). */
    static const int32_t mask[3 * 6] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1};
    int NH = 2, hs = 3, C = NH * hs;
    lmt_attention_shape s = {.B = 3, .NH = NH, .Tq = 6, .Tk = 6, .hs = hs, .ldq = 3 * C, .ldk = 3 * C, .ldv = 3 * C,
                             .ldo = C, .scale = 1.0f / sqrtf((float)hs), .causal = true, .key_mask = NULL};
    test_attention("causal", s, true);
    s.key_mask = mask;
    test_attention("causal + padding mask", s, true);
    s.dropout = 0.3f;
    s.seed = 1234;
    test_attention("causal + mask + dropout", s, true);
    /* encoder / cross attention: separate q, k, v, no causality, Tq != Tk,
     * strides larger than the heads */
    static const int32_t kmask[2 * 7] = {1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1};
    lmt_attention_shape x = {.B = 2, .NH = 3, .Tq = 4, .Tk = 7, .hs = 2, .ldq = 7, .ldk = 6, .ldv = 8, .ldo = 9,
                             .scale = 0.5f, .causal = false, .key_mask = kmask};
    test_attention("cross, padded keys", x, false);
    x.causal = true;   // decoder with a cache: queries are the last Tq positions
    x.key_mask = NULL;
    test_attention("causal Tq < Tk", x, false);
    /* longer than one 64-row query block: blocks see different key ranges */
    static int32_t lmask[2 * 150];
    for (int i = 0; i < 300; i++) lmask[i] = !(i >= 140 && i < 150) && !(i >= 150 && i < 155);
    lmt_attention_shape lg = {.B = 2, .NH = 1, .Tq = 150, .Tk = 150, .hs = 2, .ldq = 6, .ldk = 6, .ldv = 6, .ldo = 2,
                              .scale = 0.7f, .causal = true, .key_mask = lmask, .dropout = 0.2f, .seed = 99};
    test_attention("causal, 3 query blocks, padding, dropout", lg, true);
    lmt_attention_shape xl = {.B = 1, .NH = 2, .Tq = 70, .Tk = 9, .hs = 2, .ldq = 4, .ldk = 4, .ldv = 4, .ldo = 4,
                              .scale = 0.5f, .causal = false};
    test_attention("cross, 2 query blocks", xl, false);
}

/* --------------------------------------------------------- cross-entropy */
typedef struct { int N, V; const int32_t *t; double *x; } ce_ctx;
static double ce_loss(void *p) {   // mean over counted rows, as torch
    ce_ctx *c = p;
    double sum = 0;
    int count = 0;
    for (int n = 0; n < c->N; n++) {
        if (c->t[n] == -100) continue;
        const double *x = c->x + (size_t)n * c->V;
        double mx = -INFINITY, s = 0;
        for (int v = 0; v < c->V; v++) mx = x[v] > mx ? x[v] : mx;
        for (int v = 0; v < c->V; v++) s += exp(x[v] - mx);
        sum += mx + log(s) - x[c->t[n]];
        count++;
    }
    return sum / count;
}

static void test_crossentropy(void) {
    int N = 6, V = 53;
    int32_t t[6] = {4, -100, 52, 0, -100, 17};
    ce_ctx c = {N, V, t, rand_df((size_t)N * V, 4)};
    c.x[3 * V + 0] = 90.0;   // a large logit: needs the max subtraction
    c.x[3 * V + 1] = 89.5;
    float *x = to_f(c.x, (size_t)N * V), *losses = malloc(N * sizeof(float)), *lse = malloc(N * sizeof(float));
    long count = lmt_crossentropy_forward(losses, lse, x, t, N, V);
    CHECK(count == 4);
    double sum = 0;
    for (int n = 0; n < N; n++) sum += losses[n];
    CHECK(losses[1] == 0.0f && losses[4] == 0.0f);
    double want = ce_loss(&c);
    CHECK_NEAR(sum / count, want, 1e-6 * fabs(want) + 1e-7);
    double *g = fd(ce_loss, &c, c.x, (size_t)N * V);
    float *d = malloc((size_t)N * V * sizeof(float));
    lmt_crossentropy_backward(d, x, lse, t, 1.0f / (float)count, N, V);
    close_d("cross-entropy dlogits", d, g, (size_t)N * V, 0, 1e-6, RTOL);
    float *x2 = malloc((size_t)N * V * sizeof(float)), *losses2 = malloc(N * sizeof(float));
    memcpy(x2, x, (size_t)N * V * sizeof(float));
    lmt_crossentropy_backward(x, x, lse, t, 1.0f / (float)count, N, V);   // in place
    close_d("cross-entropy dlogits in place", x, g, (size_t)N * V, 0, 1e-6, RTOL);
    /* fused forward + backward: same losses, unscaled gradient in place */
    CHECK(lmt_crossentropy_forward_grad(losses2, x2, t, N, V) == count);
    for (int n = 0; n < N; n++) CHECK_NEAR(losses2[n], losses[n], 1e-6 * fabs(losses[n]) + 1e-7);
    for (size_t i = 0; i < (size_t)N * V; i++) x2[i] /= (float)count;
    close_d("cross-entropy fused gradient", x2, g, (size_t)N * V, 0, 1e-6, RTOL);
    free(x2); free(losses2);
    free(g); free(d); free(c.x); free(x); free(losses); free(lse);
}

/* --------------------------------------------------------------- dropout */
static void test_dropout(void) {
    size_t n = 1 << 20;
    float p = 0.1f;
    float *x = filled(n, 1.0f), *y = malloc(n * sizeof(float));
    lmt_dropout_forward(y, x, n, p, 77);
    size_t zeros = 0;
    bool scaled = true;
    for (size_t i = 0; i < n; i++) {
        if (y[i] == 0.0f) zeros++;
        else if (fabsf(y[i] - 1.0f / 0.9f) > 1e-6f) scaled = false;
    }
    double rate = (double)zeros / n;   // binomial sd = sqrt(p(1-p)/n) = 3e-4
    CHECK_MSG(fabs(rate - p) < 2e-3, "dropout rate %.5f", rate);
    CHECK(scaled);
    /* the backward uses the same mask; the loss is linear so dy is exact */
    float *dx = filled(n, PRE), *dy = filled(n, 2.0f);
    lmt_dropout_backward(dx, dy, n, p, 77);
    bool same = true;
    for (size_t i = 0; i < n; i++)
        if (fabsf(dx[i] - PRE - 2.0f * y[i]) > 1e-6f) same = false;
    CHECK(same);
    /* fused with the residual, and the overwriting backward: the same mask */
    float *r = filled(n, 0.25f), *yr = malloc(n * sizeof(float)), *ds = filled(n, NAN);
    lmt_dropout_residual_forward(yr, x, r, n, p, 77);
    lmt_dropout_backward_set(ds, dy, n, p, 77);
    bool fused_same = true;
    for (size_t i = 0; i < n; i++)
        if (yr[i] != 0.25f + y[i] || ds[i] != 2.0f * y[i]) fused_same = false;
    CHECK(fused_same);
    free(r); free(yr); free(ds);
    /* another seed gives another mask; p = 0 is the identity */
    lmt_dropout_forward(dx, x, n, p, 78);
    CHECK(memcmp(dx, y, n * sizeof(float)) != 0);
    lmt_dropout_forward(y, x, n, 0.0f, 77);
    CHECK(memcmp(x, y, n * sizeof(float)) == 0);
    free(x); free(y); free(dx); free(dy);
}

/* Zeroing: small (memset) and large (threads, streaming stores) buffers,
 * starting off a cache line, leave the floats around them alone. */
static void test_zero(void) {
    static const size_t sizes[] = {0, 1, 17, 1000, (1u << 20) + 3, (3u << 20) + 5};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        float *buf = malloc((n + 8) * sizeof(float));
        for (size_t i = 0; i < n + 8; i++) buf[i] = 1.5f;
        lmt_zero_floats(buf + 3, n);
        size_t bad = 0;
        for (size_t i = 0; i < n + 8; i++) bad += buf[i] != (i >= 3 && i < n + 3 ? 0.0f : 1.5f);
        CHECK_MSG(bad == 0, "lmt_zero_floats(%zu): %zu wrong floats", n, bad);
        free(buf);
    }
}

/* ---- 1 and 2 threads: bit-identical results ----
 * Every kernel that splits its work between threads, on inputs large enough
 * to be split, run on one thread and on two: the outputs must match bit for
 * bit (the reductions have a fixed order whatever the thread count). The
 * suite runs this at each instruction-set level (the test_kernels@level
 * entries), each level's own vector code. */
enum { TN = 256, TC = 384, TNC = TN * TC };   /* 98304 elements: above LMT_PAR_MIN */
static float *tx, *ty, *td, *tw, *tb;          /* inputs, filled once */
static int32_t tids[TN], ttargets[TN];

static void th_activation(float *o) {
    for (int a = 0; a < 4; a++) {
        lmt_activation_forward(o + (size_t)a * TNC, tx, TNC, (lmt_activation)a);
        float *d = o + (size_t)(4 + a) * TNC;
        for (size_t i = 0; i < TNC; i++) d[i] = PRE;
        lmt_activation_backward(d, td, tx, TNC, (lmt_activation)a);
    }
}
static void th_bias_activation(float *o) {
    float *scratch = malloc(lmt_activation_bias_scratch_floats(TN, TC) * sizeof(float));
    for (int a = 0; a < 4; a++) {
        float *pre = o + (size_t)a * 3 * TNC, *out = pre + TNC, *dpre = out + TNC;
        float *dbias = o + (size_t)12 * TNC + (size_t)a * TC;
        memcpy(pre, tx, TNC * sizeof(float));
        lmt_bias_activation_forward(pre, out, tb, TN, TC, (lmt_activation)a);
        for (int c = 0; c < TC; c++) dbias[c] = PRE;
        lmt_activation_bias_backward(dpre, dbias, td, pre, TN, TC, (lmt_activation)a, scratch);
    }
    free(scratch);
}
static void th_layernorm(float *o) {
    float *out = o, *mean = o + TNC, *rstd = mean + TN, *dinp = rstd + TN, *dw = dinp + TNC, *db = dw + TC;
    lmt_layernorm_forward(out, mean, rstd, tx, tw, tb, TN, TC, 1e-5f);
    for (size_t i = 0; i < TNC + 2 * TC; i++) dinp[i] = PRE;
    lmt_layernorm_backward(dinp, dw, db, td, tx, tw, mean, rstd, TN, TC);
}
static void th_rmsnorm(float *o) {
    float *out = o, *rstd = o + TNC, *dinp = rstd + TN, *dw = dinp + TNC;
    lmt_rmsnorm_forward(out, rstd, tx, tw, TN, TC, 1e-6f);
    for (size_t i = 0; i < TNC + TC; i++) dinp[i] = PRE;
    lmt_rmsnorm_backward(dinp, dw, td, tx, tw, rstd, TN, TC);
}
static void th_swiglu_rope(float *o) {
    float *y = o, *dg = o + TNC, *du = dg + TNC, *r = du + TNC;
    lmt_swiglu_forward(y, tx, ty, TNC);
    lmt_swiglu_backward(dg, du, td, tx, ty, TNC);
    memcpy(r, tx, TNC * sizeof(float));   // (2, 128, 3 heads of 64 in rows of 384); (128, 32) tables from ty, td
    lmt_rope_forward(r, 2, 128, 3, 64, TC, ty, td);
    lmt_rope_backward(r, 2, 128, 3, 64, TC, td, ty);
}
static void th_crossentropy(float *o) {
    float *losses = o, *lse = o + TN, *dl = lse + TN, *fused = dl + TNC, *losses2 = fused + TNC;
    for (int i = 0; i < TN; i++) lse[i] = 0.0f;
    long n = lmt_crossentropy_forward(losses, lse, tx, ttargets, TN, TC);
    lmt_crossentropy_backward(dl, tx, lse, ttargets, 1.0f / (float)n, TN, TC);
    memcpy(fused, tx, TNC * sizeof(float));
    lmt_crossentropy_forward_grad(losses2, fused, ttargets, TN, TC);
}
static void th_dropout(float *o) {
    lmt_dropout_forward(o, tx, TNC, 0.1f, 77);
    for (size_t i = 0; i < TNC; i++) o[TNC + i] = PRE;
    lmt_dropout_backward(o + TNC, td, TNC, 0.1f, 77);
    lmt_dropout_residual_forward(o + 2 * TNC, tx, ty, TNC, 0.1f, 78);
    lmt_dropout_residual_forward(o + 3 * TNC, tx, ty, TNC, 0.0f, 78);
    lmt_dropout_backward_set(o + 4 * TNC, td, TNC, 0.1f, 79);
}
static void th_residual(float *o) {
    lmt_residual_forward(o, tx, ty, TNC);
    for (size_t i = 0; i < 2 * TNC; i++) o[TNC + i] = PRE;
    lmt_residual_backward(o + TNC, o + 2 * TNC, td, TNC);
}
static void th_embedding(float *o) {   /* 64 tokens, 256 positions: repeated ids */
    const int B = 2, T = TN / 2;
    float *out = o, *dwte = o + TNC, *dwpe = dwte + 64 * TC;
    lmt_embedding_forward(out, tids, NULL, ty, tx, 1.5f, B, T, TC);
    for (size_t i = 0; i < (size_t)(64 + T) * TC; i++) dwte[i] = PRE;
    lmt_embedding_backward(dwte, dwpe, td, tids, NULL, 1.5f, B, T, TC);
}
static void th_linear(float *o) {   /* the bias passes around the products: (256, 384) x (384, 256) */
    enum { OC = 256 };
    float *out = o, *dinp = o + TN * OC, *dw = dinp + TNC, *db = dw + (size_t)TC * OC;
    lmt_linear_forward(out, tx, ty, tb, TN, TC, OC, LMT_W_OUT_IN);
    for (size_t i = 0; i < TNC + (size_t)TC * OC + OC; i++) dinp[i] = PRE;
    lmt_linear_backward(dinp, dw, db, td, tx, ty, TN, TC, OC, LMT_W_IN_OUT);
}
static void th_attention(float *o) {   /* causal, dropout on: (B, T, 3C) fused qkv as GPT-2 */
    const int B = 2, NH = 4, T = 64, hs = 32, C = NH * hs;
    lmt_attention_shape s = {.B = B, .NH = NH, .Tq = T, .Tk = T, .hs = hs, .ldq = 3 * C, .ldk = 3 * C,
                             .ldv = 3 * C, .ldo = C, .scale = 0.17f, .causal = true, .dropout = 0.1f, .seed = 5};
    float *scratch = malloc(lmt_attention_scratch_floats(&s) * sizeof(float));
    float *out = o, *lse = out + B * T * C, *dqkv = lse + B * NH * T;
    lmt_attention_forward(out, lse, tx, tx + C, tx + 2 * C, &s, scratch);
    for (int i = 0; i < B * T * 3 * C; i++) dqkv[i] = PRE;
    lmt_attention_backward(dqkv, dqkv + C, dqkv + 2 * C, td, lse, tx, tx + C, tx + 2 * C, &s, scratch);
    free(scratch);
}

static void same_on_threads(const char *what, void (*run)(float *), size_t n) {
    float *o[2];
    const int saved = omp_get_max_threads();
    for (int t = 0; t < 2; t++) {
        o[t] = calloc(n, sizeof(float));
        omp_set_num_threads(t + 1);
        run(o[t]);
    }
    omp_set_num_threads(saved);
    CHECK_MSG(!memcmp(o[0], o[1], n * sizeof(float)), "%s (level %s): 1 and 2 threads differ", what,
              lmt_isa_name(lmt_isa_active()));
    free(o[0]);
    free(o[1]);
}

static void test_threads(void) {
    tx = malloc(TNC * sizeof(float));
    ty = malloc(TNC * sizeof(float));
    td = malloc(TNC * sizeof(float));
    tw = malloc(TC * sizeof(float));
    tb = malloc(TC * sizeof(float));
    for (size_t i = 0; i < TNC; i++) {
        tx[i] = (float)(6.0 * lmt_rng_uniform(&rng) - 3.0);
        ty[i] = (float)(2.0 * lmt_rng_uniform(&rng) - 1.0);
        td[i] = (float)(2.0 * lmt_rng_uniform(&rng) - 1.0);
    }
    for (int c = 0; c < TC; c++) {
        tw[c] = (float)(1.0 + 0.5 * lmt_rng_uniform(&rng));
        tb[c] = (float)(lmt_rng_uniform(&rng) - 0.5);
    }
    for (int n = 0; n < TN; n++) {
        tids[n] = (int32_t)(lmt_rng_uniform(&rng) * 64) % 64;
        ttargets[n] = n % 7 == 3 ? LMT_IGNORE_INDEX : (int32_t)(lmt_rng_uniform(&rng) * TC) % TC;
    }
    same_on_threads("activation", th_activation, (size_t)8 * TNC);
    same_on_threads("bias + activation", th_bias_activation, (size_t)12 * TNC + 4 * TC);
    same_on_threads("layernorm", th_layernorm, (size_t)2 * TNC + 2 * TN + 2 * TC);
    same_on_threads("rmsnorm", th_rmsnorm, (size_t)2 * TNC + TN + TC);
    same_on_threads("swiglu, rope", th_swiglu_rope, (size_t)4 * TNC);
    same_on_threads("cross-entropy", th_crossentropy, (size_t)2 * TNC + 3 * TN);
    same_on_threads("dropout", th_dropout, (size_t)5 * TNC);
    same_on_threads("residual", th_residual, (size_t)3 * TNC);
    same_on_threads("embedding", th_embedding, (size_t)TNC + (64 + TN / 2) * TC);
    same_on_threads("linear", th_linear, (size_t)TN * 256 + TNC + (size_t)TC * 256 + 256);
    same_on_threads("attention", th_attention, (size_t)2 * 64 * 128 * 4 + 2 * 4 * 64);
    free(tx);
    free(ty);
    free(td);
    free(tw);
    free(tb);
}

int main(void) {
    lmt_rng_seed(&rng, 2024);
    test_linear(LMT_W_IN_OUT, true);
    test_linear(LMT_W_OUT_IN, true);
    test_linear(LMT_W_OUT_IN, false);
    test_layernorm();
    test_rmsnorm();
    test_swiglu();
    test_rope();
    test_activation(LMT_ACT_GELU_TANH);
    test_activation(LMT_ACT_GELU);
    test_activation(LMT_ACT_RELU);
    test_activation(LMT_ACT_SILU);
    test_bias_activation(LMT_ACT_GELU_TANH);
    test_bias_activation(LMT_ACT_GELU);
    test_bias_activation(LMT_ACT_RELU);
    test_bias_activation(LMT_ACT_SILU);
    /* the one-row paths (each level has its own kernels): the CPU's level,
     * AVX2 below an AVX-512 CPU's, and portable C */
    const lmt_isa cpu = lmt_cpu_isa();
    lmt_isa row_levels[3];
    int nlevels = 0;
    row_levels[nlevels++] = cpu;
    if (cpu > LMT_ISA_AVX2) row_levels[nlevels++] = LMT_ISA_AVX2;
    if (cpu != LMT_ISA_GENERIC) row_levels[nlevels++] = LMT_ISA_GENERIC;
    for (int l = 0; l < nlevels; l++) {
        lmt_isa_force(row_levels[l]);
        test_sgemm_row();
    }
    lmt_isa_unforce();
    test_rows();
    test_embedding();
    test_residual();
    test_attention_all();
    test_crossentropy();
    test_dropout();
    test_zero();
    test_threads();
    return lmt_test_finish();
}
