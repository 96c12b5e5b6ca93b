/* MarianMTModel: post-LayerNorm encoder-decoder with forward and
 * hand-written backward over an lmt_model's flat parameters, composed of
 * the shared blocks (embed, post-LN attention / cross-attention and
 * feed-forward, LM head).
 *
 *   encoder:  x = drop(sqrt(C) * shared[src] + pos[t])             (scale when scale_embedding)
 *             per layer: x = LN_sa(x + drop(o(attn(q(x), k(x), v(x)))))       source padding mask
 *                        x = LN_f(x + drop(fc2(drop_act(silu(fc1(x))))))
 *   decoder:  y = drop(sqrt(C) * dec_embed[dec_in] + pos[t])
 *             per layer: y = LN_sa(y + drop(o(causal attn(q(y), k(y), v(y)))))
 *                        y = LN_ca(y + drop(o(attn(q(y), k(enc), v(enc)))))    source padding mask
 *                        y = LN_f(y + drop(fc2(drop_act(silu(fc1(y))))))
 *   logits = y @ lm_head^T + final_logits_bias             (Vd columns)
 *   loss   = mean over labels != -100 of CE(logits[t], labels[t])   (no shift)
 *
 * With share_encoder_decoder_embeddings (the default) shared, dec_embed
 * and lm_head are all model.shared (V == Vd). Without it (transformers'
 * separate vocabularies) model.encoder.embed_tokens is (V, C),
 * model.decoder.embed_tokens is (Vd, C) with Vd = decoder_vocab_size, and
 * lm_head is tied to the decoder table when tie_word_embeddings, else its
 * own (Vd, C) weight.
 *
 * Positions are 0..T-1 into the static sinusoidal tables (no padding
 * offset), which get no gradient; nor does final_logits_bias (a buffer) nor
 * the padding row of an embedding table through its lookups (nn.Embedding's
 * padding_idx; a tied lm_head's share of that row stays). */
#ifndef LMT_MODELS_MARIAN_H
#define LMT_MODELS_MARIAN_H
#include <stdbool.h>
#include <stdint.h>
#include "models/blocks/embed.h"
#include "models/blocks/lm_head.h"
#include "models/blocks/stack.h"
#include "models/net.h"

/* q_proj, k_proj, v_proj, out_proj and the LayerNorm after the residual */
typedef lmt_attn_params lmt_marian_attn;

/* self-attention, cross-attention (decoder layers only), feed-forward (fc1, fc2, final_layer_norm) */
typedef lmt_layer_params lmt_marian_layer;

typedef struct lmt_marian_params {
    lmt_embed_params enc_emb;                   // tok (V, C): model.shared or encoder.embed_tokens; pos static
    lmt_embed_params dec_emb;                   // tok (Vd, C) (== enc_emb.tok when shared); pos static
    lmt_head_params head;                       // w: lm_head (Vd, C) (== dec_emb.tok when tied); b: final_logits_bias, a buffer
} lmt_marian_params;

typedef struct lmt_marian {
    lmt_net net;                       /* grads, loss, n_targets, seeds (2 + 4 Le + 6 Ld per training forward) */
    int Le, Ld, C, NHe, NHd, Fe, Fd, V, P;
    int Vd;                            /* decoder vocabulary: logits width (== V when shared) */
    int max_B, max_Ts, max_Tt;
    int pad_id, dec_start_id;
    float eps, emb_scale;
    lmt_embed_cfg enc_emb_cfg, dec_emb_cfg;
    lmt_stack enc, dec;                /* the layers, their tensors and activations (dec: with cross-attention) */
    lmt_head_cfg head_cfg;

    lmt_marian_params w;               /* pointers into model->params */
    lmt_marian_params g;               /* pointers into net.grads (NULL: static, buffers) */

    lmt_embed_acts enc_emb, dec_emb;
    lmt_head_acts head;
    float *logits;                     /* (Nd, Vd) = head.logits; after backward: their gradient */
    float *denc;                       /* (Ne, C) backward: d(encoder output) from the cross-attentions */
    int32_t *src_ids, *mask, *dec_ids, *targets;

    int B, Ts, Tt;
    bool has_mask;
    /* loss_only (set by the training task): with labels, the LM head runs on
     * the labelled rows alone (padding and -100 skipped): the same loss and
     * gradients, but mt->logits then holds only those rows, in order. */
    bool loss_only;
    int n_head;                        /* rows the head ran on in the last forward */
} lmt_marian;

/* Binds to m (a Marian model; must outlive mt) with activations for up to
 * max_B x max_Tsrc source and max_B x max_Ttgt target tokens, plus
 * gradients when with_grads. */
lmt_status lmt_marian_create(lmt_model *m, int max_B, int max_Tsrc, int max_Ttgt, bool with_grads, lmt_marian **out);
void lmt_marian_free(lmt_marian *mt);
void lmt_marian_set_seed(lmt_marian *mt, uint64_t seed);

/* input_ids and attention_mask (0 = padding; NULL = all 1) are (B, Ts);
 * decoder_input_ids and labels (NULL or -100 = ignored) are (B, Tt); all of
 * dtype LMT_I32 or LMT_I64. Without decoder_input_ids they are the labels
 * shifted right (decoder_start_token_id first, -100 -> pad), as transformers
 * does. Fills mt->logits (B, Tt, Vd) and, with labels, mt->net.loss and
 * mt->net.n_targets. */
lmt_status lmt_marian_forward(lmt_marian *mt, lmt_dtype dtype, const void *input_ids, const void *attention_mask,
                              const void *decoder_input_ids, const void *labels, int B, int Ts, int Tt, bool training);
/* The encoder's output (B*Ts, C) of the last forward. */
const float *lmt_marian_encoder_output(const lmt_marian *mt);
/* Adds the gradient of the mean loss of the last forward to mt->net.grads.
 * Overwrites mt->logits. */
lmt_status lmt_marian_backward(lmt_marian *mt);
/* As backward, for scale * (sum of the per-label losses). */
lmt_status lmt_marian_backward_scaled(lmt_marian *mt, float scale);
void lmt_marian_zero_grad(lmt_marian *mt);
/* The gradient of the parameter with this HF name (aliases resolved). */
float *lmt_marian_grad(lmt_marian *mt, const char *hf_name);
#endif
