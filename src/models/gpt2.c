/* GPT2LMHeadModel forward and backward over the flat parameter buffer. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/profile.h"
#include "core/util.h"
#include "kernels/activation.h"
#include "kernels/crossentropy.h"
#include "kernels/dropout.h"
#include "kernels/embedding.h"
#include "kernels/layernorm.h"
#include "kernels/linear.h"
#include "kernels/zero.h"
#include "kernels/matmul.h"
#include "kernels/residual.h"
#include "models/gpt2.h"

/* Bump allocator over one block; every array starts on a 64-byte boundary. */
typedef struct { float *base; size_t used, cap; } arena;

static float *take(arena *a, size_t n) {
    size_t start = a->used;
    a->used += (n + 15) & ~(size_t)15;
    return a->base ? a->base + start : NULL;
}

static lmt_status bind(lmt_gpt2 *g, float *base, lmt_gpt2_block *blocks, float **wte, float **wpe, float **lnf_w,
                       float **lnf_b) {
    lmt_model *m = g->model;
    const char *src = m->cfg.source ? m->cfg.source : "gpt2";
    char name[160];
#define BIND(dst, ...) do { snprintf(name, sizeof name, __VA_ARGS__); long i_ = lmt_layout_find(&m->layout, name); \
    if (i_ < 0) return lmt_fail(LMT_ERR_INTERNAL, "%s: GPT-2 layout lacks %s", src, name); \
    (dst) = base + m->layout.params[i_].offset; } while (0)
    BIND(*wte, "transformer.wte.weight");
    BIND(*wpe, "transformer.wpe.weight");
    BIND(*lnf_w, "transformer.ln_f.weight");
    BIND(*lnf_b, "transformer.ln_f.bias");
    long tied = lmt_layout_find(&m->layout, "lm_head.weight");
    if (tied < 0 || tied != lmt_layout_find(&m->layout, "transformer.wte.weight"))
        return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: an untied lm_head (tie_word_embeddings=false) is not supported", src);
    for (int l = 0; l < g->L; l++) {
        lmt_gpt2_block *b = &blocks[l];
        BIND(b->ln1_w, "transformer.h.%d.ln_1.weight", l);
        BIND(b->ln1_b, "transformer.h.%d.ln_1.bias", l);
        BIND(b->attn_w, "transformer.h.%d.attn.c_attn.weight", l);
        BIND(b->attn_b, "transformer.h.%d.attn.c_attn.bias", l);
        BIND(b->attnproj_w, "transformer.h.%d.attn.c_proj.weight", l);
        BIND(b->attnproj_b, "transformer.h.%d.attn.c_proj.bias", l);
        BIND(b->ln2_w, "transformer.h.%d.ln_2.weight", l);
        BIND(b->ln2_b, "transformer.h.%d.ln_2.bias", l);
        BIND(b->fc_w, "transformer.h.%d.mlp.c_fc.weight", l);
        BIND(b->fc_b, "transformer.h.%d.mlp.c_fc.bias", l);
        BIND(b->fcproj_w, "transformer.h.%d.mlp.c_proj.weight", l);
        BIND(b->fcproj_b, "transformer.h.%d.mlp.c_proj.bias", l);
    }
#undef BIND
    return LMT_OK;
}

