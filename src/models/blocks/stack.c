/* A stack of transformer layers (see stack.h). */
#include "models/blocks/stack.h"

void lmt_stack_alloc(lmt_stack *s, lmt_net *n) {
    s->w = lmt_net_calloc(n, (size_t)s->L, sizeof *s->w);
    s->g = lmt_net_calloc(n, (size_t)s->L, sizeof *s->g);
    s->a = lmt_net_calloc(n, (size_t)s->L, sizeof *s->a);
    s->checkpoint = n->checkpoint;
    s->shared = n->checkpoint || !n->grads;
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
        if (s->shared && l > 0) {   // layer 0's set, with an output of its own
            s->a[l] = s->a[0];
            float *out = lmt_arena_take(a, Nq * s->ffn.C);
            if (s->ffn.pre_ln) s->a[l].ffn.r.res = out;
            else s->a[l].ffn.r.ln = out;
            continue;
        }
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

/* The seed stream LoRA's dropout draws from (shared by a model's adapters),
 * or NULL when no adapter of the layer has dropout. */
static uint64_t *lora_stream(const lmt_layer_params *w) {
    const lmt_adapter *ads[] = {w->self.qkv_a, w->self.q_a, w->self.k_a, w->self.v_a, w->self.o_a,
                                w->cross.qkv_a, w->cross.q_a, w->cross.k_a, w->cross.v_a, w->cross.o_a,
                                w->ffn.fc1_a, w->ffn.gate_a, w->ffn.fc2_a};
    for (size_t i = 0; i < sizeof ads / sizeof ads[0]; i++)
        if (ads[i] && ads[i]->dropout > 0.0f) return ads[i]->seed_src;
    return NULL;
}

/* layer l's self-attention config: the stack's, with the layer's window */
static lmt_attn_cfg self_cfg(const lmt_stack *s, int l) {
    lmt_attn_cfg c = s->self;
    if (s->windows) c.window = s->windows[l];
    return c;
}

/* layer l's forward from its input x */
static void layer_forward(lmt_stack *s, int l, const float *x, int T, const int32_t *mask, const float *enc, int Ts,
                          const int32_t *enc_mask, const uint64_t *seeds, lmt_block_ctx *ctx) {
    const lmt_layer_params *w = &s->w[l];
    lmt_layer_acts *a = &s->a[l];
    const uint64_t *sd = seeds + (size_t)s->seeds_per_layer * l;
    lmt_attn_cfg self = self_cfg(s, l);
    lmt_attn_forward(&self, &w->self, &a->self, x, x, T, T, mask, sd[0], sd[1], ctx);
    if (s->with_cross)
        lmt_attn_forward(&s->cross, &w->cross, &a->cross, self_out(s, l), enc, T, Ts, enc_mask, sd[2], sd[3], ctx);
    lmt_ffn_forward(&s->ffn, &w->ffn, &a->ffn, mid_out(s, l), ctx->B * T, act_seed(s, sd), sd[s->seeds_per_layer - 1], ctx);
}

const float *lmt_stack_forward(lmt_stack *s, const float *x0, int T, const int32_t *mask, const float *enc, int Ts,
                               const int32_t *enc_mask, const uint64_t *seeds, lmt_block_ctx *ctx) {
    const float *x = x0;
    for (int l = 0; l < s->L; l++) {
        const uint64_t *stream = s->checkpoint ? lora_stream(&s->w[l]) : NULL;
        if (stream) s->a[l].lora_stream = *stream;
        layer_forward(s, l, x, T, mask, enc, Ts, enc_mask, seeds, ctx);
        x = lmt_sublayer_output(&s->a[l].ffn.r, s->ffn.pre_ln);
    }
    return x;
}

/* Checkpointing: layer l's forward again, its LoRA dropout seeds replayed
 * (the stream then left where the step's forward left it). */
static void layer_recompute(lmt_stack *s, int l, const float *x, int T, const int32_t *mask, const float *enc, int Ts,
                            const int32_t *enc_mask, const uint64_t *seeds, lmt_block_ctx *ctx) {
    uint64_t *stream = lora_stream(&s->w[l]), after = stream ? *stream : 0;
    if (stream) *stream = s->a[l].lora_stream;
    layer_forward(s, l, x, T, mask, enc, Ts, enc_mask, seeds, ctx);
    if (stream) *stream = after;
}

void lmt_stack_backward(lmt_stack *s, const float *x0, int T, const int32_t *mask, const float *enc, int Ts,
                        const int32_t *enc_mask, float *denc, const uint64_t *seeds, lmt_block_ctx *ctx) {
    for (int l = s->L - 1; l >= 0; l--) {
        const lmt_layer_params *w = &s->w[l], *g = &s->g[l];
        const lmt_layer_acts *a = &s->a[l];
        const uint64_t *sd = seeds + (size_t)s->seeds_per_layer * l;
        const float *x = l ? lmt_sublayer_output(&s->a[l - 1].ffn.r, s->ffn.pre_ln) : x0;
        /* the shared activations still hold the last layer's from the forward */
        if (s->checkpoint && l < s->L - 1) layer_recompute(s, l, x, T, mask, enc, Ts, enc_mask, seeds, ctx);
        lmt_ffn_backward(&s->ffn, &w->ffn, &g->ffn, &a->ffn, mid_out(s, l), ctx->B * T, act_seed(s, sd),
                         sd[s->seeds_per_layer - 1], ctx);
        if (s->with_cross)
            lmt_attn_backward(&s->cross, &w->cross, &g->cross, &a->cross, self_out(s, l), enc, denc, T, Ts, enc_mask,
                              sd[2], sd[3], ctx);
        lmt_attn_cfg self = self_cfg(s, l);
        lmt_attn_backward(&self, &w->self, &g->self, &a->self, x, x, NULL, T, T, mask, sd[0], sd[1], ctx);
        if (ctx->layer_backward_done) ctx->layer_backward_done(ctx->layer_backward_user, s->id, l);
    }
}
