/* The attention block (see attn.h). */
#include <string.h>
#include "core/profile.h"
#include "kernels/attention.h"
#include "models/blocks/attn.h"

void lmt_attn_plan(lmt_arena *a, lmt_attn_acts *x, const lmt_attn_cfg *c, size_t Nq, size_t Nk) {
    size_t C = c->C;
    lmt_sublayer_plan(a, &x->r, Nq, c->C);
    if (c->fused) {
        x->q = lmt_arena_take(a, Nq * 3 * C);
        x->k = x->q ? x->q + C : NULL;
        x->v = x->q ? x->q + 2 * C : NULL;
    } else {
        x->q = lmt_arena_take(a, Nq * C);
        x->k = lmt_arena_take(a, Nk * C);
        x->v = lmt_arena_take(a, Nk * C);
    }
    x->atty = lmt_arena_take(a, Nq * C);
    x->lse = lmt_arena_take(a, Nq * c->NH);
}

void lmt_attn_bind(lmt_attn_params *p, const lmt_net *n, float *base, int stack, int layer) {
#define SLOT(role) lmt_net_slot(n, base, stack, layer, role)
    *p = (lmt_attn_params){
        SLOT(LMT_ROLE_ATTN_QKV_W), SLOT(LMT_ROLE_ATTN_QKV_B), SLOT(LMT_ROLE_ATTN_Q_W), SLOT(LMT_ROLE_ATTN_Q_B),
        SLOT(LMT_ROLE_ATTN_K_W), SLOT(LMT_ROLE_ATTN_K_B), SLOT(LMT_ROLE_ATTN_V_W), SLOT(LMT_ROLE_ATTN_V_B),
        SLOT(LMT_ROLE_ATTN_O_W), SLOT(LMT_ROLE_ATTN_O_B), SLOT(LMT_ROLE_ATTN_LN_W), SLOT(LMT_ROLE_ATTN_LN_B),
    };
#undef SLOT
}

static lmt_attention_shape shape(const lmt_attn_cfg *c, int Tq, int Tk, const int32_t *key_mask, uint64_t seed,
                                 const lmt_block_ctx *ctx) {
    int ld = c->fused ? 3 * c->C : c->C;
    lmt_attention_shape s = {
        .B = ctx->B, .NH = c->NH, .Tq = Tq, .Tk = Tk, .hs = c->C / c->NH,
        .ldq = ld, .ldk = ld, .ldv = ld, .ldo = c->C,
        .scale = c->scale, .causal = c->causal, .key_mask = key_mask,
        .dropout = ctx->training ? c->p_attn : 0.0f, .seed = seed, .threads = ctx->att_threads,
    };
    return s;
}

void lmt_attn_forward(const lmt_attn_cfg *c, const lmt_attn_params *w, lmt_attn_acts *a, const float *x,
                      const float *kv, int Tq, int Tk, const int32_t *key_mask, uint64_t seed_attn,
                      uint64_t seed_out, lmt_block_ctx *ctx) {
    int C = c->C, Nq = ctx->B * Tq, Nk = ctx->B * Tk;
    double nc = (double)Nq * C, fl_attn = 4.0 * Nq * Tk * C;   // flops: 2 * rows * in * out per product
    const float *in = lmt_sublayer_in(&a->r, c->pre_ln, x, w->ln_w, w->ln_b, Nq, C, c->eps);
    const float *kin = kv == x ? in : kv;
    if (c->fused) {
        LMT_PROFILE("forward/matmul qkv", 6 * nc * C, lmt_linear_forward(a->q, in, w->qkv_w, w->qkv_b, Nq, C, 3 * C, c->wl));
    } else {
        LMT_PROFILE("forward/matmul qkv", 2 * (nc + 2.0 * Nk * C) * C, {
            lmt_linear_forward(a->q, in, w->q_w, w->q_b, Nq, C, C, c->wl);
            lmt_linear_forward(a->k, kin, w->k_w, w->k_b, Nk, C, C, c->wl);
            lmt_linear_forward(a->v, kin, w->v_w, w->v_b, Nk, C, C, c->wl);
        });
    }
    lmt_attention_shape s = shape(c, Tq, Tk, key_mask, seed_attn, ctx);
    LMT_PROFILE("forward/attention", fl_attn, lmt_attention_forward(a->atty, a->lse, a->q, a->k, a->v, &s, ctx->att_scratch));
    LMT_PROFILE("forward/matmul attn proj", 2 * nc * C, lmt_linear_forward(a->r.res, a->atty, w->o_w, w->o_b, Nq, C, C, c->wl));
    lmt_sublayer_out(&a->r, c->pre_ln, x, w->ln_w, w->ln_b, Nq, C, c->eps, c->p_out, seed_out, ctx);
}

