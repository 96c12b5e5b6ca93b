/* BertForMaskedLM, RobertaForMaskedLM and DistilBertForMaskedLM: one
 * post-LayerNorm encoder with forward and hand-written backward over an
 * lmt_model's flat parameters, composed of the shared blocks (embed, post-LN
 * attention and feed-forward, LM head with the MLM transform).
 *
 *   x = drop(LN_emb(word[ids] + pos[p] + type[tt]))
 *   per layer:  h = LN_1(x + drop(o(attn(q(x), k(x), v(x)))))     (DistilBERT: no drop after o)
 *               x = LN_2(h + drop(fc2(act(fc1(h)))))
 *   logits = LN_head(act(dense(x))) @ word^T + bias   (decoder tied to the word embeddings)
 *   loss = mean over labels != -100 of CE(logits[t], labels[t])   (no shift)
 *
 * Per architecture: BERT positions 0..T-1 and token types (default 0);
 * RoBERTa positions cumsum(ids != pad) * (ids != pad) + pad, one token type;
 * DistilBERT positions 0..T-1, no token types. Padding keys (attention_mask
 * 0) are excluded from the softmax. The RoBERTa head always uses erf GELU
 * (as transformers does); BERT/DistilBERT use the config's activation. */
#ifndef LMT_MODELS_ENCODER_MLM_H
#define LMT_MODELS_ENCODER_MLM_H
#include <stdbool.h>
#include <stdint.h>
#include "models/blocks/embed.h"
#include "models/blocks/lm_head.h"
#include "models/blocks/stack.h"
#include "models/net.h"

typedef struct lmt_enc_params {
    lmt_embed_params emb;              /* word, position, token type, LayerNorm */
    lmt_head_params head;              /* transform dense + LN, decoder (tied: = word), bias */
} lmt_enc_params;

typedef struct lmt_encoder_mlm {
    lmt_net net;                       /* grads, loss, n_targets, seeds (1 + 3L per training forward) */
    lmt_arch arch;
    int L, C, NH, F, V, P, TV;         /* layers, width, heads, FFN, vocab, positions, token types */
    int max_B, max_T;
    int pad_id;                        /* padding_idx (RoBERTa: also of the positions) */
    lmt_embed_cfg emb_cfg;
    lmt_stack layers;                  /* post-LN; DistilBERT: no dropout after the attention output */
    lmt_head_cfg head_cfg;             /* RoBERTa's head: erf GELU */

    lmt_enc_params w;                  /* pointers into model->params */
    lmt_enc_params g;                  /* pointers into net.grads */

    lmt_embed_acts emb;
    lmt_head_acts head;
    float *logits;                     /* (N, V) = head.logits; after backward: their gradient */
    int32_t *ids, *mask, *types, *pos, *targets;   /* (N) */
    bool has_mask;
    /* loss_only (set by the training task): with labels, the head runs on the
     * labelled rows alone (~15% of them): the loss and every gradient are
     * those of the full head (unlabelled rows contribute nothing), but
     * e->logits then holds only those rows, in order. */
    bool loss_only;
    int n_head;                        /* rows the head ran on in the last forward (N when not gathered) */
    int B, T;
} lmt_encoder_mlm;

/* Binds to m (BERT, RoBERTa or DistilBERT; must outlive e) with activations
 * for up to max_B x max_T tokens, plus gradients when with_grads. */
lmt_status lmt_encoder_mlm_create(lmt_model *m, int max_B, int max_T, bool with_grads, lmt_encoder_mlm **out);
void lmt_encoder_mlm_free(lmt_encoder_mlm *e);
void lmt_encoder_mlm_set_seed(lmt_encoder_mlm *e, uint64_t seed);

/* input_ids, attention_mask (0 = padding; NULL = all 1), token_type_ids
 * (NULL = zeros; must be NULL for DistilBERT) and labels (NULL or -100 =
 * ignored) are (B, T) arrays of dtype LMT_I32 or LMT_I64. Fills e->logits
 * (B, T, V) and, with labels, e->net.loss and e->net.n_targets. */
lmt_status lmt_encoder_mlm_forward(lmt_encoder_mlm *e, lmt_dtype dtype, const void *input_ids,
                                   const void *attention_mask, const void *token_type_ids, const void *labels, int B,
                                   int T, bool training);
/* Adds the gradient of the mean loss of the last forward to e->net.grads
 * (the tied decoder into the word embeddings). Overwrites e->logits. */
lmt_status lmt_encoder_mlm_backward(lmt_encoder_mlm *e);
/* As backward, for scale * (sum of the per-label losses). */
lmt_status lmt_encoder_mlm_backward_scaled(lmt_encoder_mlm *e, float scale);
void lmt_encoder_mlm_zero_grad(lmt_encoder_mlm *e);
/* The gradient of the parameter with this HF name (aliases resolved). */
float *lmt_encoder_mlm_grad(lmt_encoder_mlm *e, const char *hf_name);
#endif
