/* BertForMaskedLM, RobertaForMaskedLM and DistilBertForMaskedLM: one
 * post-LayerNorm encoder with forward and hand-written backward over an
 * lmt_model's flat parameters.
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
#include "core/rng.h"
#include "kernels/attention.h"
#include "models/model.h"

typedef struct lmt_enc_layer {
    float *q_w, *q_b, *k_w, *k_b, *v_w, *v_b;   // (C, C), (C) each, nn.Linear (out, in)
    float *o_w, *o_b;                           // attention output (C, C), (C)
    float *ln1_w, *ln1_b;                       // (C) after attention
    float *fc1_w, *fc1_b;                       // (F, C), (F)
    float *fc2_w, *fc2_b;                       // (C, F), (C)
    float *ln2_w, *ln2_b;                       // (C) layer output
} lmt_enc_layer;

/* Activations of one layer for N = B*T rows. */
typedef struct lmt_enc_acts {
    float *q, *k, *v;                  // (N, C) each
    float *atty, *att_lse;             // (N, C), (B, NH, T)
    float *res1;                       // (N, C) x + attention output, before LN_1
    float *h, *h_mean, *h_rstd;        // (N, C), (N), (N) after LN_1
    float *fch, *fch_act;              // (N, F)
    float *res2;                       // (N, C) h + FFN output, before LN_2
    float *out, *out_mean, *out_rstd;  // (N, C), (N), (N) layer output
} lmt_enc_acts;

typedef struct lmt_enc_params {
    float *wte, *wpe, *tte;            // word (V, C), position (P, C), token type (TV, C) or NULL
    float *emb_ln_w, *emb_ln_b;        // (C)
    lmt_enc_layer *layers;             // (L)
    float *head_w, *head_b;            // head dense (C, C), (C)
    float *head_ln_w, *head_ln_b;      // (C)
    float *dec_w, *dec_b;              // decoder (V, C) (tied: = wte), (V)
} lmt_enc_params;

typedef struct lmt_encoder_mlm {
    lmt_model *model;                  /* not owned */
    lmt_arch arch;
    int L, C, NH, F, V, P, TV;         /* layers, width, heads, FFN, vocab, positions, token types */
    int max_B, max_T;
    int pad_id;                        /* RoBERTa's padding_idx */
    float eps, p_embd, p_attn, p_resid, attn_scale;
    bool drop_after_attn;              /* BERT/RoBERTa dropout after the attention output; DistilBERT none */
    bool static_positions;             /* sinusoidal, frozen: no gradient */
    lmt_activation act, head_act;

    lmt_enc_params w;                  /* pointers into model->params */
    float *grads;                      /* flat, as the parameters; NULL without grads */
    lmt_enc_params g;                  /* pointers into grads */

    float *act_mem;
    float *emb_sum;                    /* (N, C) word + position + type */
    float *emb, *emb_mean, *emb_rstd;  /* (N, C) after LN and dropout, (N), (N) */
    lmt_enc_acts *a;                   /* (L) */
    float *hd, *hd_act;                /* (N, C) head dense before / after the activation */
    float *hln, *hln_mean, *hln_rstd;  /* (N, C), (N), (N) */
    float *logits;                     /* (N, V); after backward: their gradient */
    float *losses, *ce_lse;            /* (N) */
    float *att_scratch;
    int att_threads;
    float *dres, *dbuf, *dtmp, *datt, *dq, *dk, *dv, *dF1, *dF2;   /* backward scratch */
    int32_t *ids, *mask, *types, *pos, *targets;   /* (N) */
    bool has_mask;
    /* loss_only (set by the training task): with labels, the head runs on the
     * labelled rows alone (~15% of them): the loss and every gradient are
     * those of the full head (unlabelled rows contribute nothing), but
     * e->logits then holds only those rows, in order. */
    bool loss_only;
    int n_head;                        /* rows the head ran on in the last forward (N when not gathered) */
    int32_t *head_rows;                /* (N) their indices */
    float *head_x;                     /* (N, C) the gathered encoder outputs */

    int B, T;
    bool training, has_labels;
    long n_targets;                    /* labels != -100 of the last forward */
    float loss;                        /* mean loss of the last forward (NaN without labels) */
    lmt_rng rng;
    uint64_t *seeds;                   /* (1 + 3L) per training forward */
} lmt_encoder_mlm;

/* Binds to m (BERT, RoBERTa or DistilBERT; must outlive e) with activations
 * for up to max_B x max_T tokens, plus gradients when with_grads. */
lmt_status lmt_encoder_mlm_create(lmt_model *m, int max_B, int max_T, bool with_grads, lmt_encoder_mlm **out);
void lmt_encoder_mlm_free(lmt_encoder_mlm *e);
void lmt_encoder_mlm_set_seed(lmt_encoder_mlm *e, uint64_t seed);

/* input_ids, attention_mask (0 = padding; NULL = all 1), token_type_ids
 * (NULL = zeros; must be NULL for DistilBERT) and labels (NULL or -100 =
 * ignored) are (B, T) arrays of dtype LMT_I32 or LMT_I64. Fills e->logits
 * (B, T, V) and, with labels, e->loss and e->n_targets. */
lmt_status lmt_encoder_mlm_forward(lmt_encoder_mlm *e, lmt_dtype dtype, const void *input_ids,
                                   const void *attention_mask, const void *token_type_ids, const void *labels, int B,
                                   int T, bool training);
/* Adds the gradient of the mean loss of the last forward to e->grads
 * (the tied decoder into the word embeddings). Overwrites e->logits. */
lmt_status lmt_encoder_mlm_backward(lmt_encoder_mlm *e);
/* As backward, for scale * (sum of the per-label losses). */
lmt_status lmt_encoder_mlm_backward_scaled(lmt_encoder_mlm *e, float scale);
void lmt_encoder_mlm_zero_grad(lmt_encoder_mlm *e);
/* The gradient of the parameter with this HF name (aliases resolved). */
float *lmt_encoder_mlm_grad(lmt_encoder_mlm *e, const char *hf_name);
#endif
