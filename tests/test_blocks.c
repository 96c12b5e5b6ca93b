/* Every shared model block (src/models/blocks/) on its own: its backward
 * against central finite differences of its forward, for every input and
 * every parameter, on small random shapes and in each configuration a model
 * uses (GPT-2's pre-LN fused attention, the BERT family's post-LN blocks and
 * MLM head, Marian's cross-attention, activation dropout and buffer bias, the
 * Llama family's RMSNorm, rotary, grouped-query attention and SwiGLU).
 * Dropout stays on: its masks are a function of the seed, so the forward is
 * a fixed function the differences can probe.
 *
 * The objective is J = sum R * out (R random, accumulated in double; the
 * head's J is scale * its summed loss). Each element moves by +-h (h = 1e-2
 * of values ~0.5: the truncation error O(h^2) stays near 1e-4 relative and
 * the fp32 rounding of J, divided by 2h, near 1e-5 absolute), and the
 * quotient uses the perturbation actually stored. */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "core/rng.h"
#include "core/util.h"
#include "models/blocks/attn.h"
#include "models/blocks/embed.h"
#include "models/blocks/ffn.h"
#include "models/blocks/lm_head.h"
#include "models/blocks/stack.h"

static lmt_rng rng;
#define H 1e-2f
#define TOL 3e-3   /* |analytic - numeric| <= TOL * (max |numeric| of the tensor) + ATOL */
#define ATOL 1e-4  /* the differences' fp32 noise floor (a key bias's true gradient is 0: softmax shift) */

static float *rnd(size_t n, float lo, float hi) {
    float *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)lmt_rng_uniform(&rng);
    return x;
}
static float *zeros(size_t n) { return calloc(n ? n : 1, sizeof(float)); }
static double dot(const float *r, const float *y, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)r[i] * y[i];
    return s;
}

/* A forward and its objective, for one block under test. */
typedef double (*objective_fn)(void *t);

/* Compares grad (n) with the central differences of f over x (n); rows of
 * width `row` listed in skip_row (-1: none) are left out. */
static void fd_check(const char *what, float *x, const float *grad, size_t n, objective_fn f, void *t, size_t row,
                     long skip_row) {
    double *num = malloc(n * sizeof *num), scale = 0, worst = 0;
    for (size_t i = 0; i < n; i++) {
        float x0 = x[i];
        x[i] = x0 + H;
        float xp = x[i];
        double fp = f(t);
        x[i] = x0 - H;
        float xm = x[i];
        double fm = f(t);
        x[i] = x0;
        num[i] = (fp - fm) / ((double)xp - (double)xm);
        if (fabs(num[i]) > scale) scale = fabs(num[i]);
    }
    f(t);   // leave the activations of the unperturbed input
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (skip_row >= 0 && (long)(i / row) == skip_row) continue;
        double e = fabs((double)grad[i] - num[i]);
        if (e > worst) { worst = e; at = i; }
    }
    CHECK_MSG(worst <= TOL * scale + ATOL && scale > 0, "%s: worst error %.3g at %zu (%.6g vs numeric %.6g), gradient scale %.3g",
              what, worst, at, grad[at], num[at], scale);
    free(num);
}

/* A tensor of a block: its values and its analytic gradient. */
typedef struct { const char *name; float *w, *g; size_t n; } tensor;

static void fd_tensors(const char *block, const tensor *ts, int k, objective_fn f, void *t) {
    char what[160];
    for (int i = 0; i < k; i++) {
        if (!ts[i].w) continue;
        snprintf(what, sizeof what, "%s: d %s", block, ts[i].name);
        fd_check(what, ts[i].w, ts[i].g, ts[i].n, f, t, 1, -1);
    }
}

/* Plans twice (sizes, then over one allocation), as lmt_net_setup does. */
#define PLAN(mem, ...) do { lmt_arena a_ = {0}; lmt_arena *a = &a_; __VA_ARGS__; \
    (mem) = lmt_aligned_alloc(a_.used * sizeof(float)); a_ = (lmt_arena){(mem), 0}; __VA_ARGS__; } while (0)

