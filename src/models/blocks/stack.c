/* A stack of transformer layers (see stack.h). */
#include "models/blocks/stack.h"

void lmt_stack_alloc(lmt_stack *s, lmt_net *n) {
    s->w = lmt_net_calloc(n, (size_t)s->L, sizeof *s->w);
    s->g = lmt_net_calloc(n, (size_t)s->L, sizeof *s->g);
    s->a = lmt_net_calloc(n, (size_t)s->L, sizeof *s->a);
}

void lmt_stack_bind(lmt_stack *s, const lmt_net *n, float *base, bool grads) {
    lmt_layer_params *p = grads ? s->g : s->w;
    for (int l = 0; l < s->L; l++) {
        lmt_attn_bind(&p[l].self, n, base, s->id, l);
        if (s->with_cross) lmt_attn_bind(&p[l].cross, n, base, LMT_STACK_CROSS, l);
        lmt_ffn_bind(&p[l].ffn, n, base, s->id, l);
    }
}

void lmt_stack_plan(lmt_stack *s, lmt_arena *a, size_t Nq, size_t Nk) {
    for (int l = 0; l < s->L; l++) {
        lmt_attn_plan(a, &s->a[l].self, &s->self, Nq, Nq);
        if (s->with_cross) lmt_attn_plan(a, &s->a[l].cross, &s->cross, Nq, Nk);
        lmt_ffn_plan(a, &s->a[l].ffn, &s->ffn, Nq);
    }
}

static const float *self_out(const lmt_stack *s, int l) { return lmt_sublayer_output(&s->a[l].self.r, s->self.pre_ln); }
/* the feed-forward block's input */
static const float *mid_out(const lmt_stack *s, int l) {
    return s->with_cross ? lmt_sublayer_output(&s->a[l].cross.r, s->cross.pre_ln) : self_out(s, l);
}

const float *lmt_stack_output(const lmt_stack *s, const float *x0) {
    return s->L ? lmt_sublayer_output(&s->a[s->L - 1].ffn.r, s->ffn.pre_ln) : x0;
}

/* the feed-forward block's seeds: activation (0 when the layer has no seed for it), output */
static uint64_t act_seed(const lmt_stack *s, const uint64_t *sd) {
    return s->seeds_per_layer > (s->with_cross ? 5 : 3) ? sd[s->seeds_per_layer - 2] : 0;
}

const float *lmt_stack_forward(lmt_stack *s, const float *x0, int T, const int32_t *mask, const float *enc, int Ts,
                               const int32_t *enc_mask, const uint64_t *seeds, lmt_block_ctx *ctx) {
    const float *x = x0;
    for (int l = 0; l < s->L; l++) {
        const lmt_layer_params *w = &s->w[l];
        lmt_layer_acts *a = &s->a[l];
        const uint64_t *sd = seeds + (size_t)s->seeds_per_layer * l;
        lmt_attn_forward(&s->self, &w->self, &a->self, x, x, T, T, mask, sd[0], sd[1], ctx);
        if (s->with_cross)
            lmt_attn_forward(&s->cross, &w->cross, &a->cross, self_out(s, l), enc, T, Ts, enc_mask, sd[2], sd[3], ctx);
        lmt_ffn_forward(&s->ffn, &w->ffn, &a->ffn, mid_out(s, l), ctx->B * T, act_seed(s, sd), sd[s->seeds_per_layer - 1], ctx);
        x = lmt_sublayer_output(&a->ffn.r, s->ffn.pre_ln);
    }
    return x;
}

void lmt_stack_backward(lmt_stack *s, const float *x0, int T, const int32_t *mask, const float *enc, int Ts,
                        const int32_t *enc_mask, float *denc, const uint64_t *seeds, lmt_block_ctx *ctx) {
    for (int l = s->L - 1; l >= 0; l--) {
        const lmt_layer_params *w = &s->w[l], *g = &s->g[l];
        const lmt_layer_acts *a = &s->a[l];
        const uint64_t *sd = seeds + (size_t)s->seeds_per_layer * l;
        const float *x = l ? lmt_sublayer_output(&s->a[l - 1].ffn.r, s->ffn.pre_ln) : x0;
        lmt_ffn_backward(&s->ffn, &w->ffn, &g->ffn, &a->ffn, mid_out(s, l), ctx->B * T, act_seed(s, sd),
                         sd[s->seeds_per_layer - 1], ctx);
        if (s->with_cross)
            lmt_attn_backward(&s->cross, &w->cross, &g->cross, &a->cross, self_out(s, l), enc, denc, T, Ts, enc_mask,
                              sd[2], sd[3], ctx);
        lmt_attn_backward(&s->self, &w->self, &g->self, &a->self, x, x, NULL, T, T, mask, sd[0], sd[1], ctx);
    }
}