/* Lays out (base == NULL: only sizes) every activation array. */
static void plan(lmt_gpt2 *g, arena *a, bool with_grads) {
    size_t N = (size_t)g->max_B * g->max_T, C = g->C, F = g->F;
    g->encoded = take(a, N * C);
    for (int l = 0; l < g->L; l++) {
        lmt_gpt2_acts *x = &g->a[l];
        x->ln1 = take(a, N * C);
        x->ln1_mean = take(a, N);
        x->ln1_rstd = take(a, N);
        x->qkv = take(a, N * 3 * C);
        x->atty = take(a, N * C);
        x->att_lse = take(a, N * g->NH);
        x->res2 = take(a, N * C);
        x->ln2 = take(a, N * C);
        x->ln2_mean = take(a, N);
        x->ln2_rstd = take(a, N);
        x->fch = take(a, N * F);
        x->fch_act = take(a, N * F);
        x->res3 = take(a, N * C);
    }
    g->lnf = take(a, N * C);
    g->lnf_mean = take(a, N);
    g->lnf_rstd = take(a, N);
    g->logits = take(a, N * g->V);
    g->losses = take(a, N);
    g->ce_lse = take(a, N);
    lmt_attention_shape s = {.Tq = g->max_T, .Tk = g->max_T, .threads = g->att_threads};
    g->att_scratch = take(a, lmt_attention_scratch_floats(&s));
    g->ids = (int32_t *)take(a, N);
    g->mask = (int32_t *)take(a, N);
    g->targets = (int32_t *)take(a, N);
    if (with_grads) {
        g->dres = take(a, N * C);
        g->dbuf = take(a, N * C);
        g->dtmp = take(a, N * C);
        g->dqkv = take(a, N * 3 * C);
        g->dF1 = take(a, N * F);
        g->dF2 = take(a, N * F);
        g->bias_scratch = take(a, lmt_activation_bias_scratch_floats((int)N, (int)F));
    }
}

