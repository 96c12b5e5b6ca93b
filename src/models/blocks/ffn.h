/* The feed-forward block inside a pre-LN or post-LN residual wrapper
 * (sublayer.h):
 *
 *   f(x) = drop_act(act(x W1 + b1)) W2 + b2     (drop_act: Marian's activation_dropout)
 *
 * or, gated (the Llama family's SwiGLU, with an RMSNorm wrapper):
 *
 *   f(x) = (silu(x Wg + bg) * (x W1 + b1)) W2 + b2    (gate_proj, up_proj = W1, down_proj = W2)
 *
 * The bias b1 and the activation run fused (lmt_bias_activation_forward /
 * lmt_activation_bias_backward). Weights nn.Linear (out, in) or, with
 * wl = LMT_W_IN_OUT, GPT-2's Conv1D (in, out). */
#ifndef LMT_MODELS_BLOCKS_FFN_H
#define LMT_MODELS_BLOCKS_FFN_H
#include "kernels/activation.h"
#include "kernels/linear.h"
#include "models/blocks/adapter.h"
#include "models/blocks/adapter.h"
#include "models/blocks/sublayer.h"

typedef struct lmt_ffn_params {
    float *fc1_w, *fc1_b;        /* (F, C) or (C, F), (F); gated: up_proj */
    float *gate_w, *gate_b;      /* gated: gate_proj (F, C), (F) or NULL; else NULL */
    float *fc2_w, *fc2_b;        /* (C, F) or (F, C), (C) */
    float *ln_w, *ln_b;          /* the wrapper's LayerNorm (C) */
    lmt_adapter *fc1_a, *gate_a, *fc2_a;   /* LoRA adapters (the parameters' binding only), or NULL */
} lmt_ffn_params;

typedef struct lmt_ffn_cfg {
    int C, F;
    float eps;
    float p_act, p_out;          /* dropout after the activation and on f's output (training only) */
    lmt_activation act;
    bool pre_ln;
    bool gated, rms;             /* SwiGLU (act is SiLU, p_act unused); RMSNorm in the wrapper */
    lmt_wlayout wl;
} lmt_ffn_cfg;

typedef struct lmt_ffn_acts {
    lmt_sublayer_acts r;
    float *fch, *fch_act;        /* (N, F) before / after the activation (and its dropout); gated: gate, silu(gate) * up */
    float *up;                   /* gated: (N, F) up_proj's output */
} lmt_ffn_acts;

void lmt_ffn_plan(lmt_arena *a, lmt_ffn_acts *x, const lmt_ffn_cfg *c, size_t N);
void lmt_ffn_bind(lmt_ffn_params *p, const lmt_net *n, float *base, int stack, int layer);
/* x (N, C), N = ctx->B * T rows; the output is lmt_sublayer_output(&a->r, c->pre_ln). */
void lmt_ffn_forward(const lmt_ffn_cfg *c, const lmt_ffn_params *w, lmt_ffn_acts *a, const float *x, int N,
                     uint64_t seed_act, uint64_t seed_out, lmt_block_ctx *ctx);
/* ctx->dx holds d(out) (N, C); on return d(x). Parameter gradients are added to g. */
void lmt_ffn_backward(const lmt_ffn_cfg *c, const lmt_ffn_params *w, const lmt_ffn_params *g, const lmt_ffn_acts *a,
                      const float *x, int N, uint64_t seed_act, uint64_t seed_out, lmt_block_ctx *ctx);
#endif
