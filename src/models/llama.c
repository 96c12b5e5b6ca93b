/* The Llama family as a composition of the shared blocks (see llama.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/profile.h"
#include "kernels/crossentropy.h"
#include "kernels/layernorm.h"
#include "models/llama.h"

static void bind(void *self, float *base, bool grads) {
    lmt_llama *l = self;
    lmt_llama_params *p = grads ? &l->g : &l->w;
    lmt_embed_bind(&p->emb, &l->net, base, LMT_STACK_DECODER);
    lmt_stack_bind(&l->h, &l->net, base, grads);
    p->norm_w = lmt_net_slot(&l->net, base, LMT_STACK_DECODER, -1, LMT_ROLE_FINAL_LN_W);
    lmt_head_bind(&p->head, &l->net, base);
}

static void plan(void *self, lmt_arena *a, bool with_grads) {
    lmt_llama *l = self;
    size_t N = (size_t)l->max_B * l->max_T;
    lmt_embed_plan(a, &l->emb, &l->emb_cfg, N, false);
    lmt_stack_plan(&l->h, a, N, N);
    l->norm = lmt_arena_take(a, N * l->C);
    l->norm_rstd = lmt_arena_take(a, N);
    lmt_head_plan(a, &l->head, &l->head_cfg, N);
    l->logits = l->head.logits;
    l->rope_cos = lmt_arena_take(a, (size_t)l->max_T * (l->hs / 2));
    l->rope_sin = lmt_arena_take(a, (size_t)l->max_T * (l->hs / 2));
    l->ids = lmt_arena_take_i32(a, N);
    l->mask = lmt_arena_take_i32(a, N);
    l->targets = lmt_arena_take_i32(a, N);
    l->tok_cos = lmt_arena_take(a, N * (l->hs / 2));
    l->tok_sin = lmt_arena_take(a, N * (l->hs / 2));
    l->seg_start = lmt_arena_take_i32(a, N);
    l->net.ctx.attn_width = l->NH * l->hs;
    l->net.ctx.kv_width = l->NKV * l->hs;
    lmt_block_ctx_plan(&l->net.ctx, a, N, l->C, l->F, l->max_T, with_grads);
}

/* transformers' modeling_rope_utils in float32: base ** (arange(0, dim, 2) / dim), then the type's scaling. */
void lmt_llama_inv_freq(const lmt_rope *r, int hs, int64_t max_positions, int T, float *inv) {
    int half = hs / 2;
    double base = r->theta;
    if (r->type == LMT_ROPE_DYNAMIC && T > max_positions)   // the dynamic NTK base for a longer sequence
        base *= pow(r->factor * T / (double)max_positions - (r->factor - 1), (double)hs / (hs - 2));
    for (int i = 0; i < half; i++) inv[i] = 1.0f / powf((float)base, (float)(2 * i) / (float)hs);
    if (r->type == LMT_ROPE_LINEAR)
        for (int i = 0; i < half; i++) inv[i] /= (float)r->factor;
    if (r->type == LMT_ROPE_LLAMA3) {
        float old = (float)r->original_max_positions, factor = (float)r->factor;
        float low_wl = (float)(r->original_max_positions / r->low_freq_factor);
        float high_wl = (float)(r->original_max_positions / r->high_freq_factor);
        float lo = (float)r->low_freq_factor, span = (float)(r->high_freq_factor - r->low_freq_factor);
        for (int i = 0; i < half; i++) {
            float wl = (float)(2 * M_PI) / inv[i];
            float f = wl > low_wl ? inv[i] / factor : inv[i];
            if (!(wl < high_wl) && !(wl > low_wl)) {
                float sm = (old / wl - lo) / span;
                f = (1.0f - sm) * f / factor + sm * f;
            }
            inv[i] = f;
        }
    }
}

void lmt_llama_rope_tables(const lmt_rope *r, int hs, int64_t max_positions, int n, float *cs, float *sn) {
    int half = hs / 2;
    float inv[2048];
    lmt_llama_inv_freq(r, hs, max_positions, n, inv);
    for (int t = 0; t < n; t++)
        for (int i = 0; i < half; i++) {
            float f = (float)t * inv[i];
            cs[(size_t)t * half + i] = (float)cos((double)f);
            sn[(size_t)t * half + i] = (float)sin((double)f);
        }
}

/* the step's tables for T tokens (kept while they serve: a longer sequence's
 * tables hold a shorter one's, except under dynamic scaling) */
