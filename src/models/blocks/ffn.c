/* The feed-forward block (see ffn.h). */
#include "core/profile.h"
#include "kernels/dropout.h"
#include "models/blocks/ffn.h"

void lmt_ffn_plan(lmt_arena *a, lmt_ffn_acts *x, const lmt_ffn_cfg *c, size_t N) {
    lmt_sublayer_plan(a, &x->r, N, c->C);
    x->r.rms = c->rms;
    x->fch = lmt_arena_take(a, N * c->F);
    x->fch_act = lmt_arena_take(a, N * c->F);
    x->up = c->gated ? lmt_arena_take(a, N * c->F) : NULL;
}

void lmt_ffn_bind(lmt_ffn_params *p, const lmt_net *n, float *base, int stack, int layer) {
#define SLOT(role) lmt_net_slot(n, base, stack, layer, role)
    *p = (lmt_ffn_params){SLOT(LMT_ROLE_FFN_IN_W), SLOT(LMT_ROLE_FFN_IN_B), SLOT(LMT_ROLE_FFN_GATE_W),
                          SLOT(LMT_ROLE_FFN_GATE_B), SLOT(LMT_ROLE_FFN_OUT_W), SLOT(LMT_ROLE_FFN_OUT_B),
                          SLOT(LMT_ROLE_FFN_LN_W), SLOT(LMT_ROLE_FFN_LN_B), NULL, NULL, NULL};
#undef SLOT
    p->fc1_a = lmt_net_adapter(n, base, stack, layer, LMT_ROLE_FFN_IN_W);
    p->gate_a = lmt_net_adapter(n, base, stack, layer, LMT_ROLE_FFN_GATE_W);
    p->fc2_a = lmt_net_adapter(n, base, stack, layer, LMT_ROLE_FFN_OUT_W);
}

void lmt_ffn_forward(const lmt_ffn_cfg *c, const lmt_ffn_params *w, lmt_ffn_acts *a, const float *x, int N,
                     uint64_t seed_act, uint64_t seed_out, lmt_block_ctx *ctx) {
    int C = c->C, F = c->F;
    double nf = (double)N * C * F;
    const float *in = lmt_sublayer_in(&a->r, c->pre_ln, x, w->ln_w, w->ln_b, N, C, c->eps);
    if (c->gated) {
        LMT_PROFILE("forward/matmul fc", 4 * nf, {
            lmt_adapted_forward(a->fch, in, w->gate_w, w->gate_b, w->gate_a, N, C, F, c->wl, ctx->training);
            lmt_adapted_forward(a->up, in, w->fc1_w, w->fc1_b, w->fc1_a, N, C, F, c->wl, ctx->training);
        });
        LMT_PROFILE("forward/swiglu", 0, lmt_swiglu_forward(a->fch_act, a->fch, a->up, (size_t)N * F));
        LMT_PROFILE("forward/matmul fc proj", 2 * nf, lmt_adapted_forward(a->r.res, a->fch_act, w->fc2_w, w->fc2_b, w->fc2_a, N, F, C, c->wl, ctx->training));
        lmt_sublayer_out(&a->r, c->pre_ln, x, w->ln_w, w->ln_b, N, C, c->eps, c->p_out, seed_out, ctx);
        return;
    }
    LMT_PROFILE("forward/matmul fc", 2 * nf, lmt_adapted_forward(a->fch, in, w->fc1_w, NULL, w->fc1_a, N, C, F, c->wl, ctx->training));
    LMT_PROFILE("forward/bias+activation", 0, lmt_bias_activation_forward(a->fch, a->fch_act, w->fc1_b, N, F, c->act));
    if (ctx->training && c->p_act > 0.0f)
        LMT_PROFILE("forward/dropout", 0, lmt_dropout_forward(a->fch_act, a->fch_act, (size_t)N * F, c->p_act, seed_act));
    LMT_PROFILE("forward/matmul fc proj", 2 * nf, lmt_adapted_forward(a->r.res, a->fch_act, w->fc2_w, w->fc2_b, w->fc2_a, N, F, C, c->wl, ctx->training));
    lmt_sublayer_out(&a->r, c->pre_ln, x, w->ln_w, w->ln_b, N, C, c->eps, c->p_out, seed_out, ctx);
}

void lmt_ffn_backward(const lmt_ffn_cfg *c, const lmt_ffn_params *w, const lmt_ffn_params *g, const lmt_ffn_acts *a,
                      const float *x, int N, uint64_t seed_act, uint64_t seed_out, lmt_block_ctx *ctx) {
    int C = c->C, F = c->F;
    double nf = (double)N * C * F;
    const float *dy = lmt_sublayer_back_out(&a->r, c->pre_ln, w->ln_w, g->ln_w, g->ln_b, N, C, c->p_out, seed_out, ctx);
    const float *in = c->pre_ln ? a->r.ln : x;
    LMT_PROFILE("backward/matmul fc proj", 4 * nf, lmt_adapted_backward(true, ctx->dF1, g->fc2_w, g->fc2_b, dy, a->fch_act, w->fc2_w, w->fc2_a, N, F, C, c->wl, ctx->training));
    if (c->gated) {   // d(gate) into dF2, d(up) over dF1
        float *din = lmt_sublayer_din(c->pre_ln, ctx);
        LMT_PROFILE("backward/swiglu", 0, lmt_swiglu_backward(ctx->dF2, ctx->dF1, ctx->dF1, a->fch, a->up, (size_t)N * F));
        LMT_PROFILE("backward/matmul fc", 8 * nf, {
            lmt_adapted_backward(c->pre_ln, din, g->gate_w, g->gate_b, ctx->dF2, in, w->gate_w, w->gate_a, N, C, F, c->wl, ctx->training);
            lmt_adapted_backward(false, din, g->fc1_w, g->fc1_b, ctx->dF1, in, w->fc1_w, w->fc1_a, N, C, F, c->wl, ctx->training);
        });
        lmt_sublayer_back_in(&a->r, c->pre_ln, x, w->ln_w, g->ln_w, g->ln_b, N, C, ctx);
        return;
    }
    const float *dact;
    LMT_PROFILE("backward/dropout", 0, dact = lmt_drop_back(ctx->dF2, ctx->dF1, (size_t)N * F, ctx->training ? c->p_act : 0.0f, seed_act));
    float *dpre = dact == ctx->dF2 ? ctx->dF1 : ctx->dF2;
    LMT_PROFILE("backward/bias+activation", 0, lmt_activation_bias_backward(dpre, g->fc1_b, dact, a->fch, N, F, c->act, ctx->bias_scratch));
    LMT_PROFILE("backward/matmul fc", 4 * nf, lmt_adapted_backward(
        c->pre_ln, lmt_sublayer_din(c->pre_ln, ctx), g->fc1_w, NULL, dpre, in, w->fc1_w, w->fc1_a, N, C, F, c->wl, ctx->training));
    lmt_sublayer_back_in(&a->r, c->pre_ln, x, w->ln_w, g->ln_w, g->ln_b, N, C, ctx);
}
