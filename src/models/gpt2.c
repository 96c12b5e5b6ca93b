/* GPT2LMHeadModel as a composition of the shared blocks (see gpt2.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/profile.h"
#include "kernels/crossentropy.h"
#include "kernels/layernorm.h"
#include "models/gpt2.h"

static void bind(void *self, float *base, bool grads) {
    lmt_gpt2 *g = self;
    lmt_gpt2_params *p = grads ? &g->g : &g->w;
    lmt_embed_bind(&p->emb, &g->net, base, LMT_STACK_DECODER);
    lmt_stack_bind(&g->h, &g->net, base, grads);
    p->lnf_w = lmt_net_slot(&g->net, base, LMT_STACK_DECODER, -1, LMT_ROLE_FINAL_LN_W);
    p->lnf_b = lmt_net_slot(&g->net, base, LMT_STACK_DECODER, -1, LMT_ROLE_FINAL_LN_B);
    lmt_head_bind(&p->head, &g->net, base);
}

/* Lays out (base == NULL: only sizes) every activation array. */
static void plan(void *self, lmt_arena *a, bool with_grads) {
    lmt_gpt2 *g = self;
    size_t N = (size_t)g->max_B * g->max_T;
    lmt_embed_plan(a, &g->emb, &g->emb_cfg, N, false);
    lmt_stack_plan(&g->h, a, N, N);
    g->lnf = lmt_arena_take(a, N * g->C);
    g->lnf_mean = lmt_arena_take(a, N);
    g->lnf_rstd = lmt_arena_take(a, N);
    lmt_head_plan(a, &g->head, &g->head_cfg, N);
    g->logits = g->head.logits;
    g->ids = lmt_arena_take_i32(a, N);
    g->mask = lmt_arena_take_i32(a, N);
    g->targets = lmt_arena_take_i32(a, N);
    lmt_block_ctx_plan(&g->net.ctx, a, N, g->C, g->F, g->max_T, with_grads);
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
    const lmt_layout *lay = &m->layout;
    if (lmt_layout_slot(lay, LMT_STACK_NONE, -1, LMT_ROLE_HEAD_W) != lmt_layout_slot(lay, LMT_STACK_DECODER, -1, LMT_ROLE_TOK_EMB))
        return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: an untied lm_head (tie_word_embeddings=false) is not supported", src);
    lmt_gpt2 *g = calloc(1, sizeof *g);
    if (!g) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    *g = (lmt_gpt2){.L = (int)c->n_layer, .C = (int)c->d_model, .NH = (int)c->n_head, .F = (int)c->d_ff,
                    .V = (int)c->vocab_size, .P = (int)c->max_positions, .max_B = max_B, .max_T = max_T,
                    .eps = (float)c->layer_norm_eps};
    lmt_status st = lmt_net_init(&g->net, m, "gpt2", 1 + 3 * g->L, with_grads);
    float p = (float)c->dropout;
    g->emb_cfg = (lmt_embed_cfg){.C = g->C, .V = g->V, .P = g->P, .scale = 1.0f, .p_drop = (float)c->embd_dropout, .pad_id = -1};
    g->h = (lmt_stack){.id = LMT_STACK_DECODER, .L = g->L, .seeds_per_layer = 3,
        .self = {.C = g->C, .NH = g->NH, .eps = g->eps, .p_attn = (float)c->attn_dropout, .p_out = p, .causal = true,
                 .pre_ln = true, .fused = true, .wl = LMT_W_IN_OUT,
                 .scale = c->scale_attn_weights ? 1.0f / sqrtf((float)(g->C / g->NH)) : 1.0f},
        .ffn = {.C = g->C, .F = g->F, .eps = g->eps, .p_out = p, .act = c->act, .pre_ln = true, .wl = LMT_W_IN_OUT}};
    lmt_stack_alloc(&g->h, &g->net);
    g->head_cfg = (lmt_head_cfg){.C = g->C, .V = g->V};
    if (st == LMT_OK) st = lmt_net_setup(&g->net, bind, plan, g, max_B, max_T);
    if (st == LMT_OK) *out = g;
    else lmt_gpt2_free(g);
    return st;
}

