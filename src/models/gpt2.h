/* GPT2LMHeadModel: forward and hand-written backward (llm.c style) over an
 * lmt_model's flat parameters, composed of the shared blocks:
 *
 *   x = drop(wte[ids] + wpe[t])                                  embed block
 *   per block:  x += drop(c_proj(attn(ln_1(x))))                  pre-LN attention block (fused c_attn, causal)
 *               x += drop(mlp(ln_2(x)))                           pre-LN feed-forward block
 *   logits = ln_f(x) @ wte^T            (lm_head tied to wte)     LM head
 *   loss = mean over t, labels[t+1] != -100, of CE(logits[t], labels[t+1])
 *
 * Dropout (embd_pdrop, attn_pdrop, resid_pdrop) is applied only when the
 * forward is called with training = true. */
#ifndef LMT_MODELS_GPT2_H
#define LMT_MODELS_GPT2_H
#include <stdbool.h>
#include <stdint.h>
#include "models/blocks/embed.h"
#include "models/blocks/lm_head.h"
#include "models/blocks/stack.h"
#include "models/net.h"

typedef struct lmt_gpt2_params {
    lmt_embed_params emb;              /* wte, wpe */
    float *lnf_w, *lnf_b;              /* (C) */
    lmt_head_params head;              /* lm_head (= wte) */
} lmt_gpt2_params;

typedef struct lmt_gpt2 {
    lmt_net net;                       /* grads, loss, n_targets, seeds (1 + 3L per training forward) */
    int L, C, NH, F, V, P;             /* layers, width, heads, MLP width, vocab, positions */
    int max_B, max_T;                  /* activation capacity */
    float eps;
    lmt_embed_cfg emb_cfg;
    lmt_stack h;                       /* the blocks: pre-LN, fused c_attn, causal; their tensors and activations */
    lmt_head_cfg head_cfg;
    lmt_gpt2_params w;                 /* pointers into model->params */
    lmt_gpt2_params g;                 /* pointers into net.grads */

    lmt_embed_acts emb;
    float *lnf, *lnf_mean, *lnf_rstd;  /* (N, C), (N), (N) */
    lmt_head_acts head;
    float *logits;                     /* (N, V) = head.logits; after a training forward with labels and
                                          gradients: softmax - onehot (the loss's gradient, unscaled) */
    int32_t *ids, *mask, *targets;     /* (N) inputs as int32 */
    bool has_mask;                     /* some key is padded */
    int B, T;                          /* shape of the last forward */
} lmt_gpt2;

/* Binds to m (which must outlive g) and allocates activations for up to
 * max_B x max_T tokens, plus the gradient buffer and backward scratch when
 * with_grads. */
lmt_status lmt_gpt2_create(lmt_model *m, int max_B, int max_T, bool with_grads, lmt_gpt2 **out);
void lmt_gpt2_free(lmt_gpt2 *g);
void lmt_gpt2_set_seed(lmt_gpt2 *g, uint64_t seed);

/* input_ids, attention_mask (0 = padding; may be NULL) and labels (may be
 * NULL; -100 = ignored) are (B, T) arrays of dtype LMT_I32 or LMT_I64.
 * Fills g->logits (B, T, V) and, with labels, g->net.loss. (A training
 * forward with labels on a model with gradients leaves the logits' gradient
 * there instead: the backward starts from it.) Labels are shifted
 * inside, as GPT2LMHeadModel does: logits[t] predict labels[t+1]. */
lmt_status lmt_gpt2_forward(lmt_gpt2 *g, lmt_dtype dtype, const void *input_ids, const void *attention_mask,
                            const void *labels, int B, int T, bool training);
/* Adds the gradient of the mean loss of the last forward to g->net.grads
 * (every parameter, the tied lm_head into wte). Overwrites g->logits. With
 * no counted target the gradient is zero (torch would give NaN). */
lmt_status lmt_gpt2_backward(lmt_gpt2 *g);
/* As lmt_gpt2_backward for the loss scale * (sum of the per-target losses),
 * e.g. scale = 1 / num_items_in_batch under gradient accumulation. */
lmt_status lmt_gpt2_backward_scaled(lmt_gpt2 *g, float scale);
void lmt_gpt2_zero_grad(lmt_gpt2 *g);
/* The gradient of the parameter with this HF name (aliases resolved). */
float *lmt_gpt2_grad(lmt_gpt2 *g, const char *hf_name);
#endif
