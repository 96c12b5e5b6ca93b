/* MarianMTModel as a composition of the shared blocks (see marian.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "kernels/crossentropy.h"
#include "models/marian.h"

#define CLS "MarianMTModel"

static void bind(void *self, float *base, bool grads) {
    lmt_marian *mt = self;
    lmt_marian_params *p = grads ? &mt->g : &mt->w;
    /* Through the aliases the token tables are all model.shared when the
     * embeddings are shared; otherwise encoder.embed_tokens,
     * decoder.embed_tokens and lm_head (itself an alias of
     * decoder.embed_tokens when tied). */
    lmt_embed_bind(&p->enc_emb, &mt->net, base, LMT_STACK_ENCODER);
    lmt_embed_bind(&p->dec_emb, &mt->net, base, LMT_STACK_DECODER);
    lmt_stack_bind(&mt->enc, &mt->net, base, grads);
    lmt_stack_bind(&mt->dec, &mt->net, base, grads);
    lmt_head_bind(&p->head, &mt->net, base);
}

static void plan(void *self, lmt_arena *a, bool with_grads) {
    lmt_marian *mt = self;
    size_t Ne = (size_t)mt->max_B * mt->max_Ts, Nd = (size_t)mt->max_B * mt->max_Tt, C = mt->C;
    int Fmax = mt->Fe > mt->Fd ? mt->Fe : mt->Fd, Tm = mt->max_Ts > mt->max_Tt ? mt->max_Ts : mt->max_Tt;
    mt->src_ids = lmt_arena_take_i32(a, Ne);
    mt->mask = lmt_arena_take_i32(a, Ne);
    mt->dec_ids = lmt_arena_take_i32(a, Nd);
    mt->targets = lmt_arena_take_i32(a, Nd);
    mt->denc = with_grads ? lmt_arena_take(a, Ne * C) : NULL;
    lmt_embed_plan(a, &mt->enc_emb, &mt->enc_emb_cfg, Ne, false);
    lmt_embed_plan(a, &mt->dec_emb, &mt->dec_emb_cfg, Nd, false);
    lmt_stack_plan(&mt->enc, a, Ne, Ne);
    lmt_stack_plan(&mt->dec, a, Nd, Ne);
    lmt_head_plan(a, &mt->head, &mt->head_cfg, Nd);
    mt->logits = mt->head.logits;
    lmt_block_ctx_plan(&mt->net.ctx, a, Ne > Nd ? Ne : Nd, mt->C, Fmax > mt->C ? Fmax : mt->C, Tm, with_grads);
}

/* Marian's layers: post-LN, nn.Linear, dropout after the attention and the
 * FFN output and after the activation; q scaled by head_dim**-0.5 (a Python
 * float). */
static lmt_stack marian_stack(const lmt_config *c, int id, int L, int NH, int F) {
    float p = (float)c->dropout, eps = (float)c->layer_norm_eps;
    lmt_attn_cfg attn = {.C = (int)c->d_model, .NH = NH, .scale = (float)pow((double)(c->d_model / NH), -0.5), .eps = eps,
                         .p_attn = (float)c->attn_dropout, .p_out = p, .wl = LMT_W_OUT_IN};
    lmt_stack s = {.id = id, .L = L, .seeds_per_layer = 4, .self = attn, .cross = attn,
                   .ffn = {.C = (int)c->d_model, .F = F, .eps = eps, .p_act = (float)c->activation_dropout, .p_out = p,
                           .act = c->act, .wl = LMT_W_OUT_IN}};
    if (id == LMT_STACK_DECODER) {   // causal self-attention, then cross-attention: 6 seeds a layer
        s.self.causal = true;
        s.with_cross = true;
        s.seeds_per_layer = 6;
    }
    return s;
}