lmt_status lmt_gpt2_create(lmt_model *m, int max_B, int max_T, bool with_grads, lmt_gpt2 **out) {
    *out = NULL;
    const lmt_config *c = &m->cfg;
    const char *src = c->source ? c->source : "gpt2";
    if (c->arch != LMT_ARCH_GPT2) return lmt_fail(LMT_ERR_ARG, "%s: not a GPT-2 model (%s)", src, lmt_arch_name(c->arch));
    if (max_B <= 0 || max_T <= 0 || max_T > c->max_positions)
        return lmt_fail(LMT_ERR_ARG, "%s: batch %d x %d tokens: the sequence length must be 1..%lld (n_positions)", src,
                        max_B, max_T, (long long)c->max_positions);
    /* Every row count * width product below must fit an int (the GEMM
     * interface) and the total must fit memory: bound N * max(V, F, 3C). */
    double N = (double)max_B * max_T;
    double widest = fmax(fmax((double)c->vocab_size, (double)c->d_ff), 3.0 * c->d_model);
    if (N * widest >= 2147483647.0 || (double)max_T * max_T * 4 >= 2147483647.0)
        return lmt_fail(LMT_ERR_ARG, "%s: batch %d x %d tokens is too large for this model", src, max_B, max_T);
    lmt_gpt2 *g = calloc(1, sizeof *g);
    if (!g) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    g->model = m;
    g->L = (int)c->n_layer;
    g->C = (int)c->d_model;
    g->NH = (int)c->n_head;
    g->F = (int)c->d_ff;
    g->V = (int)c->vocab_size;
    g->P = (int)c->max_positions;
    g->max_B = max_B;
    g->max_T = max_T;
    g->eps = (float)c->layer_norm_eps;
    g->act = c->act;
    g->p_embd = (float)c->embd_dropout;
    g->p_attn = (float)c->attn_dropout;
    g->p_resid = (float)c->dropout;
    g->attn_scale = c->scale_attn_weights ? 1.0f / sqrtf((float)(g->C / g->NH)) : 1.0f;
    g->loss = NAN;
    g->att_threads = omp_get_max_threads();
    lmt_rng_seed(&g->rng, 42);
    g->w = calloc((size_t)g->L, sizeof *g->w);
    g->g = calloc((size_t)g->L, sizeof *g->g);
    g->a = calloc((size_t)g->L, sizeof *g->a);
    g->seeds = calloc((size_t)(1 + 3 * g->L), sizeof *g->seeds);
    if (!g->w || !g->g || !g->a || !g->seeds) { lmt_gpt2_free(g); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    lmt_status st = bind(g, m->params, g->w, &g->wte, &g->wpe, &g->lnf_w, &g->lnf_b);
    if (st != LMT_OK) { lmt_gpt2_free(g); return st; }
    if (with_grads) {
        g->grads = lmt_aligned_alloc(m->layout.num_floats * sizeof(float));
        if (!g->grads) { lmt_gpt2_free(g); return lmt_fail(LMT_ERR_NOMEM, "out of memory allocating gradients (%zu floats)", m->layout.num_floats); }
        memset(g->grads, 0, m->layout.num_floats * sizeof(float));
        bind(g, g->grads, g->g, &g->dwte, &g->dwpe, &g->dlnf_w, &g->dlnf_b);
    }
    arena a = {0};
    plan(g, &a, with_grads);   // sizes only
    if (a.used > SIZE_MAX / sizeof(float)) { lmt_gpt2_free(g); return lmt_fail(LMT_ERR_NOMEM, "activations too large"); }
    g->act_mem = lmt_aligned_alloc(a.used * sizeof(float));
    if (!g->act_mem) {
        lmt_gpt2_free(g);
        return lmt_fail(LMT_ERR_NOMEM, "out of memory allocating activations (%.1f MiB) for batch %d x %d", a.used * 4.0 / 1048576, max_B, max_T);
    }
    a = (arena){g->act_mem, 0, 0};
    plan(g, &a, with_grads);
    *out = g;
    return LMT_OK;
}

void lmt_gpt2_free(lmt_gpt2 *g) {
    if (!g) return;
    lmt_aligned_free(g->grads);
    lmt_aligned_free(g->act_mem);
    free(g->w);
    free(g->g);
    free(g->a);
    free(g->seeds);
    free(g);
}

void lmt_gpt2_set_seed(lmt_gpt2 *g, uint64_t seed) { lmt_rng_seed(&g->rng, seed); }

void lmt_gpt2_zero_grad(lmt_gpt2 *g) {
    if (g->grads) lmt_zero_floats(g->grads, g->model->layout.num_floats);
}

float *lmt_gpt2_grad(lmt_gpt2 *g, const char *hf_name) {
    long i = lmt_layout_find(&g->model->layout, hf_name);
    return (i < 0 || !g->grads) ? NULL : g->grads + g->model->layout.params[i].offset;
}

static int64_t get_int(lmt_dtype t, const void *p, size_t i) {
    return t == LMT_I64 ? ((const int64_t *)p)[i] : ((const int32_t *)p)[i];
}

static lmt_status load_inputs(lmt_gpt2 *g, lmt_dtype t, const void *ids, const void *mask, const void *labels, int B,
                              int T) {
    size_t N = (size_t)B * T;
    for (size_t n = 0; n < N; n++) {
        int64_t v = get_int(t, ids, n);
        if (v < 0 || v >= g->V)
            return lmt_fail(LMT_ERR_ARG, "input_ids[%zu][%zu] = %lld is outside the vocabulary (0..%d)", n / T, n % T, (long long)v, g->V - 1);
        g->ids[n] = (int32_t)v;
        g->mask[n] = mask ? get_int(t, mask, n) != 0 : 1;
    }
    g->has_mask = false;
    if (mask)
        for (size_t n = 0; n < N && !g->has_mask; n++) g->has_mask = !g->mask[n];
    g->has_labels = labels != NULL;
    g->n_targets = 0;
    if (labels) {
        for (size_t n = 0; n < N; n++) {
            int64_t v = get_int(t, labels, n);
            if (v != LMT_IGNORE_INDEX && (v < 0 || v >= g->V))
                return lmt_fail(LMT_ERR_ARG, "labels[%zu][%zu] = %lld is outside the vocabulary (0..%d) and not -100", n / T, n % T, (long long)v, g->V - 1);
        }
        /* the shift: position t predicts labels[t+1]; the last predicts nothing */
        for (size_t n = 0; n < N; n++)
            g->targets[n] = (n % T == (size_t)T - 1) ? LMT_IGNORE_INDEX : (int32_t)get_int(t, labels, n + 1);
    }
    return LMT_OK;
}

static lmt_attention_shape attn_shape(const lmt_gpt2 *g, int l) {
    lmt_attention_shape s = {
        .B = g->B, .NH = g->NH, .Tq = g->T, .Tk = g->T, .hs = g->C / g->NH,
        .ldq = 3 * g->C, .ldk = 3 * g->C, .ldv = 3 * g->C, .ldo = g->C,
        .scale = g->attn_scale, .causal = true, .key_mask = g->has_mask ? g->mask : NULL,
        .dropout = g->training ? g->p_attn : 0.0f, .seed = g->seeds[1 + 3 * l], .threads = g->att_threads,
    };
    return s;
}

lmt_status lmt_gpt2_forward(lmt_gpt2 *g, lmt_dtype dtype, const void *input_ids, const void *attention_mask,
                            const void *labels, int B, int T, bool training) {
    /* a failed forward leaves nothing a backward could use */
    g->B = g->T = 0;
    g->has_labels = false;
    g->loss = NAN;
    if (dtype != LMT_I32 && dtype != LMT_I64) return lmt_fail(LMT_ERR_ARG, "gpt2: input ids must be int32 or int64");
    if (B <= 0 || T <= 0 || B > g->max_B || T > g->max_T)
        return lmt_fail(LMT_ERR_ARG, "gpt2: batch %d x %d exceeds the %d x %d the model was set up for", B, T, g->max_B, g->max_T);
    LMT_TRY(load_inputs(g, dtype, input_ids, attention_mask, labels, B, T));
    g->B = B;
    g->T = T;
    g->training = training;
    int N = B * T, C = g->C, F = g->F, V = g->V;
    float pr = training ? g->p_resid : 0.0f;
    for (int k = 0; k < 1 + 3 * g->L; k++) g->seeds[k] = training ? lmt_rng_u64(&g->rng) : 0;

    double nc = (double)N * C, fl_attn = 4.0 * B * T * T * C;   // flops: 2 * rows * in * out per product
    LMT_PROFILE("forward/embedding", 0, lmt_embedding_forward(g->encoded, g->ids, NULL, g->wte, g->wpe, 1.0f, B, T, C));
    if (training) LMT_PROFILE("forward/dropout", 0, lmt_dropout_forward(g->encoded, g->encoded, (size_t)N * C, g->p_embd, g->seeds[0]));
    const float *x = g->encoded;   // (N, C) residual stream
    for (int l = 0; l < g->L; l++) {
        lmt_gpt2_block *w = &g->w[l];
        lmt_gpt2_acts *a = &g->a[l];
        LMT_PROFILE("forward/layernorm", 0, lmt_layernorm_forward(a->ln1, a->ln1_mean, a->ln1_rstd, x, w->ln1_w, w->ln1_b, N, C, g->eps));
        LMT_PROFILE("forward/matmul qkv", 6 * nc * C, lmt_linear_forward(a->qkv, a->ln1, w->attn_w, w->attn_b, N, C, 3 * C, LMT_W_IN_OUT));
        lmt_attention_shape s = attn_shape(g, l);
        LMT_PROFILE("forward/attention", fl_attn, lmt_attention_forward(a->atty, a->att_lse, a->qkv, a->qkv + C, a->qkv + 2 * C, &s, g->att_scratch));
        LMT_PROFILE("forward/matmul attn proj", 2 * nc * C, lmt_linear_forward(a->res2, a->atty, w->attnproj_w, w->attnproj_b, N, C, C, LMT_W_IN_OUT));
        LMT_PROFILE("forward/dropout+residual", 0, lmt_dropout_residual_forward(a->res2, a->res2, x, (size_t)N * C, pr, g->seeds[2 + 3 * l]));
        LMT_PROFILE("forward/layernorm", 0, lmt_layernorm_forward(a->ln2, a->ln2_mean, a->ln2_rstd, a->res2, w->ln2_w, w->ln2_b, N, C, g->eps));
        LMT_PROFILE("forward/matmul fc", 2 * nc * F, lmt_linear_forward(a->fch, a->ln2, w->fc_w, NULL, N, C, F, LMT_W_IN_OUT));
        LMT_PROFILE("forward/bias+gelu", 0, lmt_bias_activation_forward(a->fch, a->fch_act, w->fc_b, N, F, g->act));
        LMT_PROFILE("forward/matmul fc proj", 2 * nc * F, lmt_linear_forward(a->res3, a->fch_act, w->fcproj_w, w->fcproj_b, N, F, C, LMT_W_IN_OUT));
        LMT_PROFILE("forward/dropout+residual", 0, lmt_dropout_residual_forward(a->res3, a->res3, a->res2, (size_t)N * C, pr, g->seeds[3 + 3 * l]));
        x = a->res3;
    }
    LMT_PROFILE("forward/layernorm", 0, lmt_layernorm_forward(g->lnf, g->lnf_mean, g->lnf_rstd, x, g->lnf_w, g->lnf_b, N, C, g->eps));
    LMT_PROFILE("forward/matmul lm_head", 2 * nc * V, lmt_linear_forward(g->logits, g->lnf, g->wte, NULL, N, C, V, LMT_W_OUT_IN));   // tied lm_head
    g->loss = NAN;
    g->logits_are_grad = g->has_labels && training && g->grads;
    if (g->logits_are_grad) {
        LMT_PROFILE("forward/cross-entropy", 0, g->n_targets = lmt_crossentropy_forward_grad(g->losses, g->logits, g->targets, N, V));
    } else if (g->has_labels) {
        LMT_PROFILE("forward/cross-entropy", 0, g->n_targets = lmt_crossentropy_forward(g->losses, g->ce_lse, g->logits, g->targets, N, V));
    }
    if (g->has_labels) {
        double sum = 0.0;
        for (int n = 0; n < N; n++) sum += g->losses[n];
        g->loss = g->n_targets ? (float)(sum / (double)g->n_targets) : NAN;
    }
    return LMT_OK;
}

/* d(x) -> d(dropout input): the same buffer when dropout was off. */
static const float *drop_back(lmt_gpt2 *g, const float *d, size_t n, float p, uint64_t seed) {
    if (p <= 0.0f) return d;
    lmt_dropout_backward_set(g->dtmp, d, n, p, seed);
    return g->dtmp;
}

lmt_status lmt_gpt2_backward_scaled(lmt_gpt2 *g, float scale) {
    if (!g->grads) return lmt_fail(LMT_ERR_ARG, "gpt2: backward on a model set up without gradients");
    if (!g->has_labels || g->B == 0) return lmt_fail(LMT_ERR_ARG, "gpt2: backward needs a forward with labels");
    int B = g->B, T = g->T, N = B * T, C = g->C, F = g->F, V = g->V;
    size_t NC = (size_t)N * C;
    float pr = g->training ? g->p_resid : 0.0f;

    double nc = (double)N * C, fl_attn = 8.0 * B * T * T * C;
    /* dlogits = scale * (softmax - onehot): the scale rides on the GEMMs' alpha */
    if (!g->logits_are_grad)
        LMT_PROFILE("backward/cross-entropy", 0, lmt_crossentropy_backward(g->logits, g->logits, g->ce_lse, g->targets, 1.0f, N, V));
    LMT_PROFILE("backward/matmul lm_head", 4 * nc * V, {
        lmt_sgemm(false, false, N, C, V, scale, g->logits, V, g->wte, C, 0.0f, g->dbuf, C);         // (N, C)
        lmt_sgemm(true, false, V, C, N, scale, g->logits, V, g->lnf, C, 1.0f, g->dwte, C);          // (V, C)
    });
    const float *xL = g->L ? g->a[g->L - 1].res3 : g->encoded;
    memset(g->dres, 0, NC * sizeof(float));
    LMT_PROFILE("backward/layernorm", 0, lmt_layernorm_backward(g->dres, g->dlnf_w, g->dlnf_b, g->dbuf, xL, g->lnf_w, g->lnf_mean, g->lnf_rstd, N, C));

    for (int l = g->L - 1; l >= 0; l--) {
        lmt_gpt2_block *w = &g->w[l], *dw = &g->g[l];
        lmt_gpt2_acts *a = &g->a[l];
        const float *x = l ? g->a[l - 1].res3 : g->encoded;
        /* g->dres holds d(res3); the residual passes it on to d(res2) unchanged */
        const float *dy;
        LMT_PROFILE("backward/dropout", 0, dy = drop_back(g, g->dres, NC, pr, g->seeds[3 + 3 * l]));
        LMT_PROFILE("backward/matmul fc proj", 4 * nc * F, lmt_linear_backward_set(g->dF1, dw->fcproj_w, dw->fcproj_b, dy, a->fch_act, w->fcproj_w, N, F, C, LMT_W_IN_OUT));
        LMT_PROFILE("backward/bias+gelu", 0, lmt_activation_bias_backward(g->dF2, dw->fc_b, g->dF1, a->fch, N, F, g->act, g->bias_scratch));
        LMT_PROFILE("backward/matmul fc", 4 * nc * F, lmt_linear_backward_set(g->dbuf, dw->fc_w, NULL, g->dF2, a->ln2, w->fc_w, N, C, F, LMT_W_IN_OUT));
        LMT_PROFILE("backward/layernorm", 0, lmt_layernorm_backward(g->dres, dw->ln2_w, dw->ln2_b, g->dbuf, a->res2, w->ln2_w, a->ln2_mean, a->ln2_rstd, N, C));
        /* g->dres holds d(res2) */
        LMT_PROFILE("backward/dropout", 0, dy = drop_back(g, g->dres, NC, pr, g->seeds[2 + 3 * l]));
        LMT_PROFILE("backward/matmul attn proj", 4 * nc * C, lmt_linear_backward_set(g->dbuf, dw->attnproj_w, dw->attnproj_b, dy, a->atty, w->attnproj_w, N, C, C, LMT_W_IN_OUT));
        memset(g->dqkv, 0, 3 * NC * sizeof(float));
        lmt_attention_shape s = attn_shape(g, l);
        LMT_PROFILE("backward/attention", fl_attn, lmt_attention_backward(g->dqkv, g->dqkv + C, g->dqkv + 2 * C, g->dbuf, a->att_lse, a->qkv, a->qkv + C,
                               a->qkv + 2 * C, &s, g->att_scratch));
        LMT_PROFILE("backward/matmul qkv", 12 * nc * C, lmt_linear_backward_set(g->dbuf, dw->attn_w, dw->attn_b, g->dqkv, a->ln1, w->attn_w, N, C, 3 * C, LMT_W_IN_OUT));
        LMT_PROFILE("backward/layernorm", 0, lmt_layernorm_backward(g->dres, dw->ln1_w, dw->ln1_b, g->dbuf, x, w->ln1_w, a->ln1_mean, a->ln1_rstd, N, C));
        /* g->dres holds d(x), the block input */
    }
    const float *de;
    LMT_PROFILE("backward/dropout", 0, de = drop_back(g, g->dres, NC, g->training ? g->p_embd : 0.0f, g->seeds[0]));
    LMT_PROFILE("backward/embedding", 0, lmt_embedding_backward(g->dwte, g->dwpe, de, g->ids, NULL, 1.0f, B, T, C));
    g->has_labels = false;   // logits now hold their gradient
    return LMT_OK;
}

lmt_status lmt_gpt2_backward(lmt_gpt2 *g) {
    float scale = g->n_targets > 0 ? 1.0f / (float)g->n_targets : 0.0f;
    return lmt_gpt2_backward_scaled(g, scale);
}
