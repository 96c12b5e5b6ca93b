/* One cached decoder layer, stepped over the new rows of a decode step, in
 * the two arrangements the decoders use:
 *
 *   pre-LN (GPT-2):   x += o(attn(qkv(LN_self(x)), cache))            causal over the cache
 *                     x += proj(act(fc(LN_mlp(x))))
 *   the Llama family: pre-LN with RMSNorm (rms), rotary q / k at their
 *                     positions (rope tables), grouped-query attention (NKV
 *                     key/value heads of size hs; the cache is NKV * hs
 *                     wide), SwiGLU: x += proj(silu(gate(h)) * fc(h))
 *   post-LN (Marian): x = LN_self(x + o(attn(q(x), cache)))           causal over the cache
 *                     x = LN_cross(x + o(attn(q(x), encoder keys)))    source padding mask
 *                     x = LN_mlp(x + proj(act(fc(x))))
 *
 * The step's rows are x (n, R, C): n new positions (a prompt; 1 for a
 * token) of R rows (beams; 1 for GPT-2), whose keys/values are appended to
 * the cache at positions p0..p0+n-1 before they attend.
 *
 * The matrices are read through lmt_kv_linear, which holds the copies a
 * decoder makes once for its lifetime: bf16 copies for one-row steps under
 * bf16 precision (decoding streams every weight once per token: half the
 * bytes), packed copies for steps of many rows (beams). */
#ifndef LMT_MODELS_BLOCKS_KV_LAYER_H
#define LMT_MODELS_BLOCKS_KV_LAYER_H
#include <stdint.h>
#include "lmtune/lmtune.h"
#include "models/blocks/kv_cache.h"
#include "models/blocks/kv_weights.h"
#include "models/config.h"

/* out (N, OC) = x (N, IC) W + b, W (IC, OC) or (OC, IC) as wl says. */
typedef struct lmt_kv_linear {
    const float *w, *b;                  /* b (OC) or NULL */
    lmt_wlayout wl;
    int IC, OC;
    uint16_t *w16;                       /* bf16 copy, read by one-row products; or NULL */
    struct lmt_gemm_packed *packed;      /* packed copy for many-row products; or NULL */
} lmt_kv_linear;

enum { LMT_KV_COPY_BF16 = 1, LMT_KV_COPY_PACKED = 2 };

/* A packed copy that cannot be made (memory, the OpenBLAS backend) leaves the
 * products on the plain path; a bf16 copy that cannot is LMT_ERR_NOMEM. */
lmt_status lmt_kv_linear_init(lmt_kv_linear *l, const float *w, const float *b, lmt_wlayout wl, int IC, int OC,
                              unsigned copies);
void lmt_kv_linear_release(lmt_kv_linear *l);
void lmt_kv_linear_forward(float *out, const float *x, const lmt_kv_linear *l, int N);

typedef struct lmt_kv_dims {
    int C, NH, F;                        /* width, heads, MLP width */
    float eps, scale;                    /* LayerNorm epsilon, attention scale on q.k */
    lmt_activation act;
    int NKV, hs;                         /* key/value heads, head size; 0: NH, C / NH */
    bool rms, gated;                     /* RMSNorm (weight only); SwiGLU MLP (act unused) */
    const float *rope_cos, *rope_sin;    /* (positions, hs / 2) rotary tables, or NULL: no rope */
    int window;                          /* causal sliding window of the self-attention; 0 = none */
} lmt_kv_dims;

typedef struct lmt_kv_layer {
    lmt_kv_layer_weights w;
    lmt_kv_linear qkv, q, k, v, o;       /* qkv when fused, else q, k, v */
    lmt_kv_linear cross_q, cross_o;      /* post-LN decoders over an encoder */
    lmt_kv_linear fc, proj, gate;        /* gate: SwiGLU only */
} lmt_kv_layer;

/* L layers over the weights w (L), with the copies asked for. */
lmt_status lmt_kv_layers_create(const lmt_kv_layer_weights *w, int L, const lmt_kv_dims *d, unsigned copies,
                                lmt_kv_layer **out);
void lmt_kv_layers_free(lmt_kv_layer *layers, int L);

/* Step activations for up to `rows` rows (n * R) and max_keys keys. */
typedef struct lmt_kv_work {
    int rows, threads;                   /* threads: the attention's (at most those the scratch was sized for) */
    float *qkv;                          /* (rows, 3W), W = max(C, NH * hs) */
    float *att;                          /* (rows, W) */
    float *tmp, *ln;                     /* (rows, C) each */
    float *h;                            /* (rows, F); gated: (rows, 2F) */
    float *mean, *rstd;                  /* (rows) */
    float *scores;                       /* lmt_kv_attention_scratch_floats(threads, max_keys) */
} lmt_kv_work;

lmt_status lmt_kv_work_create(int rows, const lmt_kv_dims *d, int max_keys, int threads, lmt_kv_work **out);
void lmt_kv_work_free(lmt_kv_work *w);

/* Layer l over x (n, R, C) in place, R = c->R; positions p0..p0+n-1 of the
 * cache are written. */
void lmt_kv_layer_preln_forward(float *x, const lmt_kv_layer *ly, const lmt_kv_dims *d, lmt_kv_cache *c, int l,
                                int p0, int n, lmt_kv_work *w);
/* cross: the layer's encoder keys/values (lmt_kv_layer_cross_project); NULL skips the cross attention. */
void lmt_kv_layer_postln_forward(float *x, const lmt_kv_layer *ly, const lmt_kv_dims *d, lmt_kv_cache *c, int l,
                                 int p0, int n, const lmt_kv_keys *cross, lmt_kv_work *w);
/* k, v (Ne, C) = the cross attention's key / value projections of enc (Ne, C). */
void lmt_kv_layer_cross_project(const lmt_kv_layer *ly, const float *enc, int Ne, int C, float *k, float *v);
#endif