lmt_status lmt_marian_create(lmt_model *m, int max_B, int max_Tsrc, int max_Ttgt, bool with_grads, lmt_marian **out) {
    *out = NULL;
    const lmt_config *c = &m->cfg;
    const char *src = c->source ? c->source : lmt_arch_name(c->arch);
    if (c->arch != LMT_ARCH_MARIAN)
        return lmt_fail(LMT_ERR_ARG, "%s: not a MarianMTModel but %s", src, lmt_arch_class_name(c->arch));
    if (max_B <= 0 || max_Tsrc <= 0 || max_Ttgt <= 0 || max_Tsrc > c->max_positions || max_Ttgt > c->max_positions)
        return lmt_fail(LMT_ERR_ARG, "%s: batch %d x %d source / %d target tokens: lengths must be 1..%lld (max_position_embeddings)",
                        src, max_B, max_Tsrc, max_Ttgt, (long long)c->max_positions);
    if (c->n_head <= 0 || c->d_model % c->n_head || c->dec_heads <= 0 || c->d_model % c->dec_heads)
        return lmt_fail(LMT_ERR_FORMAT, "%s: d_model %lld is not divisible by the head counts %lld / %lld", src,
                        (long long)c->d_model, (long long)c->n_head, (long long)c->dec_heads);
    /* transformers sizes the shared table (and lm_head) by vocab_size and
     * then reshapes the logits by decoder_vocab_size, so they must agree */
    if (c->share_encoder_decoder_embeddings && c->dec_vocab_size != c->vocab_size)
        return lmt_fail(LMT_ERR_FORMAT, "%s: decoder_vocab_size %lld differs from vocab_size %lld with shared embeddings", src,
                        (long long)c->dec_vocab_size, (long long)c->vocab_size);
    int Tm = max_Tsrc > max_Ttgt ? max_Tsrc : max_Ttgt;
    double N = (double)max_B * Tm;
    double widest = fmax(fmax(fmax((double)c->vocab_size, (double)c->dec_vocab_size), (double)fmax(c->d_ff, c->dec_ffn)),
                         (double)c->d_model);
    if (N * widest >= 2147483647.0 || (double)Tm * Tm * 4 >= 2147483647.0)
        return lmt_fail(LMT_ERR_ARG, "%s: batch %d x %d tokens is too large for this model", src, max_B, Tm);
    lmt_marian *mt = calloc(1, sizeof *mt);
    if (!mt) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    /* transformers: math.sqrt(d_model) in double, applied to an fp32 tensor */
    *mt = (lmt_marian){.Le = (int)c->n_layer, .Ld = (int)c->dec_layers, .C = (int)c->d_model, .NHe = (int)c->n_head,
                       .NHd = (int)c->dec_heads, .Fe = (int)c->d_ff, .Fd = (int)c->dec_ffn, .V = (int)c->vocab_size,
                       .P = (int)c->max_positions, .Vd = (int)c->dec_vocab_size, .max_B = max_B, .max_Ts = max_Tsrc,
                       .max_Tt = max_Ttgt, .pad_id = (int)c->pad_token_id, .dec_start_id = (int)c->decoder_start_token_id,
                       .eps = (float)c->layer_norm_eps, .emb_scale = c->scale_embedding ? (float)sqrt((double)c->d_model) : 1.0f};
    /* seeds: the two embeddings, 4 per encoder layer, 6 per decoder layer */
    lmt_status st = lmt_net_init(&mt->net, m, CLS, 2 + 4 * mt->Le + 6 * mt->Ld, with_grads);
    /* nn.Embedding(padding_idx=pad); positions 0..T-1 into the static tables */
    mt->enc_emb_cfg = (lmt_embed_cfg){.C = mt->C, .V = mt->V, .P = mt->P, .scale = mt->emb_scale,
                                      .p_drop = (float)c->dropout, .pad_id = mt->pad_id};
    mt->dec_emb_cfg = mt->enc_emb_cfg;
    mt->dec_emb_cfg.V = mt->Vd;
    mt->head_cfg = (lmt_head_cfg){.C = mt->C, .V = mt->Vd};
    mt->enc = marian_stack(c, LMT_STACK_ENCODER, mt->Le, mt->NHe, mt->Fe);
    lmt_stack_alloc(&mt->enc, &mt->net);
    mt->dec = marian_stack(c, LMT_STACK_DECODER, mt->Ld, mt->NHd, mt->Fd);
    lmt_stack_alloc(&mt->dec, &mt->net);
    if (st == LMT_OK) st = lmt_net_setup(&mt->net, bind, plan, mt, max_B, Tm);
    if (st == LMT_OK) *out = mt;
    else lmt_marian_free(mt);
    return st;
}

void lmt_marian_free(lmt_marian *mt) { if (mt) lmt_net_release(&mt->net); free(mt); }
void lmt_marian_set_seed(lmt_marian *mt, uint64_t seed) { lmt_net_set_seed(&mt->net, seed); }
void lmt_marian_zero_grad(lmt_marian *mt) { lmt_net_zero_grad(&mt->net); }
float *lmt_marian_grad(lmt_marian *mt, const char *hf_name) { return lmt_net_grad(&mt->net, hf_name); }

static lmt_status load_inputs(lmt_marian *mt, lmt_dtype t, const void *ids, const void *mask, const void *dec_ids,
                              const void *labels, int B, int Ts, int Tt) {
    size_t Ne = (size_t)B * Ts, Nd = (size_t)B * Tt;
    LMT_TRY(lmt_net_load_ids(&mt->net, t, ids, mt->src_ids, Ne, Ts, mt->V, "input_ids"));
    mt->has_mask = lmt_net_load_mask(t, mask, mt->mask, Ne);
    if (labels) LMT_TRY(lmt_net_load_labels(&mt->net, t, labels, mt->targets, Nd, Tt, mt->Vd, "decoder vocabulary"));
    if (dec_ids) return lmt_net_load_ids(&mt->net, t, dec_ids, mt->dec_ids, Nd, Tt, mt->Vd, "decoder_input_ids");
    if (!labels) return lmt_fail(LMT_ERR_ARG, CLS ": neither decoder_input_ids nor labels given");
    /* shift_tokens_right: start token first, -100 becomes the pad id */
    if (mt->dec_start_id < 0 || mt->dec_start_id >= mt->Vd || mt->pad_id < 0 || mt->pad_id >= mt->Vd)
        return lmt_fail(LMT_ERR_ARG, CLS ": decoder_start_token_id %d / pad_token_id %d cannot shift the labels (decoder vocabulary 0..%d)",
                        mt->dec_start_id, mt->pad_id, mt->Vd - 1);
    for (int b = 0; b < B; b++)
        for (int s = 0; s < Tt; s++) {
            int32_t v = s ? mt->targets[(size_t)b * Tt + s - 1] : mt->dec_start_id;
            mt->dec_ids[(size_t)b * Tt + s] = v == LMT_IGNORE_INDEX ? mt->pad_id : v;
        }
    return LMT_OK;
}

