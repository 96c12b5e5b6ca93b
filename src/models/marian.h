/* MarianMTModel: post-LayerNorm encoder-decoder with forward and
 * hand-written backward over an lmt_model's flat parameters.
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
#include "core/rng.h"
#include "kernels/attention.h"
#include "models/model.h"

typedef struct lmt_marian_attn {
    float *q_w, *q_b, *k_w, *k_b, *v_w, *v_b;   // (C, C), (C) each, nn.Linear (out, in)
    float *o_w, *o_b;                           // out_proj (C, C), (C)
    float *ln_w, *ln_b;                         // (C) the LayerNorm after the residual
} lmt_marian_attn;

typedef struct lmt_marian_layer {
    lmt_marian_attn self, cross;                // cross: decoder layers only
    float *fc1_w, *fc1_b;                       // (F, C), (F)
    float *fc2_w, *fc2_b;                       // (C, F), (C)
    float *ln_w, *ln_b;                         // final_layer_norm (C)
} lmt_marian_layer;

typedef struct lmt_marian_params {
    float *shared;                              // (V, C) encoder token table (model.shared or encoder.embed_tokens)
    float *dec_embed;                           // (Vd, C) decoder token table (== shared when shared)
    float *lm_head;                             // (Vd, C) output projection (== dec_embed when tied)
    float *enc_pos, *dec_pos;                   // (P, C) static
    float *logits_bias;                         // (Vd) final_logits_bias, a buffer
    lmt_marian_layer *enc, *dec;                // (Le), (Ld)
} lmt_marian_params;

/* Activations of one attention block (Nq query rows, Nk key rows). */
typedef struct lmt_marian_attn_acts {
    float *q, *k, *v;                  // (Nq, C), (Nk, C), (Nk, C)
    float *atty, *lse;                 // (Nq, C), (B, NH, Tq)
    float *res;                        // (Nq, C) x + attention output, before LN
    float *out, *mean, *rstd;          // (Nq, C), (Nq), (Nq)
} lmt_marian_attn_acts;

typedef struct lmt_marian_acts {
    lmt_marian_attn_acts self, cross;
    float *fch, *fch_act;              // (N, F) before / after activation (and its dropout)
    float *res;                        // (N, C) before final_layer_norm
    float *out, *mean, *rstd;          // (N, C), (N), (N) layer output
} lmt_marian_acts;

typedef struct lmt_marian {
    lmt_model *model;                  /* not owned */
    int Le, Ld, C, NHe, NHd, Fe, Fd, V, P;
    int Vd;                            /* decoder vocabulary: logits width (== V when shared) */
    int max_B, max_Ts, max_Tt;
    int pad_id, dec_start_id;
    float eps, emb_scale, p_drop, p_attn, p_act;

    lmt_marian_params w;               /* pointers into model->params */
    float *grads;                      /* flat, as the parameters; NULL without grads */
    lmt_marian_params g;               /* pointers into grads */

    float *act_mem;
    float *enc_emb, *dec_emb;          /* (Ne, C), (Nd, C) after dropout */
    lmt_marian_acts *ea, *da;          /* (Le), (Ld) */
    float *logits;                     /* (Nd, Vd); after backward: their gradient */
    float *losses, *ce_lse;            /* (Nd) */
    float *att_scratch;
    int att_threads;
    float *dres, *dbuf, *dtmp, *datt, *dq, *dk, *dv, *denc, *dF1, *dF2;   /* backward scratch */
    float *pad_row;                    /* (C) the pad row's gradient kept across the lookups */
    int32_t *src_ids, *mask, *dec_ids, *targets;

    int B, Ts, Tt;
    bool has_mask, training, has_labels;
    /* loss_only (set by the training task): with labels, the LM head runs on
     * the labelled rows alone (padding and -100 skipped): the same loss and
     * gradients, but mt->logits then holds only those rows, in order. */
    bool loss_only;
    int n_head;                        /* rows the head ran on in the last forward */
    int32_t *head_rows;                /* (Nd) their indices */
    float *head_x;                     /* (Nd, C) the gathered decoder outputs */
    long n_targets;                    /* labels != -100 of the last forward */
    float loss;                        /* mean loss of the last forward (NaN without labels) */
    lmt_rng rng;
    uint64_t *seeds;                   /* (2 + 4 Le + 6 Ld) per training forward */
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
 * does. Fills mt->logits (B, Tt, Vd) and, with labels, mt->loss and
 * mt->n_targets. */
lmt_status lmt_marian_forward(lmt_marian *mt, lmt_dtype dtype, const void *input_ids, const void *attention_mask,
                              const void *decoder_input_ids, const void *labels, int B, int Ts, int Tt, bool training);
/* Adds the gradient of the mean loss of the last forward to mt->grads.
 * Overwrites mt->logits. */
lmt_status lmt_marian_backward(lmt_marian *mt);
/* As backward, for scale * (sum of the per-label losses). */
lmt_status lmt_marian_backward_scaled(lmt_marian *mt, float scale);
void lmt_marian_zero_grad(lmt_marian *mt);
/* The gradient of the parameter with this HF name (aliases resolved). */
float *lmt_marian_grad(lmt_marian *mt, const char *hf_name);
#endif
