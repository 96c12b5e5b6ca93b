/* The attention block: multi-head attention with its projections inside a
 * pre-LN or post-LN residual wrapper (sublayer.h).
 *
 *   q, k, v = x Wq + bq, kv Wk + bk, kv Wv + bv   (GPT-2: one fused c_attn (C, 3C) on x)
 *   y = softmax(scale q k^T + mask) v             (causal and/or padded keys, dropout on the probabilities)
 *   f(x) = y Wo + bo
 *
 * The Llama family adds: RMSNorm in the wrapper (rms), rotary embeddings on
 * q and k after their projections (rope: ctx->rope_cos / rope_sin), grouped-
 * query attention (NKV key/value heads, each serving NH / NKV query heads:
 * k and v are expanded to NH heads for the kernel and their gradients summed
 * back) and a head size hs other than C / NH (q and the output projection's
 * input are NH * hs wide, k and v NKV * hs).
 *
 * Self-attention has kv == x; cross-attention (Marian's decoder) reads the
 * encoder output as kv. Weights are nn.Linear (out, in) or, with
 * wl = LMT_W_IN_OUT, GPT-2's Conv1D (in, out). */
#ifndef LMT_MODELS_BLOCKS_ATTN_H
#define LMT_MODELS_BLOCKS_ATTN_H
#include "kernels/linear.h"
#include "models/blocks/adapter.h"
#include "models/blocks/sublayer.h"

typedef struct lmt_attn_params {
    float *qkv_w, *qkv_b;                       /* fused (C, 3C), (3C); NULL: separate projections */
    float *q_w, *q_b, *k_w, *k_b, *v_w, *v_b;   /* (Dq, C), (Dq); k, v: (Dkv, C), (Dkv); biases may be NULL */
    float *o_w, *o_b;                           /* output projection (C, Dq), (C) */
    float *ln_w, *ln_b;                         /* the wrapper's LayerNorm (C) */
    lmt_adapter *qkv_a, *q_a, *k_a, *v_a, *o_a; /* LoRA adapters (the parameters' binding only), or NULL */
} lmt_attn_params;

typedef struct lmt_attn_cfg {
    int C, NH;
    int NKV, hs;                 /* key/value heads, head size; 0: NH, C / NH */
    bool rope, rms;              /* rotary q / k (ctx's tables); RMSNorm (weight only) in the wrapper */
    float scale;                 /* on q.k */
    float eps;                   /* LayerNorm */
    float p_attn, p_out;         /* dropout on the probabilities and on f's output (training only) */
    bool causal, pre_ln, fused;  /* fused: one (C, 3C) qkv projection */
    int window;                  /* causal sliding window (Mistral's sliding_window); 0 = none */
    lmt_wlayout wl;
} lmt_attn_cfg;

typedef struct lmt_attn_acts {
    lmt_sublayer_acts r;
    float *q, *k, *v;            /* (Nq, Dq), (Nk, Dkv), (Nk, Dkv), rotated when rope; fused: q = qkv (Nq, 3C), k = q + C, v = q + 2C */
    float *ke, *ve;              /* (Nk, Dq) k, v expanded to the query heads (grouped-query), else k, v */
    float *atty, *lse;           /* (Nq, Dq) before the output projection, (B, NH, Tq) */
} lmt_attn_acts;

/* Dq = NH * hs, Dkv = NKV * hs */
int lmt_attn_q_width(const lmt_attn_cfg *c);
int lmt_attn_kv_width(const lmt_attn_cfg *c);
void lmt_attn_plan(lmt_arena *a, lmt_attn_acts *x, const lmt_attn_cfg *c, size_t Nq, size_t Nk);
/* The block of (stack, layer) in base (parameters or gradients). */
void lmt_attn_bind(lmt_attn_params *p, const lmt_net *n, float *base, int stack, int layer);
/* x (B*Tq, C), kv (B*Tk, C); key_mask (B, Tk) or NULL; seeds: probabilities,
 * output. The block's output is lmt_sublayer_output(&a->r, c->pre_ln). */
void lmt_attn_forward(const lmt_attn_cfg *c, const lmt_attn_params *w, lmt_attn_acts *a, const float *x,
                      const float *kv, int Tq, int Tk, const int32_t *key_mask, uint64_t seed_attn,
                      uint64_t seed_out, lmt_block_ctx *ctx);
/* ctx->dx holds d(out) (B*Tq, C); on return d(x). With kv != x, d(kv) is
 * added to dkv (B*Tk, C). Parameter gradients are added to g. */
void lmt_attn_backward(const lmt_attn_cfg *c, const lmt_attn_params *w, const lmt_attn_params *g,
                       const lmt_attn_acts *a, const float *x, const float *kv, float *dkv, int Tq, int Tk,
                       const int32_t *key_mask, uint64_t seed_attn, uint64_t seed_out, lmt_block_ctx *ctx);
#endif
