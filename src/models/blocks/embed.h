/* The embedding block:
 *
 *   out = drop(LN(scale * tok[ids] + pos[p] + type[tt]))
 *
 * pos may be NULL (no positions), type NULL (no token types), ln_w NULL (no
 * LayerNorm). Positions p are given per token or 0..T-1. As
 * nn.Embedding(padding_idx), the backward leaves the pad row of tok (and of
 * pos with pos_pad, RoBERTa) as it was: what it already holds (a tied head's
 * share, earlier micro-batches) stays. Tables without a gradient (computed
 * positions) have NULL in the gradient params. */
#ifndef LMT_MODELS_BLOCKS_EMBED_H
#define LMT_MODELS_BLOCKS_EMBED_H
#include "models/net.h"

typedef struct lmt_embed_params {
    float *tok;                  /* (V, C) */
    float *pos;                  /* (P, C) or NULL */
    float *type;                 /* (TV, C) or NULL */
    float *ln_w, *ln_b;          /* (C) or NULL */
} lmt_embed_params;

typedef struct lmt_embed_cfg {
    int C, V, P;
    float scale, eps, p_drop;
    int pad_id;                  /* padding_idx of tok (and pos with pos_pad); -1: none */
    bool pos_pad;
} lmt_embed_cfg;

typedef struct lmt_embed_acts {
    float *sum;                  /* (N, C) before the LayerNorm (NULL without one) */
    float *out, *mean, *rstd;    /* (N, C), (N), (N) */
} lmt_embed_acts;

void lmt_embed_plan(lmt_arena *a, lmt_embed_acts *x, const lmt_embed_cfg *c, size_t N, bool ln);
void lmt_embed_bind(lmt_embed_params *p, const lmt_net *n, float *base, int stack);
/* ids, pos (NULL: 0..T-1), types (NULL: none) (B, T), B = ctx->B. */
void lmt_embed_forward(const lmt_embed_cfg *c, const lmt_embed_params *w, lmt_embed_acts *a, const int32_t *ids,
                       const int32_t *pos, const int32_t *types, int T, uint64_t seed, const lmt_block_ctx *ctx);
/* ctx->dx holds d(out); adds the tables' gradients to g. */
void lmt_embed_backward(const lmt_embed_cfg *c, const lmt_embed_params *w, const lmt_embed_params *g,
                        const lmt_embed_acts *a, const int32_t *ids, const int32_t *pos, const int32_t *types, int T,
                        uint64_t seed, lmt_block_ctx *ctx);
#endif