const float *lmt_marian_encoder_output(const lmt_marian *mt) { return lmt_stack_output(&mt->enc, mt->enc_emb.out); }

lmt_status lmt_marian_forward(lmt_marian *mt, lmt_dtype dtype, const void *input_ids, const void *attention_mask,
                              const void *decoder_input_ids, const void *labels, int B, int Ts, int Tt, bool training) {
    lmt_net *n = &mt->net;
    mt->B = mt->Ts = mt->Tt = 0;
    LMT_TRY(lmt_net_forward_begin(n, dtype, input_ids));
    if (B <= 0 || Ts <= 0 || Tt <= 0 || B > mt->max_B || Ts > mt->max_Ts || Tt > mt->max_Tt)
        return lmt_fail(LMT_ERR_ARG, CLS ": batch %d x %d source / %d target tokens exceeds the %d x %d / %d the model was set up for",
                        B, Ts, Tt, mt->max_B, mt->max_Ts, mt->max_Tt);
    LMT_TRY(load_inputs(mt, dtype, input_ids, attention_mask, decoder_input_ids, labels, B, Ts, Tt));
    mt->B = B;
    mt->Ts = Ts;
    mt->Tt = Tt;
    lmt_net_step(n, B, training, labels != NULL);
    const int32_t *src_mask = mt->has_mask ? mt->mask : NULL;
    const uint64_t *es = n->seeds + 2, *ds = es + 4 * mt->Le;
    lmt_embed_forward(&mt->enc_emb_cfg, &mt->w.enc_emb, &mt->enc_emb, mt->src_ids, NULL, NULL, Ts, n->seeds[0], &n->ctx);
    const float *enc = lmt_stack_forward(&mt->enc, mt->enc_emb.out, Ts, src_mask, NULL, 0, NULL, es, &n->ctx);
    lmt_embed_forward(&mt->dec_emb_cfg, &mt->w.dec_emb, &mt->dec_emb, mt->dec_ids, NULL, NULL, Tt, n->seeds[1], &n->ctx);
    const float *y = lmt_stack_forward(&mt->dec, mt->dec_emb.out, Tt, NULL, enc, Ts, src_mask, ds, &n->ctx);
    /* the LM head: on every row, or (loss_only) on the labelled rows gathered */
    mt->n_head = lmt_head_forward_loss(&mt->head_cfg, &mt->w.head, &mt->g.head, &mt->head, y, B * Tt,
                                       labels ? mt->targets : NULL, mt->loss_only, n);
    return LMT_OK;
}

lmt_status lmt_marian_backward_scaled(lmt_marian *mt, float scale) {
    lmt_net *n = &mt->net;
    LMT_TRY(lmt_net_backward_check(n));
    lmt_block_ctx *ctx = &n->ctx;
    int Ts = mt->Ts, Tt = mt->Tt;
    size_t NeC = (size_t)mt->B * Ts * mt->C;
    const int32_t *src_mask = mt->has_mask ? mt->mask : NULL;
    const uint64_t *es = n->seeds + 2, *ds = es + 4 * mt->Le;
    const float *enc = lmt_marian_encoder_output(mt), *y = lmt_stack_output(&mt->dec, mt->dec_emb.out);
    lmt_head_backward(&mt->head_cfg, &mt->w.head, &mt->g.head, &mt->head, y, mt->B * Tt, mt->targets, scale, ctx->dx, ctx);
    memset(mt->denc, 0, NeC * sizeof(float));
    lmt_stack_backward(&mt->dec, mt->dec_emb.out, Tt, NULL, enc, Ts, src_mask, mt->denc, ds, ctx);
    lmt_embed_backward(&mt->dec_emb_cfg, &mt->w.dec_emb, &mt->g.dec_emb, &mt->dec_emb, mt->dec_ids, NULL, NULL, Tt, n->seeds[1], ctx);
    memcpy(ctx->dx, mt->denc, NeC * sizeof(float));   // d(encoder output): the cross-attentions' share
    lmt_stack_backward(&mt->enc, mt->enc_emb.out, Ts, src_mask, NULL, 0, NULL, NULL, es, ctx);
    lmt_embed_backward(&mt->enc_emb_cfg, &mt->w.enc_emb, &mt->g.enc_emb, &mt->enc_emb, mt->src_ids, NULL, NULL, Ts, n->seeds[0], ctx);
    n->has_labels = false;   // logits now hold their gradient
    return LMT_OK;
}

lmt_status lmt_marian_backward(lmt_marian *mt) { return lmt_marian_backward_scaled(mt, lmt_net_mean_scale(&mt->net)); }
