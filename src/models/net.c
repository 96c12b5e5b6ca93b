/* The scaffolding every model shares (see net.h). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/crossentropy.h"
#include "kernels/dropout.h"
#include "kernels/zero.h"
#include "models/net.h"

float *lmt_arena_take(lmt_arena *a, size_t n) {
    size_t start = a->used;
    a->used += (n + 15) & ~(size_t)15;
    return a->base ? a->base + start : NULL;
}

int32_t *lmt_arena_take_i32(lmt_arena *a, size_t n) { return (int32_t *)lmt_arena_take(a, n); }

void lmt_block_ctx_plan(lmt_block_ctx *ctx, lmt_arena *a, size_t Nmax, int C, int Fmax, int Tmax, bool with_grads) {
    lmt_attention_shape s = {.Tq = Tmax, .Tk = Tmax, .threads = ctx->att_threads};
    ctx->att_scratch = lmt_arena_take(a, lmt_attention_scratch_floats(&s));
    if (!with_grads) return;
    size_t NC = Nmax * (size_t)C, NF = Nmax * (size_t)Fmax;
    size_t Dq = ctx->attn_width > C ? (size_t)ctx->attn_width : (size_t)C;   // the widest of C and q
    size_t Dkv = ctx->kv_width ? (size_t)ctx->kv_width : 0;                   // grouped k / v beside the expanded
    ctx->dx = lmt_arena_take(a, NC);
    ctx->dalt = lmt_arena_take(a, NC);
    ctx->dbuf = lmt_arena_take(a, Nmax * Dq);
    ctx->dtmp = lmt_arena_take(a, NC);
    ctx->dqkv = lmt_arena_take(a, Nmax * (3 * Dq + 2 * Dkv));
    ctx->dF1 = lmt_arena_take(a, NF);
    ctx->dF2 = lmt_arena_take(a, NF);
    ctx->bias_scratch = lmt_arena_take(a, lmt_activation_bias_scratch_floats((int)Nmax, Fmax));
    ctx->pad_rows = lmt_arena_take(a, 2 * (size_t)C);
}

const float *lmt_drop_back(float *scratch, const float *d, size_t n, float p, uint64_t seed) {
    if (p <= 0.0f) return d;
    lmt_dropout_backward_set(scratch, d, n, p, seed);
    return scratch;
}

lmt_status lmt_net_init(lmt_net *n, lmt_model *m, const char *name, int n_seeds, bool with_grads) {
    memset(n, 0, sizeof *n);
    n->model = m;
    n->name = name;
    n->loss = NAN;
    n->n_seeds = n_seeds;
    n->checkpoint = with_grads && m->gradient_checkpointing;
    n->ctx.att_threads = omp_get_max_threads();
    lmt_rng_seed(&n->rng, 42);
    n->seeds = calloc((size_t)n_seeds + 1, sizeof *n->seeds);
    if (!n->seeds) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    if (with_grads && m->frozen) {   // LoRA: the adapters' gradients come at lmt_lora_attach
        if (!(n->grads = lmt_aligned_alloc(64))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    } else if (with_grads) {
        size_t nf = m->layout.num_floats;
        n->grads = lmt_aligned_alloc(nf * sizeof(float));
        if (!n->grads) return lmt_fail(LMT_ERR_NOMEM, "out of memory allocating gradients (%zu floats)", nf);
        memset(n->grads, 0, nf * sizeof(float));
        n->grad_floats = nf;
    }
    return LMT_OK;
}

void *lmt_net_calloc(lmt_net *n, size_t count, size_t size) {
    void *p = n->n_owned < 8 ? calloc(count + 1, size) : NULL;
    if (p) n->owned[n->n_owned++] = p;
    else n->oom = true;
    return p;
}

lmt_status lmt_net_setup(lmt_net *n, lmt_bind_fn bind, lmt_plan_fn plan, void *model, int max_B, int max_T) {
    if (n->oom) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    bool with_grads = n->grads != NULL;
    n->bind = bind;
    n->bind_model = model;
    n->max_rows = (size_t)max_B * (size_t)max_T;
    bind(model, n->model->params, false);
    if (with_grads) bind(model, n->grads, true);
    lmt_arena a = {0};
    plan(model, &a, with_grads);   // sizes only
    if (a.used > SIZE_MAX / sizeof(float)) return lmt_fail(LMT_ERR_NOMEM, "activations too large");
    n->act_mem = lmt_aligned_alloc(a.used * sizeof(float));
    if (!n->act_mem)
        return lmt_fail(LMT_ERR_NOMEM, "out of memory allocating activations (%.1f MiB) for batch %d x %d",
                        a.used * 4.0 / 1048576, max_B, max_T);
    n->act_floats = a.used;
    a = (lmt_arena){n->act_mem, 0};
    plan(model, &a, with_grads);
    return LMT_OK;
}

void lmt_net_release(lmt_net *n) {
    lmt_aligned_free(n->grads);
    lmt_aligned_free(n->act_mem);
    free(n->seeds);
    for (int i = 0; i < n->n_owned; i++) free(n->owned[i]);
    n->n_owned = 0;
    n->grads = n->act_mem = NULL;
    n->seeds = NULL;
}

void lmt_net_set_seed(lmt_net *n, uint64_t seed) { lmt_rng_seed(&n->rng, seed); }

void lmt_net_zero_grad(lmt_net *n) {
    if (n->grads && n->grad_floats) lmt_zero_floats(n->grads, n->grad_floats);
    if (n->extra_grads) lmt_zero_floats(n->extra_grads, n->n_extra);
}

float *lmt_net_grad(lmt_net *n, const char *hf_name) {
    long i = lmt_layout_find(&n->model->layout, hf_name);
    return (i < 0 || !n->grad_floats) ? NULL : n->grads + n->model->layout.params[i].offset;
}

lmt_status lmt_net_forward_begin(lmt_net *n, lmt_dtype dtype, const void *input_ids) {
    n->ctx.B = 0;
    n->has_labels = false;
    n->loss = NAN;
    n->n_targets = 0;
    if (dtype != LMT_I32 && dtype != LMT_I64) return lmt_fail(LMT_ERR_ARG, "%s: input ids must be int32 or int64", n->name);
    if (!input_ids) return lmt_fail(LMT_ERR_ARG, "%s: no input_ids", n->name);
    return LMT_OK;
}

void lmt_net_step(lmt_net *n, int B, bool training, bool has_labels) {
    n->ctx.B = B;
    n->ctx.training = training;
    n->has_labels = has_labels;
    for (int k = 0; k < n->n_seeds; k++) n->seeds[k] = training ? lmt_rng_u64(&n->rng) : 0;
}

void lmt_net_set_loss(lmt_net *n, const float *losses, int M) {
    double sum = 0.0;
    for (int i = 0; i < M; i++) sum += losses[i];
    n->loss = n->n_targets ? (float)(sum / (double)n->n_targets) : NAN;
}

lmt_status lmt_net_backward_check(const lmt_net *n) {
    if (!n->grads) return lmt_fail(LMT_ERR_ARG, "%s: backward on a model set up without gradients", n->name);
    if (!n->has_labels || n->ctx.B == 0) return lmt_fail(LMT_ERR_ARG, "%s: backward needs a forward with labels", n->name);
    return LMT_OK;
}

float lmt_net_mean_scale(const lmt_net *n) { return n->n_targets > 0 ? 1.0f / (float)n->n_targets : 0.0f; }

int64_t lmt_get_int(lmt_dtype t, const void *p, size_t i) {
    return t == LMT_I64 ? ((const int64_t *)p)[i] : ((const int32_t *)p)[i];
}

lmt_status lmt_net_load_ids(const lmt_net *n, lmt_dtype t, const void *src, int32_t *dst, size_t N, int T, int V,
                            const char *what) {
    for (size_t i = 0; i < N; i++) {
        int64_t v = lmt_get_int(t, src, i);
        if (v < 0 || v >= V)
            return lmt_fail(LMT_ERR_ARG, "%s: %s[%zu][%zu] = %lld is outside the vocabulary (0..%d)", n->name, what,
                            i / T, i % T, (long long)v, V - 1);
        dst[i] = (int32_t)v;
    }
    return LMT_OK;
}

lmt_status lmt_net_load_labels(const lmt_net *n, lmt_dtype t, const void *src, int32_t *dst, size_t N, int T, int V,
                               const char *vocab) {
    for (size_t i = 0; i < N; i++) {
        int64_t v = lmt_get_int(t, src, i);
        if (v != LMT_IGNORE_INDEX && (v < 0 || v >= V))
            return lmt_fail(LMT_ERR_ARG, "%s: labels[%zu][%zu] = %lld is outside the %s (0..%d) and not -100", n->name,
                            i / T, i % T, (long long)v, vocab, V - 1);
        dst[i] = (int32_t)v;
    }
    return LMT_OK;
}

bool lmt_net_load_mask(lmt_dtype t, const void *src, int32_t *dst, size_t N) {
    bool padded = false;
    for (size_t i = 0; i < N; i++) {
        dst[i] = src ? lmt_get_int(t, src, i) != 0 : 1;
        padded |= !dst[i];
    }
    return padded;
}

float *lmt_net_slot(const lmt_net *n, float *base, int stack, int layer, int role) {
    const lmt_layout *l = &n->model->layout;
    long i = lmt_layout_slot(l, stack, layer, role);
    if (i < 0 || !base) return NULL;
    const lmt_param_spec *p = &l->params[i];
    if (base == n->grads && (p->flags & (LMT_PARAM_STATIC | LMT_PARAM_BUFFER))) return NULL;
    if (base == n->grads && n->trainable && !n->trainable[i]) return NULL;   // frozen under LoRA
    if (base == n->model->params && n->copies && n->copies[i]) return n->copies[i];   // LoRA's trained copy
    if (base == n->grads && n->copies && n->copies[i]) return n->gcopies ? n->gcopies[i] : NULL;
    if (base == n->grads && !n->grad_floats) return NULL;   // no base gradient buffer (LoRA)
    return base + p->offset;
}

struct lmt_adapter *lmt_net_adapter(const lmt_net *n, const float *base, int stack, int layer, int role) {
    if (!n->adapters || base != n->model->params) return NULL;
    long i = lmt_layout_slot(&n->model->layout, stack, layer, role);
    return i < 0 ? NULL : n->adapters[i];
}

void lmt_net_rebind(lmt_net *n) {
    if (!n->bind) return;
    n->bind(n->bind_model, n->model->params, false);
    if (n->grads) n->bind(n->bind_model, n->grads, true);
}