static lmt_block_ctx new_ctx(int B) {
    return (lmt_block_ctx){.B = B, .training = true, .att_threads = omp_get_max_threads()};
}

/* ---- attention ---- */

typedef struct {
    lmt_attn_cfg c;
    lmt_attn_params w, g;
    lmt_attn_acts a;
    lmt_block_ctx ctx;
    float *x, *kv, *R;
    int Tq, Tk;
    int32_t *mask;
} attn_t;

static double attn_obj(void *p) {
    attn_t *t = p;
    lmt_attn_forward(&t->c, &t->w, &t->a, t->x, t->kv, t->Tq, t->Tk, t->mask, 101, 102, &t->ctx);
    return dot(t->R, lmt_sublayer_output(&t->a.r, t->c.pre_ln), (size_t)t->ctx.B * t->Tq * t->c.C);
}

/* The finite-difference checks of an attention block t with its tensors ts (k):
 * inputs x (and kv: cross), every parameter. */
static void attn_fd(const char *name, attn_t *tp, tensor *ts, int k, bool cross, bool masked) {
    attn_t t = *tp;
    int B = t.ctx.B, C = t.c.C, Tq = t.Tq, Tk = t.Tk;
    size_t Nq = (size_t)B * Tq, Nk = (size_t)B * Tk;
    t.x = rnd(Nq * C, -1, 1);
    t.kv = cross ? rnd(Nk * C, -1, 1) : t.x;
    t.R = rnd(Nq * C, -1, 1);
    int32_t mask[8] = {1, 1, 1, 1, 0, 1, 1, 1};   // row 1: first key padded
    t.mask = masked ? mask : NULL;
    float *mem;
    PLAN(mem, lmt_attn_plan(a, &t.a, &t.c, Nq, Nk); lmt_block_ctx_plan(&t.ctx, a, Nq > Nk ? Nq : Nk, C, C, Tk, true));
    attn_obj(&t);
    memcpy(t.ctx.dx, t.R, Nq * C * sizeof(float));
    float *dkv = zeros(Nk * C);
    lmt_attn_backward(&t.c, &t.w, &t.g, &t.a, t.x, t.kv, cross ? dkv : NULL, Tq, Tk, t.mask, 101, 102, &t.ctx);
    float *dx = malloc(Nq * C * sizeof(float));
    memcpy(dx, t.ctx.dx, Nq * C * sizeof(float));
    char what[160];
    snprintf(what, sizeof what, "%s: d x", name);
    fd_check(what, t.x, dx, Nq * C, attn_obj, &t, 1, -1);
    if (cross) {
        snprintf(what, sizeof what, "%s: d kv", name);
        fd_check(what, t.kv, dkv, Nk * C, attn_obj, &t, 1, -1);
    }
    fd_tensors(name, ts, k, attn_obj, &t);
    for (int i = 0; i < k; i++) { free(ts[i].w); free(ts[i].g); }
    if (cross) free(t.kv);
    free(t.x); free(t.R); free(dkv); free(dx);
    lmt_aligned_free(mem);
}

/* One attention configuration: fused (GPT-2) or q/k/v, pre- or post-LN,
 * self- or cross-attention, causal, padded keys. */