lmt_status lmt_gpt2_forward(lmt_gpt2 *g, lmt_dtype dtype, const void *input_ids, const void *attention_mask,
                            const void *labels, int B, int T, bool training) {
    lmt_net *n = &g->net;
    g->B = g->T = 0;   // a failed forward leaves nothing a backward could use
    LMT_TRY(lmt_net_forward_begin(n, dtype, input_ids));
    if (B <= 0 || T <= 0 || B > g->max_B || T > g->max_T)
        return lmt_fail(LMT_ERR_ARG, "gpt2: batch %d x %d exceeds the %d x %d the model was set up for", B, T, g->max_B, g->max_T);
    size_t N = (size_t)B * T;
    LMT_TRY(lmt_net_load_ids(n, dtype, input_ids, g->ids, N, T, g->V, "input_ids"));
    g->has_mask = lmt_net_load_mask(dtype, attention_mask, g->mask, N);
    if (labels) {
        LMT_TRY(lmt_net_load_labels(n, dtype, labels, g->targets, N, T, g->V, "vocabulary"));
        /* the shift: position t predicts labels[t+1]; the last predicts nothing */
        for (size_t i = 0; i < N; i++) g->targets[i] = (i % T == (size_t)T - 1) ? LMT_IGNORE_INDEX : g->targets[i + 1];
    }
    g->B = B;
    g->T = T;
    lmt_net_step(n, B, training, labels != NULL);
    lmt_embed_forward(&g->emb_cfg, &g->w.emb, &g->emb, g->ids, NULL, NULL, T, n->seeds[0], &n->ctx);
    const float *x = lmt_stack_forward(&g->h, g->emb.out, T, g->has_mask ? g->mask : NULL, NULL, 0, NULL, n->seeds + 1, &n->ctx);
    LMT_PROFILE("forward/layernorm", 0, lmt_layernorm_forward(g->lnf, g->lnf_mean, g->lnf_rstd, x, g->w.lnf_w, g->w.lnf_b, (int)N, g->C, g->eps));
    lmt_head_forward_loss(&g->head_cfg, &g->w.head, &g->g.head, &g->head, g->lnf, (int)N, labels ? g->targets : NULL, false, n);
    return LMT_OK;
}

lmt_status lmt_gpt2_backward_scaled(lmt_gpt2 *g, float scale) {
    lmt_net *n = &g->net;
    LMT_TRY(lmt_net_backward_check(n));
    lmt_block_ctx *ctx = &n->ctx;
    int T = g->T, N = g->B * T;
    lmt_head_backward(&g->head_cfg, &g->w.head, &g->g.head, &g->head, g->lnf, N, g->targets, scale, ctx->dbuf, ctx);
    memset(ctx->dx, 0, (size_t)N * g->C * sizeof(float));
    LMT_PROFILE("backward/layernorm", 0, lmt_layernorm_backward(ctx->dx, g->g.lnf_w, g->g.lnf_b, ctx->dbuf, lmt_stack_output(&g->h, g->emb.out),
                                                                g->w.lnf_w, g->lnf_mean, g->lnf_rstd, N, g->C));
    lmt_stack_backward(&g->h, g->emb.out, T, g->has_mask ? g->mask : NULL, NULL, 0, NULL, NULL, n->seeds + 1, ctx);
    lmt_embed_backward(&g->emb_cfg, &g->w.emb, &g->g.emb, &g->emb, g->ids, NULL, NULL, T, n->seeds[0], ctx);
    n->has_labels = false;   // logits now hold their gradient
    return LMT_OK;
}

lmt_status lmt_gpt2_backward(lmt_gpt2 *g) { return lmt_gpt2_backward_scaled(g, lmt_net_mean_scale(&g->net)); }
void lmt_gpt2_set_seed(lmt_gpt2 *g, uint64_t seed) { lmt_net_set_seed(&g->net, seed); }
void lmt_gpt2_zero_grad(lmt_gpt2 *g) { lmt_net_zero_grad(&g->net); }
float *lmt_gpt2_grad(lmt_gpt2 *g, const char *hf_name) { return lmt_net_grad(&g->net, hf_name); }
void lmt_gpt2_free(lmt_gpt2 *g) { if (g) lmt_net_release(&g->net); free(g); }
