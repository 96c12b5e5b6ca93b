/* The attention block (see attn.h). */
#include <string.h>
#include "core/profile.h"
#include "kernels/attention.h"
#include "kernels/rope.h"
#include "models/blocks/attn.h"

static int nkv(const lmt_attn_cfg *c) { return c->NKV ? c->NKV : c->NH; }
static int head_size(const lmt_attn_cfg *c) { return c->hs ? c->hs : c->C / c->NH; }
int lmt_attn_q_width(const lmt_attn_cfg *c) { return c->NH * head_size(c); }
int lmt_attn_kv_width(const lmt_attn_cfg *c) { return nkv(c) * head_size(c); }

void lmt_attn_plan(lmt_arena *a, lmt_attn_acts *x, const lmt_attn_cfg *c, size_t Nq, size_t Nk) {
    size_t C = c->C, Dq = lmt_attn_q_width(c), Dkv = lmt_attn_kv_width(c);
    lmt_sublayer_plan(a, &x->r, Nq, c->C);
    x->r.rms = c->rms;
    if (c->fused) {
        x->q = lmt_arena_take(a, Nq * 3 * C);
        x->k = x->q ? x->q + C : NULL;
        x->v = x->q ? x->q + 2 * C : NULL;
        x->ke = x->k;
        x->ve = x->v;
    } else {
        x->q = lmt_arena_take(a, Nq * Dq);
        x->k = lmt_arena_take(a, Nk * Dkv);
        x->v = lmt_arena_take(a, Nk * Dkv);
        bool grouped = Dkv != Dq;
        x->ke = grouped ? lmt_arena_take(a, Nk * Dq) : x->k;
        x->ve = grouped ? lmt_arena_take(a, Nk * Dq) : x->v;
    }
    x->atty = lmt_arena_take(a, Nq * Dq);
    x->lse = lmt_arena_take(a, Nq * c->NH);
}

/* Grouped-query attention: key/value head h / (NH / NKV) serves query head h.
 * out (N, NH * hs) from in (N, NKV * hs). */
static void expand_heads(float *out, const float *in, int N, int NH, int NKV, int hs) {
    int g = NH / NKV;
    for (long r = 0; r < N; r++)
        for (int h = 0; h < NH; h++)
            memcpy(out + (r * NH + h) * hs, in + (r * NKV + h / g) * hs, (size_t)hs * sizeof(float));
}

/* its backward: din (N, NKV * hs) = the sums of each group's dout heads (overwritten) */
static void sum_heads(float *din, const float *dout, int N, int NH, int NKV, int hs) {
    int g = NH / NKV;
    for (long r = 0; r < N; r++)
        for (int kh = 0; kh < NKV; kh++) {
            float *d = din + (r * NKV + kh) * hs;
            const float *s = dout + (r * NH + kh * g) * hs;
            for (int i = 0; i < hs; i++) d[i] = s[i];
            for (int j = 1; j < g; j++)
                for (int i = 0; i < hs; i++) d[i] += s[(size_t)j * hs + i];
        }
}

void lmt_attn_bind(lmt_attn_params *p, const lmt_net *n, float *base, int stack, int layer) {
#define SLOT(role) lmt_net_slot(n, base, stack, layer, role)
    *p = (lmt_attn_params){
        SLOT(LMT_ROLE_ATTN_QKV_W), SLOT(LMT_ROLE_ATTN_QKV_B), SLOT(LMT_ROLE_ATTN_Q_W), SLOT(LMT_ROLE_ATTN_Q_B),
        SLOT(LMT_ROLE_ATTN_K_W), SLOT(LMT_ROLE_ATTN_K_B), SLOT(LMT_ROLE_ATTN_V_W), SLOT(LMT_ROLE_ATTN_V_B),
        SLOT(LMT_ROLE_ATTN_O_W), SLOT(LMT_ROLE_ATTN_O_B), SLOT(LMT_ROLE_ATTN_LN_W), SLOT(LMT_ROLE_ATTN_LN_B),
        NULL, NULL, NULL, NULL, NULL,   // adapters: below
    };
#undef SLOT
#define AD(role) lmt_net_adapter(n, base, stack, layer, role)
    p->qkv_a = AD(LMT_ROLE_ATTN_QKV_W);
    p->q_a = AD(LMT_ROLE_ATTN_Q_W);
    p->k_a = AD(LMT_ROLE_ATTN_K_W);
    p->v_a = AD(LMT_ROLE_ATTN_V_W);
    p->o_a = AD(LMT_ROLE_ATTN_O_W);
#undef AD
}