static void rope_tables(lmt_llama *l, int T) {
    if (l->rope_T == T || (l->rope_T > T && l->rope.type != LMT_ROPE_DYNAMIC)) return;
    lmt_llama_rope_tables(&l->rope, l->hs, l->max_positions, T, l->rope_cos, l->rope_sin);
    l->rope_T = T;
}

lmt_status lmt_llama_create(lmt_model *m, int max_B, int max_T, bool with_grads, lmt_llama **out) {
    *out = NULL;
    const lmt_config *c = &m->cfg;
    const char *src = c->source ? c->source : "llama";
    if (!lmt_arch_is_llama(c->arch)) return lmt_fail(LMT_ERR_ARG, "%s: not a Llama-family model (%s)", src, lmt_arch_name(c->arch));
    if (max_B <= 0 || max_T <= 0) return lmt_fail(LMT_ERR_ARG, "%s: batch %d x %d tokens", src, max_B, max_T);
    double N = (double)max_B * max_T;
    double widest = fmax(fmax((double)c->vocab_size, 2.0 * c->d_ff), 3.0 * c->n_head * c->head_dim + c->d_model);
    if (N * widest >= 2147483647.0 || (double)max_T * max_T * 4 >= 2147483647.0)
        return lmt_fail(LMT_ERR_ARG, "%s: batch %d x %d tokens is too large for this model", src, max_B, max_T);
    if (c->head_dim / 2 > 2048) return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: head_dim %lld is too large", src, (long long)c->head_dim);
    lmt_llama *l = calloc(1, sizeof *l);
    if (!l) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    *l = (lmt_llama){.L = (int)c->n_layer, .C = (int)c->d_model, .NH = (int)c->n_head, .NKV = (int)c->n_kv_head,
                     .hs = (int)c->head_dim, .F = (int)c->d_ff, .V = (int)c->vocab_size, .max_B = max_B,
                     .max_T = max_T, .eps = (float)c->layer_norm_eps, .rope = c->rope,
                     .max_positions = c->max_positions, .sliding_window = c->sliding_window};
    lmt_status st = lmt_net_init(&l->net, m, lmt_arch_name(c->arch), 1 + 3 * l->L, with_grads);
    l->emb_cfg = (lmt_embed_cfg){.C = l->C, .V = l->V, .scale = 1.0f, .pad_id = (int)c->pad_token_id};
    l->h = (lmt_stack){.id = LMT_STACK_DECODER, .L = l->L, .seeds_per_layer = 3,
        .self = {.C = l->C, .NH = l->NH, .NKV = l->NKV, .hs = l->hs, .eps = l->eps, .p_attn = (float)c->attn_dropout,
                 .causal = true, .pre_ln = true, .rope = true, .rms = true, .wl = LMT_W_OUT_IN,
                 .window = (int)lmt_config_layer_window(c, 0),
                 .scale = 1.0f / sqrtf((float)l->hs)},
        .ffn = {.C = l->C, .F = l->F, .eps = l->eps, .act = LMT_ACT_SILU, .pre_ln = true, .gated = true, .rms = true,
                .wl = LMT_W_OUT_IN}};
    lmt_stack_alloc(&l->h, &l->net);
    if (c->arch == LMT_ARCH_QWEN2 && c->sliding_window > 0) {   // the window on some layers only
        int *win = lmt_net_calloc(&l->net, (size_t)l->L, sizeof *win);
        for (int i = 0; win && i < l->L; i++) win[i] = (int)lmt_config_layer_window(c, i);
        l->h.windows = win;
    }
    l->head_cfg = (lmt_head_cfg){.C = l->C, .V = l->V};
    if (st == LMT_OK) st = lmt_net_setup(&l->net, bind, plan, l, max_B, max_T);
    if (st == LMT_OK) *out = l;
    else lmt_llama_free(l);
    return st;
}

