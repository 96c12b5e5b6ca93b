/* The weights a cached decoder layer (kv_layer.h) reads: pointers into a
 * model's flat parameters, in HF's own orientation, filled by each model's
 * one binding function (no HF names below this point). */
#ifndef LMT_MODELS_BLOCKS_KV_WEIGHTS_H
#define LMT_MODELS_BLOCKS_KV_WEIGHTS_H
#include <stdbool.h>
#include "kernels/linear.h"
#include "models/model.h"

/* One attention block of width C: either a fused q|k|v projection (GPT-2's
 * Conv1D c_attn: (C, 3C) as (in, out), bias (3C)) or three separate ones
 * (nn.Linear q_proj / k_proj / v_proj: (C, C) as (out, in), biases (C));
 * then the output projection (C, C), bias (C). */
typedef struct lmt_attn_weights {
    lmt_wlayout wl;                                   /* orientation of every matrix here */
    const float *qkv_w, *qkv_b;                       /* fused; NULL when separate */
    const float *q_w, *q_b, *k_w, *k_b, *v_w, *v_b;   /* separate; NULL when fused */
    const float *o_w, *o_b;
} lmt_attn_weights;

/* One decoder layer: self attention, cross attention over an encoder (post-LN
 * decoders only; its k/v project the encoder output once per source batch),
 * the MLP fc (C -> F) then proj (F -> C), in self.wl's orientation, and the
 * LayerNorm (C) of each sub-layer: before it (pre-LN) or after its residual
 * (post-LN). */
typedef struct lmt_kv_layer_weights {
    lmt_attn_weights self, cross;
    const float *fc_w, *fc_b, *proj_w, *proj_b;
    const float *gate_w, *gate_b;                     /* SwiGLU's gate (C -> F; fc is then up_proj); or NULL */
    const float *ln_self_w, *ln_self_b, *ln_cross_w, *ln_cross_b, *ln_mlp_w, *ln_mlp_b;
} lmt_kv_layer_weights;

/* The tensor of m in layout slot (stack, layer, role) (models/layout.h), or NULL. */
const float *lmt_kv_slot(const lmt_model *m, int stack, int layer, int role);
/* Decoder layer `layer` of m by layout slot: self attention, LayerNorms and
 * MLP from LMT_STACK_DECODER (fused: GPT-2's c_attn), cross attention from
 * LMT_STACK_CROSS when `cross`; every matrix in orientation wl. False when a
 * tensor is missing. */
bool lmt_kv_bind_layer(const lmt_model *m, int layer, lmt_wlayout wl, bool fused, bool cross, lmt_kv_layer_weights *y);
/* Decoder layer `layer` of a Llama-family model: q/k/v/o, gate/up/down as
 * nn.Linear (out, in), biases where the layout has them (else NULL), the
 * RMSNorm weights as ln_self_w / ln_mlp_w. False when a weight is missing. */
bool lmt_kv_bind_llama_layer(const lmt_model *m, int layer, lmt_kv_layer_weights *y);
#endif
