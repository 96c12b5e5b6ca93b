/* BERT / RoBERTa / DistilBERT masked LM as a composition of the shared
 * blocks (see encoder_mlm.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "models/encoder_mlm.h"

static void plan(void *self, lmt_arena *a, bool with_grads) {
    lmt_encoder_mlm *e = self;
    size_t N = (size_t)e->max_B * e->max_T;
    e->ids = lmt_arena_take_i32(a, N);
    e->mask = lmt_arena_take_i32(a, N);
    e->types = lmt_arena_take_i32(a, N);
    e->pos = lmt_arena_take_i32(a, N);
    e->targets = lmt_arena_take_i32(a, N);
    lmt_embed_plan(a, &e->emb, &e->emb_cfg, N, true);
    lmt_stack_plan(&e->layers, a, N, N);
    lmt_head_plan(a, &e->head, &e->head_cfg, N);
    e->logits = e->head.logits;
    lmt_block_ctx_plan(&e->net.ctx, a, N, e->C, e->F > e->C ? e->F : e->C, e->max_T, with_grads);
}

static void bind(void *self, float *base, bool grads) {
    lmt_encoder_mlm *e = self;
    lmt_enc_params *p = grads ? &e->g : &e->w;
    lmt_embed_bind(&p->emb, &e->net, base, LMT_STACK_ENCODER);
    lmt_stack_bind(&e->layers, &e->net, base, grads);
    lmt_head_bind(&p->head, &e->net, base);
}

lmt_status lmt_encoder_mlm_create(lmt_model *m, int max_B, int max_T, bool with_grads, lmt_encoder_mlm **out) {
    *out = NULL;
    const lmt_config *c = &m->cfg;
    const char *src = c->source ? c->source : lmt_arch_name(c->arch);
    if (c->arch != LMT_ARCH_BERT && c->arch != LMT_ARCH_ROBERTA && c->arch != LMT_ARCH_DISTILBERT)
        return lmt_fail(LMT_ERR_ARG, "%s: not a masked-LM encoder (BERT, RoBERTa, DistilBERT) but %s", src,
                        lmt_arch_class_name(c->arch));
    /* RoBERTa's positions start after padding_idx: T tokens need T + pad + 1 rows */
    int64_t max_len = c->max_positions;
    if (c->arch == LMT_ARCH_ROBERTA) max_len -= c->pad_token_id + 1;
    if (c->arch == LMT_ARCH_ROBERTA && (c->pad_token_id < 0 || c->pad_token_id >= c->max_positions))
        return lmt_fail(LMT_ERR_FORMAT, "%s: pad_token_id %lld cannot be RoBERTa's padding_idx (max_position_embeddings %lld)",
                        src, (long long)c->pad_token_id, (long long)c->max_positions);
    if (max_B <= 0 || max_T <= 0 || max_T > max_len)
        return lmt_fail(LMT_ERR_ARG, "%s: batch %d x %d tokens: the sequence length must be 1..%lld", src, max_B, max_T,
                        (long long)max_len);
    if (c->n_head <= 0 || c->d_model % c->n_head)
        return lmt_fail(LMT_ERR_FORMAT, "%s: width %lld is not divisible by %lld heads", src, (long long)c->d_model,
                        (long long)c->n_head);
    double N = (double)max_B * max_T;
    double widest = fmax(fmax((double)c->vocab_size, (double)c->d_ff), (double)c->d_model);
    if (N * widest >= 2147483647.0 || (double)max_T * max_T * 4 >= 2147483647.0)
        return lmt_fail(LMT_ERR_ARG, "%s: batch %d x %d tokens is too large for this model", src, max_B, max_T);
    lmt_encoder_mlm *e = calloc(1, sizeof *e);
    if (!e) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    *e = (lmt_encoder_mlm){.arch = c->arch, .L = (int)c->n_layer, .C = (int)c->d_model, .NH = (int)c->n_head,
                           .F = (int)c->d_ff, .V = (int)c->vocab_size, .P = (int)c->max_positions,
                           .TV = c->arch == LMT_ARCH_DISTILBERT ? 0 : (int)c->type_vocab_size, .max_B = max_B,
                           .max_T = max_T, .pad_id = (int)c->pad_token_id};
    lmt_status st = lmt_net_init(&e->net, m, lmt_arch_class_name(c->arch), 1 + 3 * e->L, with_grads);
    float eps = (float)c->layer_norm_eps, p = (float)c->dropout;
    /* nn.Embedding(padding_idx=pad): the word table's pad row, and RoBERTa's position table's */
    e->emb_cfg = (lmt_embed_cfg){.C = e->C, .V = e->V, .P = e->P, .scale = 1.0f, .eps = eps,
                                 .p_drop = (float)c->embd_dropout, .pad_id = e->pad_id, .pos_pad = c->arch == LMT_ARCH_ROBERTA};
    e->layers = (lmt_stack){.id = LMT_STACK_ENCODER, .L = e->L, .seeds_per_layer = 3,
        .self = {.C = e->C, .NH = e->NH, .scale = 1.0f / sqrtf((float)(e->C / e->NH)), .eps = eps,
                 .p_attn = (float)c->attn_dropout, .p_out = c->arch == LMT_ARCH_DISTILBERT ? 0.0f : p, .wl = LMT_W_OUT_IN},
        .ffn = {.C = e->C, .F = e->F, .eps = eps, .p_out = p, .act = c->act, .wl = LMT_W_OUT_IN}};
    lmt_stack_alloc(&e->layers, &e->net);
    e->head_cfg = (lmt_head_cfg){.C = e->C, .V = e->V, .eps = eps, .transform = true,
                                 .act = c->arch == LMT_ARCH_ROBERTA ? LMT_ACT_GELU : c->act};
    if (st == LMT_OK) st = lmt_net_setup(&e->net, bind, plan, e, max_B, max_T);
    if (st == LMT_OK) *out = e;
    else lmt_encoder_mlm_free(e);
    return st;
}