lmt_status lmt_llama_forward(lmt_llama *l, lmt_dtype dtype, const void *input_ids, const void *attention_mask,
                             const void *labels, int B, int T, bool training) {
    lmt_net *n = &l->net;
    l->B = l->T = 0;
    LMT_TRY(lmt_net_forward_begin(n, dtype, input_ids));
    if (B <= 0 || T <= 0 || B > l->max_B || T > l->max_T)
        return lmt_fail(LMT_ERR_ARG, "%s: batch %d x %d exceeds the %d x %d the model was set up for", n->name, B, T, l->max_B, l->max_T);
    size_t N = (size_t)B * T;
    LMT_TRY(lmt_net_load_ids(n, dtype, input_ids, l->ids, N, T, l->V, "input_ids"));
    l->has_mask = lmt_net_load_mask(dtype, attention_mask, l->mask, N);
    if (labels) {
        LMT_TRY(lmt_net_load_labels(n, dtype, labels, l->targets, N, T, l->V, "vocabulary"));
        for (size_t i = 0; i < N; i++) l->targets[i] = (i % T == (size_t)T - 1) ? LMT_IGNORE_INDEX : l->targets[i + 1];
    }
    l->B = B;
    l->T = T;
    lmt_net_step(n, B, training, labels != NULL);
    const int32_t *pos = l->positions;
    l->positions = NULL;
    n->ctx.rope_per_token = pos != NULL;
    n->ctx.seg_start = NULL;
    if (pos) {   /* packed sequences: each token's rotary row, each query's sequence start */
        int half = l->hs / 2, pm = 0;
        for (size_t i = 0; i < N; i++) {
            if (pos[i] < 0 || pos[i] >= T) return lmt_fail(LMT_ERR_ARG, "%s: position_ids[%zu] = %d outside [0, %d)", n->name, i, pos[i], T);
            pm = pos[i] > pm ? pos[i] : pm;
        }
        rope_tables(l, pm + 1);
        for (size_t i = 0; i < N; i++) {
            memcpy(l->tok_cos + i * half, l->rope_cos + (size_t)pos[i] * half, (size_t)half * sizeof(float));
            memcpy(l->tok_sin + i * half, l->rope_sin + (size_t)pos[i] * half, (size_t)half * sizeof(float));
            int t = (int)(i % (size_t)T);
            l->seg_start[i] = t == 0 ? 0 : pos[i] - pos[i - 1] == 1 ? l->seg_start[i - 1] : t;
        }
        n->ctx.rope_cos = l->tok_cos;
        n->ctx.rope_sin = l->tok_sin;
        n->ctx.seg_start = l->seg_start;
    } else {
        rope_tables(l, T);
        n->ctx.rope_cos = l->rope_cos;
        n->ctx.rope_sin = l->rope_sin;
    }
    lmt_embed_forward(&l->emb_cfg, &l->w.emb, &l->emb, l->ids, NULL, NULL, T, n->seeds[0], &n->ctx);
    const float *x = lmt_stack_forward(&l->h, l->emb.out, T, l->has_mask ? l->mask : NULL, NULL, 0, NULL, n->seeds + 1, &n->ctx);
    LMT_PROFILE("forward/rmsnorm", 0, lmt_rmsnorm_forward(l->norm, l->norm_rstd, x, l->w.norm_w, (int)N, l->C, l->eps));
    lmt_head_forward_loss(&l->head_cfg, &l->w.head, &l->g.head, &l->head, l->norm, (int)N, labels ? l->targets : NULL, false, n);
    return LMT_OK;
}

lmt_status lmt_llama_backward_scaled(lmt_llama *l, float scale) {
    lmt_net *n = &l->net;
    LMT_TRY(lmt_net_backward_check(n));
    lmt_block_ctx *ctx = &n->ctx;
    int T = l->T, N = l->B * T;
    lmt_head_backward(&l->head_cfg, &l->w.head, &l->g.head, &l->head, l->norm, N, l->targets, scale, ctx->dbuf, ctx);
    memset(ctx->dx, 0, (size_t)N * l->C * sizeof(float));
    LMT_PROFILE("backward/rmsnorm", 0, lmt_rmsnorm_backward(ctx->dx, l->g.norm_w, ctx->dbuf, lmt_stack_output(&l->h, l->emb.out),
                                                            l->w.norm_w, l->norm_rstd, N, l->C));
    lmt_stack_backward(&l->h, l->emb.out, T, l->has_mask ? l->mask : NULL, NULL, 0, NULL, NULL, n->seeds + 1, ctx);
    lmt_embed_backward(&l->emb_cfg, &l->w.emb, &l->g.emb, &l->emb, l->ids, NULL, NULL, T, n->seeds[0], ctx);
    n->has_labels = false;
    return LMT_OK;
}

void lmt_llama_set_positions(lmt_llama *l, const int32_t *position_ids) { l->positions = position_ids; }

lmt_status lmt_llama_backward(lmt_llama *l) { return lmt_llama_backward_scaled(l, lmt_net_mean_scale(&l->net)); }
void lmt_llama_free(lmt_llama *l) { if (l) lmt_net_release(&l->net); free(l); }