static lmt_attention_shape shape(const lmt_attn_cfg *c, int Tq, int Tk, const int32_t *key_mask, uint64_t seed,
                                 const lmt_block_ctx *ctx) {
    int ld = c->fused ? 3 * c->C : lmt_attn_q_width(c);
    lmt_attention_shape s = {
        .B = ctx->B, .NH = c->NH, .Tq = Tq, .Tk = Tk, .hs = head_size(c),
        .ldq = ld, .ldk = ld, .ldv = ld, .ldo = lmt_attn_q_width(c),
        .scale = c->scale, .causal = c->causal, .window = c->window, .key_mask = key_mask,
        .seg_start = Tq == Tk ? ctx->seg_start : NULL,
        .dropout = ctx->training ? c->p_attn : 0.0f, .seed = seed, .threads = ctx->att_threads,
    };
    return s;
}

void lmt_attn_forward(const lmt_attn_cfg *c, const lmt_attn_params *w, lmt_attn_acts *a, const float *x,
                      const float *kv, int Tq, int Tk, const int32_t *key_mask, uint64_t seed_attn,
                      uint64_t seed_out, lmt_block_ctx *ctx) {
    int C = c->C, Nq = ctx->B * Tq, Nk = ctx->B * Tk, Dq = lmt_attn_q_width(c), Dkv = lmt_attn_kv_width(c);
    int hs = head_size(c);
    double nc = (double)Nq * C, fl_attn = 4.0 * Nq * Tk * Dq;   // flops: 2 * rows * in * out per product
    const float *in = lmt_sublayer_in(&a->r, c->pre_ln, x, w->ln_w, w->ln_b, Nq, C, c->eps);
    const float *kin = kv == x ? in : kv;
    if (c->fused) {
        LMT_PROFILE("forward/matmul qkv", 6 * nc * C, lmt_adapted_forward(a->q, in, w->qkv_w, w->qkv_b, w->qkv_a, Nq, C, 3 * C, c->wl, ctx->training));
    } else {
        LMT_PROFILE("forward/matmul qkv", 2 * ((double)Nq * Dq + 2.0 * Nk * Dkv) * C, {
            lmt_adapted_forward(a->q, in, w->q_w, w->q_b, w->q_a, Nq, C, Dq, c->wl, ctx->training);
            lmt_adapted_forward(a->k, kin, w->k_w, w->k_b, w->k_a, Nk, C, Dkv, c->wl, ctx->training);
            lmt_adapted_forward(a->v, kin, w->v_w, w->v_b, w->v_a, Nk, C, Dkv, c->wl, ctx->training);
        });
    }
    if (c->rope)
        LMT_PROFILE("forward/rope", 0, {
            /* per-token tables (packed sequences): the B rows as one sequence of B * T positions */
            int rb = ctx->rope_per_token ? 1 : ctx->B, rq = ctx->rope_per_token ? Nq : Tq, rk = ctx->rope_per_token ? Nk : Tk;
            lmt_rope_forward(a->q, rb, rq, c->NH, hs, Dq, ctx->rope_cos, ctx->rope_sin);
            lmt_rope_forward(a->k, rb, rk, nkv(c), hs, Dkv, ctx->rope_cos, ctx->rope_sin);
        });
    if (a->ke != a->k) {
        expand_heads(a->ke, a->k, Nk, c->NH, nkv(c), hs);
        expand_heads(a->ve, a->v, Nk, c->NH, nkv(c), hs);
    }
    lmt_attention_shape s = shape(c, Tq, Tk, key_mask, seed_attn, ctx);
    LMT_PROFILE("forward/attention", fl_attn, lmt_attention_forward(a->atty, a->lse, a->q, a->ke, a->ve, &s, ctx->att_scratch));
    LMT_PROFILE("forward/matmul attn proj", 2.0 * Nq * Dq * C, lmt_adapted_forward(a->r.res, a->atty, w->o_w, w->o_b, w->o_a, Nq, Dq, C, c->wl, ctx->training));
    lmt_sublayer_out(&a->r, c->pre_ln, x, w->ln_w, w->ln_b, Nq, C, c->eps, c->p_out, seed_out, ctx);
}