static lmt_status load_inputs(lmt_encoder_mlm *e, lmt_dtype t, const void *ids, const void *mask, const void *types,
                              const void *labels, int B, int T) {
    size_t N = (size_t)B * T;
    const char *cls = e->net.name;
    if (types && e->TV == 0) return lmt_fail(LMT_ERR_ARG, "%s: token_type_ids given to a model without token types", cls);
    LMT_TRY(lmt_net_load_ids(&e->net, t, ids, e->ids, N, T, e->V, "input_ids"));
    for (size_t n = 0; n < N; n++) {
        int64_t tt = types ? lmt_get_int(t, types, n) : 0;
        if (e->TV > 0 && (tt < 0 || tt >= e->TV))
            return lmt_fail(LMT_ERR_ARG, "%s: token_type_ids[%zu][%zu] = %lld is outside 0..%d (type_vocab_size)", cls,
                            n / T, n % T, (long long)tt, e->TV - 1);
        e->types[n] = (int32_t)tt;
    }
    /* position ids; RoBERTa counts non-padding tokens from padding_idx + 1
     * (create_position_ids_from_input_ids: from the ids, not the mask) */
    for (int b = 0; b < B; b++) {
        int32_t count = 0;
        for (int s = 0; s < T; s++) {
            size_t n = (size_t)b * T + s;
            if (e->arch == LMT_ARCH_ROBERTA) {
                bool real = e->ids[n] != e->pad_id;
                count += real;
                e->pos[n] = real ? count + e->pad_id : e->pad_id;
            } else {
                e->pos[n] = s;
            }
        }
    }
    e->has_mask = lmt_net_load_mask(t, mask, e->mask, N);
    if (labels) LMT_TRY(lmt_net_load_labels(&e->net, t, labels, e->targets, N, T, e->V, "vocabulary"));
    return LMT_OK;
}

lmt_status lmt_encoder_mlm_forward(lmt_encoder_mlm *e, lmt_dtype dtype, const void *input_ids,
                                   const void *attention_mask, const void *token_type_ids, const void *labels, int B,
                                   int T, bool training) {
    lmt_net *n = &e->net;
    e->B = e->T = 0;
    LMT_TRY(lmt_net_forward_begin(n, dtype, input_ids));
    if (B <= 0 || T <= 0 || B > e->max_B || T > e->max_T)
        return lmt_fail(LMT_ERR_ARG, "%s: batch %d x %d exceeds the %d x %d the model was set up for", n->name, B, T,
                        e->max_B, e->max_T);
    LMT_TRY(load_inputs(e, dtype, input_ids, attention_mask, token_type_ids, labels, B, T));
    e->B = B;
    e->T = T;
    lmt_net_step(n, B, training, labels != NULL);
    lmt_embed_forward(&e->emb_cfg, &e->w.emb, &e->emb, e->ids, e->pos, e->w.emb.type ? e->types : NULL, T, n->seeds[0], &n->ctx);
    const float *x = lmt_stack_forward(&e->layers, e->emb.out, T, e->has_mask ? e->mask : NULL, NULL, 0, NULL, n->seeds + 1, &n->ctx);
    /* the head: on every row, or (loss_only) on the labelled rows gathered */
    e->n_head = lmt_head_forward_loss(&e->head_cfg, &e->w.head, &e->g.head, &e->head, x, B * T, labels ? e->targets : NULL,
                                      e->loss_only, n);
    return LMT_OK;
}

lmt_status lmt_encoder_mlm_backward_scaled(lmt_encoder_mlm *e, float scale) {
    LMT_TRY(lmt_net_backward_check(&e->net));
    lmt_block_ctx *ctx = &e->net.ctx;
    const float *x0 = e->emb.out;
    lmt_head_backward(&e->head_cfg, &e->w.head, &e->g.head, &e->head, lmt_stack_output(&e->layers, x0), e->B * e->T,
                      e->targets, scale, ctx->dx, ctx);
    lmt_stack_backward(&e->layers, x0, e->T, e->has_mask ? e->mask : NULL, NULL, 0, NULL, NULL, e->net.seeds + 1, ctx);
    lmt_embed_backward(&e->emb_cfg, &e->w.emb, &e->g.emb, &e->emb, e->ids, e->pos, e->w.emb.type ? e->types : NULL, e->T,
                       e->net.seeds[0], ctx);
    e->net.has_labels = false;   // logits now hold their gradient
    return LMT_OK;
}

lmt_status lmt_encoder_mlm_backward(lmt_encoder_mlm *e) {
    return lmt_encoder_mlm_backward_scaled(e, lmt_net_mean_scale(&e->net));
}
void lmt_encoder_mlm_set_seed(lmt_encoder_mlm *e, uint64_t seed) { lmt_net_set_seed(&e->net, seed); }
void lmt_encoder_mlm_zero_grad(lmt_encoder_mlm *e) { lmt_net_zero_grad(&e->net); }
float *lmt_encoder_mlm_grad(lmt_encoder_mlm *e, const char *hf_name) { return lmt_net_grad(&e->net, hf_name); }
void lmt_encoder_mlm_free(lmt_encoder_mlm *e) { if (e) lmt_net_release(&e->net); free(e); }
