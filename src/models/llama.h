/* LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM: forward and
 * hand-written backward over an lmt_model's flat parameters, composed of the
 * shared blocks:
 *
 *   x = embed_tokens[ids]                                         embed block (no positions, no dropout)
 *   per layer:  x += o_proj(attn(rope(q), rope(k), v))(rms(x))      pre-RMSNorm attention block: q/k/v/o
 *                                                                  nn.Linear, grouped-query, causal
 *               x += down(silu(gate(rms(x))) * up(rms(x)))         pre-RMSNorm SwiGLU feed-forward block
 *   logits = norm(x) @ lm_head^T        (lm_head tied to embed_tokens or its own)   LM head
 *   loss = mean over t, labels[t+1] != -100, of CE(logits[t], labels[t+1])
 *
 * Rotary tables follow rope_theta / the rope type of the config (default,
 * linear, dynamic, llama3), positions 0..T-1. The only dropout is
 * attention_dropout (on the probabilities, training only). */
#ifndef LMT_MODELS_LLAMA_H
#define LMT_MODELS_LLAMA_H
#include <stdbool.h>
#include <stdint.h>
#include "models/blocks/embed.h"
#include "models/blocks/lm_head.h"
#include "models/blocks/stack.h"
#include "models/net.h"

typedef struct lmt_llama_params {
    lmt_embed_params emb;              /* embed_tokens */
    float *norm_w;                     /* model.norm (C) */
    lmt_head_params head;              /* lm_head (tied: embed_tokens) */
} lmt_llama_params;

typedef struct lmt_llama {
    lmt_net net;                       /* grads, loss, n_targets, seeds (1 + 3L per training forward) */
    int L, C, NH, NKV, hs, F, V;       /* layers, width, heads, kv heads, head size, MLP width, vocab */
    int max_B, max_T;
    float eps;
    lmt_rope rope;
    int64_t max_positions, sliding_window;
    lmt_embed_cfg emb_cfg;
    lmt_stack h;                       /* pre-RMSNorm, separate q/k/v, rope, grouped-query, causal; SwiGLU */
    lmt_head_cfg head_cfg;
    lmt_llama_params w, g;             /* into model->params, net.grads */

    lmt_embed_acts emb;
    float *norm, *norm_rstd;           /* (N, C), (N) */
    lmt_head_acts head;
    float *logits;                     /* (N, V) = head.logits (after a training forward with gradients: their gradient) */
    float *rope_cos, *rope_sin;        /* (max_T, hs / 2) */
    int rope_T;                        /* the length the tables were computed for (0: none) */
    int32_t *ids, *mask, *targets;     /* (N) */
    float *tok_cos, *tok_sin;          /* (N, hs / 2) packed sequences: each token's rotary row */
    int32_t *seg_start;                /* (N) packed sequences: where each token's sequence starts in its row */
    const int32_t *positions;          /* lmt_llama_set_positions' (B, T), for the next forward */
    bool has_mask;
    int B, T;
} lmt_llama;

/* Binds to m (a Llama-family model, which must outlive l) for up to
 * max_B x max_T tokens, with gradients when with_grads. */
lmt_status lmt_llama_create(lmt_model *m, int max_B, int max_T, bool with_grads, lmt_llama **out);
void lmt_llama_free(lmt_llama *l);
/* As lmt_gpt2_forward: (B, T) int32 / int64 ids, mask (may be NULL), labels
 * (may be NULL; shifted inside). */
lmt_status lmt_llama_forward(lmt_llama *l, lmt_dtype dtype, const void *input_ids, const void *attention_mask,
                             const void *labels, int B, int T, bool training);
/* position_ids (B, T) for the next forward (and its backward): several
 * sequences packed in a row, as transformers reads them - a new sequence
 * wherever a position is not the previous one + 1 - each with rotary
 * positions from its own ids and attention within itself only (TRL's
 * padding-free batches). NULL: positions 0..T-1. The array must live until
 * the forward. */
void lmt_llama_set_positions(lmt_llama *l, const int32_t *position_ids);
/* Adds scale * d(sum of the per-target losses) to l->net.grads. */
lmt_status lmt_llama_backward_scaled(lmt_llama *l, float scale);
/* The gradient of the mean loss. */
lmt_status lmt_llama_backward(lmt_llama *l);
/* inv_freq (hs / 2) of the config's rope for sequences of T tokens, as
 * transformers computes it (float32). */
void lmt_llama_inv_freq(const lmt_rope *r, int hs, int64_t max_positions, int T, float *inv_freq);
/* cos, sin (n, hs / 2) of positions 0..n-1: the angles position * inv_freq in
 * float32 (inv_freq for sequences of n tokens), their cos / sin from double.
 * hs / 2 <= 2048. */
void lmt_llama_rope_tables(const lmt_rope *r, int hs, int64_t max_positions, int n, float *cos_t, float *sin_t);
#endif