void lmt_attn_backward(const lmt_attn_cfg *c, const lmt_attn_params *w, const lmt_attn_params *g,
                       const lmt_attn_acts *a, const float *x, const float *kv, float *dkv, int Tq, int Tk,
                       const int32_t *key_mask, uint64_t seed_attn, uint64_t seed_out, lmt_block_ctx *ctx) {
    int C = c->C, Nq = ctx->B * Tq, Nk = ctx->B * Tk, Dq = lmt_attn_q_width(c), Dkv = lmt_attn_kv_width(c);
    int hs = head_size(c);
    size_t NqC = (size_t)Nq * C, NqD = (size_t)Nq * Dq, NkD = (size_t)Nk * Dq;
    double nc = (double)Nq * C, fl_attn = 8.0 * Nq * Tk * Dq;
    bool self = kv == x, grouped = a->ke != a->k;
    const float *dy = lmt_sublayer_back_out(&a->r, c->pre_ln, w->ln_w, g->ln_w, g->ln_b, Nq, C, c->p_out, seed_out, ctx);
    const float *in = c->pre_ln ? a->r.ln : x, *kin = self ? in : kv;
    float *din = lmt_sublayer_din(c->pre_ln, ctx);   // pre-LN: set; post-LN: the residual's d(x), added to
    LMT_PROFILE("backward/matmul attn proj", 4.0 * Nq * Dq * C, lmt_adapted_backward(true, ctx->dbuf, g->o_w, g->o_b, dy, a->atty, w->o_w, w->o_a, Nq, Dq, C, c->wl, ctx->training));
    lmt_attention_shape s = shape(c, Tq, Tk, key_mask, seed_attn, ctx);
    /* dq | d(ke) | d(ve) [| dk | dv: grouped, the sums over each group] */
    float *dq = ctx->dqkv, *dk = c->fused ? dq + C : dq + NqD, *dv = c->fused ? dq + 2 * C : dk + NkD;
    memset(ctx->dqkv, 0, (c->fused ? 3 * NqC : NqD + 2 * NkD) * sizeof(float));
    LMT_PROFILE("backward/attention", fl_attn, lmt_attention_backward(dq, dk, dv, ctx->dbuf, a->lse, a->q, a->ke, a->ve, &s, ctx->att_scratch));
    if (grouped) {
        float *dkg = dv + NkD, *dvg = dkg + (size_t)Nk * Dkv;
        sum_heads(dkg, dk, Nk, c->NH, nkv(c), hs);
        sum_heads(dvg, dv, Nk, c->NH, nkv(c), hs);
        dk = dkg;
        dv = dvg;
    }
    if (c->rope)
        LMT_PROFILE("backward/rope", 0, {
            int rb = ctx->rope_per_token ? 1 : ctx->B, rq = ctx->rope_per_token ? Nq : Tq, rk = ctx->rope_per_token ? Nk : Tk;
            lmt_rope_backward(dq, rb, rq, c->NH, hs, Dq, ctx->rope_cos, ctx->rope_sin);
            lmt_rope_backward(dk, rb, rk, nkv(c), hs, Dkv, ctx->rope_cos, ctx->rope_sin);
        });
    if (c->fused) {
        LMT_PROFILE("backward/matmul qkv", 12 * nc * C, lmt_adapted_backward(
            c->pre_ln, din, g->qkv_w, g->qkv_b, dq, in, w->qkv_w, w->qkv_a, Nq, C, 3 * C, c->wl, ctx->training));
    } else {
        float *dkin = self ? din : dkv;
        LMT_PROFILE("backward/matmul qkv", 4 * ((double)Nq * Dq + 2.0 * Nk * Dkv) * C, {
            lmt_adapted_backward(c->pre_ln, din, g->q_w, g->q_b, dq, in, w->q_w, w->q_a, Nq, C, Dq, c->wl, ctx->training);
            lmt_adapted_backward(false, dkin, g->k_w, g->k_b, dk, kin, w->k_w, w->k_a, Nk, C, Dkv, c->wl, ctx->training);
            lmt_adapted_backward(false, dkin, g->v_w, g->v_b, dv, kin, w->v_w, w->v_a, Nk, C, Dkv, c->wl, ctx->training);
        });
    }
    lmt_sublayer_back_in(&a->r, c->pre_ln, x, w->ln_w, g->ln_w, g->ln_b, Nq, C, ctx);
}
