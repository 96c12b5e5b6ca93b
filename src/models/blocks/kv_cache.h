/* The key/value cache of incremental decoding, and the attention of new
 * query rows over cached (or fixed) keys/values: the part GPT-2's and
 * Marian's cached decoders share.
 *
 * Layout: per layer, position-major (T, R, C): the R rows (beams; 1 for
 * GPT-2) of one position are one contiguous (R, C) block, so a step's new
 * keys are projected straight into the cache (n new positions of R rows:
 * one (n * R, C) block), and a beam reorder moves rows inside each block.
 *
 * The attention runs one (query, row, head) job at a time: a dot product
 * with each visible key, a softmax, a weighted sum of the values. A step's
 * work is a few thousand such rows, too small for the blocked kernel of
 * kernels/attention.h (built for whole sequences), and memory bound: each
 * job reads its keys once. The jobs are split between threads once the
 * cache is long enough to pay for it; every job is computed alone, so the
 * result does not depend on the thread count. */
#ifndef LMT_MODELS_BLOCKS_KV_CACHE_H
#define LMT_MODELS_BLOCKS_KV_CACHE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lmtune/lmtune.h"

typedef struct lmt_kv_cache {
    int L, T, R, C;          /* layers, positions, rows, width (heads x head size) */
    float *k, *v;            /* (L, T, R, C) each */
    float *tmp;              /* (R, C) reorder scratch */
} lmt_kv_cache;

lmt_status lmt_kv_cache_create(int L, int T, int R, int C, lmt_kv_cache **out);
void lmt_kv_cache_free(lmt_kv_cache *c);
/* The (R, C) block of layer l's keys / values at position t. */
float *lmt_kv_cache_k(const lmt_kv_cache *c, int l, int t);
float *lmt_kv_cache_v(const lmt_kv_cache *c, int l, int t);
/* Beam reordering of positions 0..len-1 of every layer: row r becomes old
 * row src_rows[r] (each in 0..R-1; duplicates allowed). */
void lmt_kv_cache_reorder(lmt_kv_cache *c, const int *src_rows, int len);

/* Keys/values a query row r attends over: key j of row r is
 * k[j * ld + (r / share) * group_ld] (and v likewise).
 *   a cache layer: ld = R*C, group_ld = C, share = 1, causal;
 *   an encoder's keys (B sources x Ts, C) for R = B * nb beams: ld = C,
 *   group_ld = Ts*C, share = nb, mask (B, Ts). */
typedef struct lmt_kv_keys {
    const float *k, *v;
    int n;                   /* keys per row */
    size_t ld, group_ld;
    int share;               /* consecutive rows reading the same keys */
    const int32_t *mask;     /* (R / share, n): 0 = padded key; NULL = none */
    bool causal;             /* query i of a step from position p0 sees keys 0..p0+i (n must be p0 + queries) */
    int window;              /* causal sliding window: keys p0+i-window+1..p0+i only; 0 = none */
} lmt_kv_keys;

/* Layer l of the cache as keys for a step that has appended up to position n - 1. */
lmt_kv_keys lmt_kv_cache_keys(const lmt_kv_cache *c, int l, int n);

typedef struct lmt_kv_query {
    int n, R;                /* query positions (the step's new tokens), rows per position */
    int NH, hs;              /* heads, head size */
    int NKV;                 /* key/value heads (grouped-query: query head h reads head h / (NH / NKV)); 0 = NH */
    float scale;             /* on q.k */
    int ldq, ldo;            /* row strides of q and out: GPT-2's fused qkv gives ldq = 3C */
    int threads;             /* at most this many threads (the scratch is sized by it) */
} lmt_kv_query;

/* Scratch floats lmt_kv_attention_forward needs for up to max_keys keys. */
size_t lmt_kv_attention_scratch_floats(int threads, int max_keys);
/* out (n, R, NH*hs; row stride ldo) = softmax(scale q k^T) v for the query
 * rows q (n, R, NH*hs; stride ldq), query i at position p0 + i when causal.
 * Masked keys are excluded; a row whose keys are all masked outputs zeros
 * (as kernels/attention.h). */
void lmt_kv_attention_forward(float *out, const float *q, const lmt_kv_keys *kv, const lmt_kv_query *s, float *scratch);
#endif