void lmt_attn_backward(const lmt_attn_cfg *c, const lmt_attn_params *w, const lmt_attn_params *g,
                       const lmt_attn_acts *a, const float *x, const float *kv, float *dkv, int Tq, int Tk,
                       const int32_t *key_mask, uint64_t seed_attn, uint64_t seed_out, lmt_block_ctx *ctx) {
    int C = c->C, Nq = ctx->B * Tq, Nk = ctx->B * Tk;
    size_t NqC = (size_t)Nq * C, NkC = (size_t)Nk * C;
    double nc = (double)Nq * C, fl_attn = 8.0 * Nq * Tk * C;
    bool self = kv == x;
    const float *dy = lmt_sublayer_back_out(&a->r, c->pre_ln, w->ln_w, g->ln_w, g->ln_b, Nq, C, c->p_out, seed_out, ctx);
    const float *in = c->pre_ln ? a->r.ln : x, *kin = self ? in : kv;
    float *din = lmt_sublayer_din(c->pre_ln, ctx);   // pre-LN: set; post-LN: the residual's d(x), added to
    LMT_PROFILE("backward/matmul attn proj", 4 * nc * C, lmt_linear_backward_set(ctx->dbuf, g->o_w, g->o_b, dy, a->atty, w->o_w, Nq, C, C, c->wl));
    lmt_attention_shape s = shape(c, Tq, Tk, key_mask, seed_attn, ctx);
    float *dq = ctx->dqkv, *dk = c->fused ? dq + C : dq + NqC, *dv = c->fused ? dq + 2 * C : dk + NkC;
    memset(ctx->dqkv, 0, (c->fused ? 3 * NqC : NqC + 2 * NkC) * sizeof(float));
    LMT_PROFILE("backward/attention", fl_attn, lmt_attention_backward(dq, dk, dv, ctx->dbuf, a->lse, a->q, a->k, a->v, &s, ctx->att_scratch));
    if (c->fused) {
        LMT_PROFILE("backward/matmul qkv", 12 * nc * C, (c->pre_ln ? lmt_linear_backward_set : lmt_linear_backward)(
            din, g->qkv_w, g->qkv_b, dq, in, w->qkv_w, Nq, C, 3 * C, c->wl));
    } else {
        float *dkin = self ? din : dkv;
        LMT_PROFILE("backward/matmul qkv", 4 * (nc + 2.0 * Nk * C) * C, {
            (c->pre_ln ? lmt_linear_backward_set : lmt_linear_backward)(din, g->q_w, g->q_b, dq, in, w->q_w, Nq, C, C, c->wl);
            lmt_linear_backward(dkin, g->k_w, g->k_b, dk, kin, w->k_w, Nk, C, C, c->wl);
            lmt_linear_backward(dkin, g->v_w, g->v_b, dv, kin, w->v_w, Nk, C, C, c->wl);
        });
    }
    lmt_sublayer_back_in(&a->r, c->pre_ln, x, w->ln_w, g->ln_w, g->ln_b, Nq, C, ctx);
}
