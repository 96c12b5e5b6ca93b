/* GPT2LMHeadModel: forward and hand-written backward (llm.c style) over an
 * lmt_model's flat parameters.
 *
 *   x = drop(wte[ids] + wpe[t])
 *   per block:  x += drop(c_proj(attn(ln_1(x))));  x += drop(mlp(ln_2(x)))
 *   logits = ln_f(x) @ wte^T            (lm_head tied to wte)
 *   loss = mean over t, labels[t+1] != -100, of CE(logits[t], labels[t+1])
 *
 * Dropout (embd_pdrop, attn_pdrop, resid_pdrop) is applied only when the
 * forward is called with training = true. */
#ifndef LMT_MODELS_GPT2_H
#define LMT_MODELS_GPT2_H
#include <stdbool.h>
#include <stdint.h>
#include "core/rng.h"
#include "kernels/attention.h"
#include "models/model.h"

typedef struct lmt_gpt2_block {
    float *ln1_w, *ln1_b;         // (C)
    float *attn_w, *attn_b;       // c_attn (C, 3C), (3C)
    float *attnproj_w, *attnproj_b; // c_proj (C, C), (C)
    float *ln2_w, *ln2_b;         // (C)
    float *fc_w, *fc_b;           // c_fc (C, F), (F)
    float *fcproj_w, *fcproj_b;   // mlp.c_proj (F, C), (C)
} lmt_gpt2_block;

/* Activations of one block for (B, T) = N rows. */
typedef struct lmt_gpt2_acts {
    float *ln1, *ln1_mean, *ln1_rstd;   // (N, C), (N), (N)
    float *qkv;                          // (N, 3C)
    float *atty;                         // (N, C) attention output before c_proj
    float *att_lse;                      // (B, NH, T)
    float *res2;                         // (N, C) residual after attention
    float *ln2, *ln2_mean, *ln2_rstd;    // (N, C), (N), (N)
    float *fch, *fch_act;                // (N, F) before / after the activation
    float *res3;                         // (N, C) block output
} lmt_gpt2_acts;

typedef struct lmt_gpt2 {
    lmt_model *model;                  /* not owned */
    int L, C, NH, F, V, P;             /* layers, width, heads, MLP width, vocab, positions */
    int max_B, max_T;                  /* activation capacity */
    float eps;
    lmt_activation act;
    float p_embd, p_attn, p_resid;
    float attn_scale;                  /* 1/sqrt(head size), or 1 without scale_attn_weights */

    float *wte, *wpe, *lnf_w, *lnf_b;  /* parameters (pointers into model->params) */
    lmt_gpt2_block *w;                 /* (L) */
    float *grads;                      /* flat, same layout as the parameters; NULL without grads */
    float *dwte, *dwpe, *dlnf_w, *dlnf_b;
    lmt_gpt2_block *g;                 /* (L) */

    float *act_mem;                    /* one allocation for everything below */
    float *encoded;                    /* (N, C) embeddings after dropout */
    lmt_gpt2_acts *a;                  /* (L) */
    float *lnf, *lnf_mean, *lnf_rstd;  /* (N, C), (N), (N) */
    float *logits;                     /* (N, V); after a training forward with labels and
                                          gradients: softmax - onehot (the loss's gradient, unscaled) */
    float *losses, *ce_lse;            /* (N) */
    float *att_scratch;
    int att_threads;                   /* threads the attention scratch was sized for */
    float *dres, *dbuf, *dtmp, *dqkv, *dF1, *dF2;   /* backward scratch (N, ...) */
    float *bias_scratch;               /* per-chunk bias-gradient sums of the fused activation backward */
    int32_t *ids, *mask, *targets;     /* (N) inputs as int32; mask NULL when absent */
    bool has_mask;

    int B, T;                          /* shape of the last forward */
    bool training, has_labels;
    bool logits_are_grad;              /* the forward fused the cross-entropy backward */
    long n_targets;                    /* non-ignored shifted labels of the last forward */
    float loss;                        /* mean loss of the last forward (NaN without labels) */
    lmt_rng rng;                       /* dropout seeds */
    uint64_t *seeds;                   /* (1 + 3L) seeds drawn by the last training forward */
} lmt_gpt2;

/* Binds to m (which must outlive g) and allocates activations for up to
 * max_B x max_T tokens, plus the gradient buffer and backward scratch when
 * with_grads. */
lmt_status lmt_gpt2_create(lmt_model *m, int max_B, int max_T, bool with_grads, lmt_gpt2 **out);
void lmt_gpt2_free(lmt_gpt2 *g);
void lmt_gpt2_set_seed(lmt_gpt2 *g, uint64_t seed);

/* input_ids, attention_mask (0 = padding; may be NULL) and labels (may be
 * NULL; -100 = ignored) are (B, T) arrays of dtype LMT_I32 or LMT_I64.
 * Fills g->logits (B, T, V) and, with labels, g->loss. (A training
 * forward with labels on a model with gradients leaves the logits' gradient
 * there instead: the backward starts from it.) Labels are shifted
 * inside, as GPT2LMHeadModel does: logits[t] predict labels[t+1]. */
lmt_status lmt_gpt2_forward(lmt_gpt2 *g, lmt_dtype dtype, const void *input_ids, const void *attention_mask,
                            const void *labels, int B, int T, bool training);
/* Adds the gradient of the mean loss of the last forward to g->grads (every
 * parameter, the tied lm_head into wte). Overwrites g->logits. With no
 * counted target the gradient is zero (torch would give NaN). */
lmt_status lmt_gpt2_backward(lmt_gpt2 *g);
/* As lmt_gpt2_backward for the loss scale * (sum of the per-target losses),
 * e.g. scale = 1 / num_items_in_batch under gradient accumulation. */
lmt_status lmt_gpt2_backward_scaled(lmt_gpt2 *g, float scale);
void lmt_gpt2_zero_grad(lmt_gpt2 *g);
/* The gradient of the parameter with this HF name (aliases resolved). */
float *lmt_gpt2_grad(lmt_gpt2 *g, const char *hf_name);
#endif
