/* A stack of transformer layers, each
 *
 *   x = attention block(x)                    self-attention (causal or padded keys)
 *   x = attention block(x, enc)               cross-attention (with_cross: Marian's decoder)
 *   x = feed-forward block(x)
 *
 * pre-LN or post-LN as the blocks' configs say. The stack's tensors are
 * bound from layout slots (stack id, layer, role); cross-attention from
 * LMT_STACK_CROSS. Dropout seeds: seeds_per_layer per layer, in the order
 * self (probabilities, output), cross (probabilities, output), feed-forward
 * (activation when seeds_per_layer allows one, output last).
 *
 * Gradient checkpointing (checkpoint, from the net: lmt_model's
 * gradient_checkpointing under a model set up with gradients): the layers
 * share one set of activations, each keeping only its output (the next
 * layer's input); the backward re-runs each layer's forward from its input
 * just before that layer's backward (the last layer's are still in place).
 * Dropout masks come from the step's seeds and LoRA's from its seed stream,
 * replayed, so the gradients are those of a plain backward, bit for bit.
 * Without gradients (evaluation, inference) the layers share one set of
 * activations too: nothing reads a layer's once the next has run. */
#ifndef LMT_MODELS_BLOCKS_STACK_H
#define LMT_MODELS_BLOCKS_STACK_H
#include "models/blocks/attn.h"
#include "models/blocks/ffn.h"

typedef struct lmt_layer_params {
    lmt_attn_params self, cross;       /* cross: with_cross only */
    lmt_ffn_params ffn;
} lmt_layer_params;

typedef struct lmt_layer_acts {
    lmt_attn_acts self, cross;
    lmt_ffn_acts ffn;
    uint64_t lora_stream;              /* checkpoint: LoRA's dropout seed stream before the layer's forward */
} lmt_layer_acts;

typedef struct lmt_stack {
    int id, L;                         /* layout stack (LMT_STACK_*), layers */
    bool with_cross;
    int seeds_per_layer;
    lmt_attn_cfg self, cross;
    lmt_ffn_cfg ffn;
    const int *windows;                /* (L) each layer's self-attention window (Qwen2's per-layer
                                          sliding window), or NULL: self.window for all */
    lmt_layer_params *w, *g;           /* (L) tensors, their gradients */
    lmt_layer_acts *a;                 /* (L); checkpoint: copies of one set, each with its own output */
    bool checkpoint;                   /* gradient checkpointing (set by lmt_stack_alloc) */
    bool shared;                       /* one set of activations: checkpoint, or no gradients */
} lmt_stack;

/* The per-layer arrays (owned by n); checkpoint as n's. */
void lmt_stack_alloc(lmt_stack *s, lmt_net *n);
void lmt_stack_bind(lmt_stack *s, const lmt_net *n, float *base, bool grads);
/* Nq rows per layer, Nk cross-attention keys. */
void lmt_stack_plan(lmt_stack *s, lmt_arena *a, size_t Nq, size_t Nk);
/* The stack's output: its last layer's, or x0 without layers. */
const float *lmt_stack_output(const lmt_stack *s, const float *x0);
/* x0 (B*T, C); mask (B, T) or NULL for the self-attention keys; enc (B*Ts,
 * C) and its mask for the cross-attention. Returns the output. */
const float *lmt_stack_forward(lmt_stack *s, const float *x0, int T, const int32_t *mask, const float *enc, int Ts,
                               const int32_t *enc_mask, const uint64_t *seeds, lmt_block_ctx *ctx);
/* ctx->dx: d(output) -> d(x0); d(enc) is added to denc. */
void lmt_stack_backward(lmt_stack *s, const float *x0, int T, const int32_t *mask, const float *enc, int Ts,
                        const int32_t *enc_mask, float *denc, const uint64_t *seeds, lmt_block_ctx *ctx);
#endif