static void test_attn(const char *name, bool fused, bool pre_ln, bool cross, bool causal, bool masked) {
    int B = 2, C = 8, NH = 2, Tq = 3, Tk = cross ? 4 : 3;
    size_t CC = (size_t)C * C;
    attn_t t = {.c = {.C = C, .NH = NH, .scale = 1.0f / sqrtf((float)(C / NH)), .eps = 1e-5f, .p_attn = 0.1f, .p_out = 0.1f,
                      .causal = causal, .pre_ln = pre_ln, .fused = fused, .wl = fused ? LMT_W_IN_OUT : LMT_W_OUT_IN},
                .ctx = new_ctx(B), .Tq = Tq, .Tk = Tk};
    tensor ts[12];
    int k = 0;
#define PARAM(field, n, lo, hi) do { t.w.field = rnd(n, lo, hi); t.g.field = zeros(n); \
    ts[k++] = (tensor){#field, t.w.field, t.g.field, n}; } while (0)
    if (fused) {
        PARAM(qkv_w, 3 * CC, -0.5f, 0.5f);
        PARAM(qkv_b, 3 * (size_t)C, -0.5f, 0.5f);
    } else {
        PARAM(q_w, CC, -0.5f, 0.5f);
        PARAM(q_b, C, -0.5f, 0.5f);
        PARAM(k_w, CC, -0.5f, 0.5f);
        PARAM(k_b, C, -0.5f, 0.5f);
        PARAM(v_w, CC, -0.5f, 0.5f);
        PARAM(v_b, C, -0.5f, 0.5f);
    }
    PARAM(o_w, CC, -0.5f, 0.5f);
    PARAM(o_b, C, -0.5f, 0.5f);
    PARAM(ln_w, C, 0.8f, 1.2f);
    PARAM(ln_b, C, -0.2f, 0.2f);
#undef PARAM
    attn_fd(name, &t, ts, k, cross, masked);
}

/* The Llama family's attention: pre-RMSNorm, rotary q / k, 4 query heads over
 * 2 key/value heads of size 3 (q and the output projection 12 wide, k / v 6,
 * C 8), q/k/v/o biases (Qwen2 / attention_bias), causal, padded keys. */
static void test_attn_llama(const char *name, int NKV, bool masked, int window) {
    int B = 2, C = 8, NH = 4, hs = 3 * 2, T = 3;
    int Dq = NH * hs, Dkv = NKV * hs;
    attn_t t = {.c = {.C = C, .NH = NH, .NKV = NKV, .hs = hs, .scale = 1.0f / sqrtf((float)hs), .eps = 1e-5f,
                      .p_attn = 0.1f, .causal = true, .pre_ln = true, .rope = true, .rms = true, .wl = LMT_W_OUT_IN,
                      .window = window},
                .ctx = new_ctx(B), .Tq = T, .Tk = T};
    t.ctx.attn_width = Dq;
    t.ctx.kv_width = Dkv;
    float cosv[3 * 3], sinv[3 * 3];
    for (int p = 0; p < T; p++)
        for (int i = 0; i < hs / 2; i++) {
            double ang = p * pow(10.0, -i);
            cosv[p * (hs / 2) + i] = (float)cos(ang);
            sinv[p * (hs / 2) + i] = (float)sin(ang);
        }
    t.ctx.rope_cos = cosv;
    t.ctx.rope_sin = sinv;
    tensor ts[12];
    int k = 0;
#define PARAM(field, n, lo, hi) do { t.w.field = rnd(n, lo, hi); t.g.field = zeros(n); \
    ts[k++] = (tensor){#field, t.w.field, t.g.field, n}; } while (0)
    PARAM(q_w, (size_t)Dq * C, -0.5f, 0.5f);
    PARAM(q_b, Dq, -0.5f, 0.5f);
    PARAM(k_w, (size_t)Dkv * C, -0.5f, 0.5f);
    PARAM(k_b, Dkv, -0.5f, 0.5f);
    PARAM(v_w, (size_t)Dkv * C, -0.5f, 0.5f);
    PARAM(v_b, Dkv, -0.5f, 0.5f);
    PARAM(o_w, (size_t)C * Dq, -0.5f, 0.5f);
    PARAM(o_b, C, -0.5f, 0.5f);
    PARAM(ln_w, C, 0.8f, 1.2f);
#undef PARAM
    attn_fd(name, &t, ts, k, false, masked);
}

/* ---- feed-forward ---- */

typedef struct {
    lmt_ffn_cfg c;
    lmt_ffn_params w, g;
    lmt_ffn_acts a;
    lmt_block_ctx ctx;
    float *x, *R;
    int N;
} ffn_t;

static double ffn_obj(void *p) {
    ffn_t *t = p;
    lmt_ffn_forward(&t->c, &t->w, &t->a, t->x, t->N, 201, 202, &t->ctx);
    return dot(t->R, lmt_sublayer_output(&t->a.r, t->c.pre_ln), (size_t)t->N * t->c.C);
}

/* The finite-difference checks of a feed-forward block t with its tensors ts (k). */
static void ffn_fd(const char *name, ffn_t *tp, tensor *ts, int k, int T, int F) {
    ffn_t t = *tp;
    int N = t.N, C = t.c.C;
    t.x = rnd((size_t)N * C, -1, 1);
    t.R = rnd((size_t)N * C, -1, 1);
    float *mem;
    PLAN(mem, lmt_ffn_plan(a, &t.a, &t.c, N); lmt_block_ctx_plan(&t.ctx, a, N, C, F, T, true));
    ffn_obj(&t);
    memcpy(t.ctx.dx, t.R, (size_t)N * C * sizeof(float));
    lmt_ffn_backward(&t.c, &t.w, &t.g, &t.a, t.x, N, 201, 202, &t.ctx);
    float *dx = malloc((size_t)N * C * sizeof(float));
    memcpy(dx, t.ctx.dx, (size_t)N * C * sizeof(float));
    char what[160];
    snprintf(what, sizeof what, "%s: d x", name);
    fd_check(what, t.x, dx, (size_t)N * C, ffn_obj, &t, 1, -1);
    fd_tensors(name, ts, k, ffn_obj, &t);
    for (int i = 0; i < k; i++) { free(ts[i].w); free(ts[i].g); }
    free(t.x); free(t.R); free(dx);
    lmt_aligned_free(mem);
}

static void test_ffn(const char *name, bool pre_ln, lmt_activation act, float p_act, lmt_wlayout wl) {
    int B = 2, T = 3, C = 8, F = 12, N = B * T;
    ffn_t t = {.c = {.C = C, .F = F, .eps = 1e-5f, .p_act = p_act, .p_out = 0.1f, .act = act, .pre_ln = pre_ln, .wl = wl},
               .ctx = new_ctx(B), .N = N};
    tensor ts[6];
    int k = 0;
#define PARAM(field, n, lo, hi) do { t.w.field = rnd(n, lo, hi); t.g.field = zeros(n); \
    ts[k++] = (tensor){#field, t.w.field, t.g.field, n}; } while (0)
    PARAM(fc1_w, (size_t)C * F, -0.5f, 0.5f);
    PARAM(fc1_b, F, -0.5f, 0.5f);
    PARAM(fc2_w, (size_t)C * F, -0.5f, 0.5f);
    PARAM(fc2_b, C, -0.5f, 0.5f);
    PARAM(ln_w, C, 0.8f, 1.2f);
    PARAM(ln_b, C, -0.2f, 0.2f);
#undef PARAM
    ffn_fd(name, &t, ts, k, T, F);
}

/* SwiGLU (the Llama family: pre-RMSNorm, gate / up / down with biases, mlp_bias). */
static void test_ffn_swiglu(const char *name) {
    int B = 2, T = 3, C = 8, F = 12, N = B * T;
    ffn_t t = {.c = {.C = C, .F = F, .eps = 1e-5f, .act = LMT_ACT_SILU, .pre_ln = true, .gated = true, .rms = true,
                     .wl = LMT_W_OUT_IN}, .ctx = new_ctx(B), .N = N};
    tensor ts[7];
    int k = 0;
#define PARAM(field, n, lo, hi) do { t.w.field = rnd(n, lo, hi); t.g.field = zeros(n); \
    ts[k++] = (tensor){#field, t.w.field, t.g.field, n}; } while (0)
    PARAM(gate_w, (size_t)C * F, -0.5f, 0.5f);
    PARAM(gate_b, F, -0.5f, 0.5f);
    PARAM(fc1_w, (size_t)C * F, -0.5f, 0.5f);
    PARAM(fc1_b, F, -0.5f, 0.5f);
    PARAM(fc2_w, (size_t)C * F, -0.5f, 0.5f);
    PARAM(fc2_b, C, -0.5f, 0.5f);
    PARAM(ln_w, C, 0.8f, 1.2f);
#undef PARAM
    ffn_fd(name, &t, ts, k, T, F);
}

/* ---- embeddings ---- */

typedef struct {
    lmt_embed_cfg c;
    lmt_embed_params w, g;
    lmt_embed_acts a;
    lmt_block_ctx ctx;
    int32_t *ids, *pos, *types;
    float *R;
    int T;
} embed_t;

static double embed_obj(void *p) {
    embed_t *t = p;
    lmt_embed_forward(&t->c, &t->w, &t->a, t->ids, t->pos, t->types, t->T, 301, &t->ctx);
    return dot(t->R, t->a.out, (size_t)t->ctx.B * t->T * t->c.C);
}

/* GPT-2's (positions 0..T-1, no LayerNorm, no padding row) or the BERT
 * family's (given positions, token types, LayerNorm, padding rows kept). */
static void test_embed(const char *name, bool bert) {
    int B = 2, T = 3, C = 8, V = 7, P = 6, TV = 2, N = B * T, pad = 1;
    embed_t t = {.c = {.C = C, .V = V, .P = P, .scale = bert ? 1.0f : 1.5f, .eps = 1e-5f, .p_drop = 0.1f,
                       .pad_id = bert ? pad : -1, .pos_pad = bert},
                 .ctx = new_ctx(B), .T = T};
    int32_t ids[6] = {0, 1, 2, 3, 1, 6}, pos[6] = {2, 3, 4, 1, 1, 2}, types[6] = {0, 1, 1, 0, 0, 1};
    t.ids = ids;
    t.pos = bert ? pos : NULL;
    t.types = bert ? types : NULL;
    t.w.tok = rnd((size_t)V * C, -1, 1);
    t.w.pos = rnd((size_t)P * C, -1, 1);
    t.g.tok = zeros((size_t)V * C);
    t.g.pos = zeros((size_t)P * C);
    if (bert) {
        t.w.type = rnd((size_t)TV * C, -1, 1);
        t.g.type = zeros((size_t)TV * C);
        t.w.ln_w = rnd(C, 0.8f, 1.2f);
        t.w.ln_b = rnd(C, -0.2f, 0.2f);
        t.g.ln_w = zeros(C);
        t.g.ln_b = zeros(C);
        /* what the padding rows already hold (a tied head's share) stays */
        for (int c = 0; c < C; c++) t.g.tok[pad * C + c] = t.g.pos[pad * C + c] = 0.25f;
    }
    t.R = rnd((size_t)N * C, -1, 1);
    float *mem;
    PLAN(mem, lmt_embed_plan(a, &t.a, &t.c, N, bert); lmt_block_ctx_plan(&t.ctx, a, N, C, C, T, true));
    embed_obj(&t);
    memcpy(t.ctx.dx, t.R, (size_t)N * C * sizeof(float));
    lmt_embed_backward(&t.c, &t.w, &t.g, &t.a, t.ids, t.pos, t.types, T, 301, &t.ctx);
    char what[160];
    long skip = bert ? pad : -1;
    snprintf(what, sizeof what, "%s: d tok (but the padding row)", name);
    fd_check(what, t.w.tok, t.g.tok, (size_t)V * C, embed_obj, &t, C, skip);
    snprintf(what, sizeof what, "%s: d pos (but the padding row)", name);
    fd_check(what, t.w.pos, t.g.pos, (size_t)P * C, embed_obj, &t, C, skip);
    if (bert) {
        bool kept = true;
        for (int c = 0; c < C; c++) kept = kept && t.g.tok[pad * C + c] == 0.25f && t.g.pos[pad * C + c] == 0.25f;
        CHECK_MSG(kept, "%s: the padding rows' gradients changed", name);
        tensor ts[3] = {{"type", t.w.type, t.g.type, (size_t)TV * C}, {"ln_w", t.w.ln_w, t.g.ln_w, C},
                        {"ln_b", t.w.ln_b, t.g.ln_b, C}};
        fd_tensors(name, ts, 3, embed_obj, &t);
    }
    lmt_embed_params *ps[2] = {&t.w, &t.g};
    for (int i = 0; i < 2; i++) { free(ps[i]->tok); free(ps[i]->pos); free(ps[i]->type); free(ps[i]->ln_w); free(ps[i]->ln_b); }
    free(t.R);
    lmt_aligned_free(mem);
}

/* ---- LM head and loss ---- */

typedef struct {
    lmt_head_cfg c;
    lmt_head_params w, g;
    lmt_head_acts a;
    lmt_block_ctx ctx;
    float *x;
    int32_t *targets, *targets0;   /* the gathering compacts targets: each forward starts from targets0 */
    int N;
    bool gather, fuse;
    float scale;
} head_t;

static double head_obj(void *p) {
    head_t *t = p;
    memcpy(t->targets, t->targets0, (size_t)t->N * sizeof(int32_t));
    int M = lmt_head_forward(&t->c, &t->w, &t->a, t->x, t->N, t->targets, t->gather);
    lmt_lm_loss_forward(&t->c, &t->a, t->targets, t->fuse);
    double s = 0;
    for (int i = 0; i < M; i++) s += t->a.losses[i];
    return t->scale * s;
}

/* GPT-2's (tied, no bias, fused loss), the BERT family's (MLM transform,
 * trained bias, labelled rows gathered) and Marian's (bias a buffer: no
 * gradient, fused loss, gathered). */
static void test_head(const char *name, bool transform, bool bias, bool bias_trained, bool gather, bool fuse) {
    int B = 2, T = 3, C = 8, V = 11, N = B * T;
    head_t t = {.c = {.C = C, .V = V, .eps = 1e-5f, .act = LMT_ACT_GELU, .transform = transform},
                .ctx = new_ctx(B), .N = N, .gather = gather, .fuse = fuse, .scale = 0.37f};
    tensor ts[6];
    int k = 0;
#define PARAM(field, n, lo, hi, trained) do { t.w.field = rnd(n, lo, hi); t.g.field = (trained) ? zeros(n) : NULL; \
    if (trained) ts[k++] = (tensor){#field, t.w.field, t.g.field, n}; } while (0)
    if (transform) {
        PARAM(dense_w, (size_t)C * C, -0.5f, 0.5f, true);
        PARAM(dense_b, C, -0.5f, 0.5f, true);
        PARAM(ln_w, C, 0.8f, 1.2f, true);
        PARAM(ln_b, C, -0.2f, 0.2f, true);
    }
    PARAM(w, (size_t)V * C, -1.0f, 1.0f, true);
    if (bias) PARAM(b, V, -0.5f, 0.5f, bias_trained);
#undef PARAM
    int32_t targets0[6] = {3, -100, 10, 0, -100, 7}, targets[6];
    t.targets0 = targets0;
    t.targets = targets;
    t.x = rnd((size_t)N * C, -1, 1);
    float *mem;
    PLAN(mem, lmt_head_plan(a, &t.a, &t.c, N); lmt_block_ctx_plan(&t.ctx, a, N, C, C, T, true));
    head_obj(&t);
    CHECK(t.a.M == (gather ? 4 : N) && t.a.logits_are_grad == fuse);
    float *dx = rnd((size_t)N * C, -1, 1);   // overwritten, every row
    lmt_head_backward(&t.c, &t.w, &t.g, &t.a, t.x, N, t.targets, t.scale, dx, &t.ctx);
    char what[160];
    snprintf(what, sizeof what, "%s: d x", name);
    fd_check(what, t.x, dx, (size_t)N * C, head_obj, &t, 1, -1);
    fd_tensors(name, ts, k, head_obj, &t);
    lmt_head_params *ps[2] = {&t.w, &t.g};
    for (int i = 0; i < 2; i++) { free(ps[i]->dense_w); free(ps[i]->dense_b); free(ps[i]->ln_w); free(ps[i]->ln_b); free(ps[i]->w); free(ps[i]->b); }
    free(t.x); free(dx);
    lmt_aligned_free(mem);
}

/* ---- a stack of layers (Marian's decoder: self, cross, feed-forward) ---- */

typedef struct {
    lmt_stack s;
    lmt_block_ctx ctx;
    float *x, *enc, *R;
    int T, Ts;
    int32_t *enc_mask;
    uint64_t seeds[12];
} stack_t_;

static double stack_obj(void *p) {
    stack_t_ *t = p;
    const float *y = lmt_stack_forward(&t->s, t->x, t->T, NULL, t->enc, t->Ts, t->enc_mask, t->seeds, &t->ctx);
    return dot(t->R, y, (size_t)t->ctx.B * t->T * t->s.self.C);
}

static void test_stack(void) {
    int B = 2, T = 3, Ts = 4, C = 8, NH = 2, F = 12, L = 2;
    size_t N = (size_t)B * T, Ne = (size_t)B * Ts, CC = (size_t)C * C;
    lmt_attn_cfg attn = {.C = C, .NH = NH, .scale = 0.5f, .eps = 1e-5f, .p_attn = 0.1f, .p_out = 0.1f, .wl = LMT_W_OUT_IN};
    stack_t_ t = {.s = {.id = LMT_STACK_DECODER, .L = L, .with_cross = true, .seeds_per_layer = 6, .self = attn,
                        .cross = attn, .ffn = {.C = C, .F = F, .eps = 1e-5f, .p_act = 0.1f, .p_out = 0.1f,
                                               .act = LMT_ACT_SILU, .wl = LMT_W_OUT_IN}},
                  .ctx = new_ctx(B), .T = T, .Ts = Ts};
    t.s.self.causal = true;
    for (int i = 0; i < 12; i++) t.seeds[i] = 1000 + (uint64_t)i;
    lmt_layer_params w[2], g[2];
    lmt_layer_acts acts[2];
    memset(acts, 0, sizeof acts);
    memset(w, 0, sizeof w);   // no adapters
    memset(g, 0, sizeof g);
    t.s.w = w;
    t.s.g = g;
    t.s.a = acts;
    tensor ts[2 * 28];
    int k = 0;
    for (int l = 0; l < L; l++) {
        lmt_attn_params *aw[2] = {&w[l].self, &w[l].cross}, *ag[2] = {&g[l].self, &g[l].cross};
        for (int j = 0; j < 2; j++) {
            float **pw[10] = {&aw[j]->q_w, &aw[j]->q_b, &aw[j]->k_w, &aw[j]->k_b, &aw[j]->v_w, &aw[j]->v_b, &aw[j]->o_w, &aw[j]->o_b, &aw[j]->ln_w, &aw[j]->ln_b};
            float **pg[10] = {&ag[j]->q_w, &ag[j]->q_b, &ag[j]->k_w, &ag[j]->k_b, &ag[j]->v_w, &ag[j]->v_b, &ag[j]->o_w, &ag[j]->o_b, &ag[j]->ln_w, &ag[j]->ln_b};
            *aw[j] = *ag[j] = (lmt_attn_params){0};
            for (int i = 0; i < 10; i++) {
                size_t n = i % 2 ? (size_t)C : CC;
                *pw[i] = i == 8 ? rnd(n, 0.8f, 1.2f) : rnd(n, -0.5f, 0.5f);
                *pg[i] = zeros(n);
                ts[k++] = (tensor){j ? "cross" : "self", *pw[i], *pg[i], n};
            }
        }
        lmt_ffn_params *fw = &w[l].ffn, *fg = &g[l].ffn;
        float **pw[6] = {&fw->fc1_w, &fw->fc1_b, &fw->fc2_w, &fw->fc2_b, &fw->ln_w, &fw->ln_b};
        float **pg[6] = {&fg->fc1_w, &fg->fc1_b, &fg->fc2_w, &fg->fc2_b, &fg->ln_w, &fg->ln_b};
        size_t sz[6] = {(size_t)C * F, (size_t)F, (size_t)C * F, (size_t)C, (size_t)C, (size_t)C};
        for (int i = 0; i < 6; i++) {
            *pw[i] = i == 4 ? rnd(sz[i], 0.8f, 1.2f) : rnd(sz[i], -0.5f, 0.5f);
            *pg[i] = zeros(sz[i]);
            ts[k++] = (tensor){"ffn", *pw[i], *pg[i], sz[i]};
        }
    }
    t.x = rnd(N * C, -1, 1);
    t.enc = rnd(Ne * C, -1, 1);
    t.R = rnd(N * C, -1, 1);
    int32_t enc_mask[8] = {1, 1, 1, 0, 1, 1, 1, 1};   // row 0: last source token padded
    t.enc_mask = enc_mask;
    float *mem;
    PLAN(mem, lmt_stack_plan(&t.s, a, N, Ne); lmt_block_ctx_plan(&t.ctx, a, Ne, C, F, Ts, true));
    stack_obj(&t);
    memcpy(t.ctx.dx, t.R, N * C * sizeof(float));
    float *denc = zeros(Ne * C);
    lmt_stack_backward(&t.s, t.x, T, NULL, t.enc, Ts, t.enc_mask, denc, t.seeds, &t.ctx);
    float *dx = malloc(N * C * sizeof(float));
    memcpy(dx, t.ctx.dx, N * C * sizeof(float));
    fd_check("stack (2 decoder layers): d x", t.x, dx, N * C, stack_obj, &t, 1, -1);
    fd_check("stack (2 decoder layers): d enc", t.enc, denc, Ne * C, stack_obj, &t, 1, -1);
    fd_tensors("stack (2 decoder layers)", ts, k, stack_obj, &t);
    for (int i = 0; i < k; i++) { free(ts[i].w); free(ts[i].g); }
    free(t.x); free(t.enc); free(t.R); free(denc); free(dx);
    lmt_aligned_free(mem);
}

int main(void) {
    lmt_rng_seed(&rng, 12345);
    test_attn("attention: GPT-2 (pre-LN, fused c_attn, causal, padded keys)", true, true, false, true, true);
    test_attn("attention: BERT (post-LN, q/k/v, padded keys)", false, false, false, false, true);
    test_attn("attention: Marian decoder self (post-LN, causal)", false, false, false, true, false);
    test_attn("attention: Marian cross (post-LN, padded source)", false, false, true, false, true);
    test_attn("attention: pre-LN q/k/v cross", false, true, true, false, false);
    test_ffn("feed-forward: GPT-2 (pre-LN, gelu_new, Conv1D)", true, LMT_ACT_GELU_TANH, 0.0f, LMT_W_IN_OUT);
    test_ffn("feed-forward: BERT (post-LN, gelu)", false, LMT_ACT_GELU, 0.0f, LMT_W_OUT_IN);
    test_ffn("feed-forward: Marian (post-LN, silu, activation dropout)", false, LMT_ACT_SILU, 0.2f, LMT_W_OUT_IN);
    test_ffn("feed-forward: relu", false, LMT_ACT_RELU, 0.0f, LMT_W_OUT_IN);
    test_embed("embeddings: GPT-2", false);
    test_embed("embeddings: BERT / RoBERTa", true);
    test_head("LM head: GPT-2 (fused loss)", false, false, false, false, true);
    test_head("LM head: GPT-2 (evaluation loss)", false, false, false, false, false);
    test_head("LM head: MLM (transform, bias, labelled rows)", true, true, true, true, false);
    test_head("LM head: MLM (transform, bias, all rows)", true, true, true, false, false);
    test_head("LM head: Marian (buffer bias, fused loss, labelled rows)", false, true, false, true, true);
    test_stack();
    /* after the others: their random draws stay as they were */
    test_attn_llama("attention: Llama (pre-RMSNorm, rope, grouped-query 4/2, head size 6, biases, padded keys)", 2, true, 0);
    test_attn_llama("attention: Llama (pre-RMSNorm, rope, one kv head, causal)", 1, false, 0);
    test_attn_llama("attention: Llama (pre-RMSNorm, rope, as many kv heads as heads)", 4, false, 0);
    test_attn_llama("attention: Mistral (sliding window of 2 keys, padded keys)", 2, true, 2);
    test_ffn_swiglu("feed-forward: Llama SwiGLU (pre-RMSNorm, mlp_bias)");
    return lmt_test_finish();
}
