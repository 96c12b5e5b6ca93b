/* The residual wrapper around a sublayer f (attention, feed-forward):
 *
 *   pre-LN  (GPT-2):            out = x + drop(f(LN(x)))
 *   post-LN (BERT family, Marian): out = LN(x + drop(f(x)))
 *
 * LN is a LayerNorm, or with rms an RMSNorm (the Llama family: a weight, no
 * bias, no mean; mean unused).
 *
 * A block calls lmt_sublayer_in for f's input, writes f's output to
 * a->res, and calls lmt_sublayer_out. Backward: lmt_sublayer_back_out gives
 * d(f's output); f then writes d(its input) to lmt_sublayer_din (pre-LN:
 * ctx->dbuf, overwritten; post-LN: ctx->dx, accumulated), and
 * lmt_sublayer_back_in finishes ctx->dx = d(x). */
#ifndef LMT_MODELS_BLOCKS_SUBLAYER_H
#define LMT_MODELS_BLOCKS_SUBLAYER_H
#include "models/net.h"

typedef struct lmt_sublayer_acts {
    float *ln, *mean, *rstd;     /* (N, C), (N), (N): pre-LN f's input, post-LN the output */
    float *res;                  /* (N, C) f's output, then x + drop(it) */
    bool rms;                    /* RMSNorm rather than LayerNorm (set by the block's plan) */
} lmt_sublayer_acts;

void lmt_sublayer_plan(lmt_arena *a, lmt_sublayer_acts *x, size_t N, int C);
/* the wrapper's output (N, C) */
const float *lmt_sublayer_output(const lmt_sublayer_acts *a, bool pre_ln);
/* f's input: LN(x) (pre-LN) or x */
const float *lmt_sublayer_in(lmt_sublayer_acts *a, bool pre_ln, const float *x, const float *ln_w, const float *ln_b,
                             int N, int C, float eps);
/* a->res = x + drop(a->res); post-LN: a->ln = LN(a->res) */
void lmt_sublayer_out(lmt_sublayer_acts *a, bool pre_ln, const float *x, const float *ln_w, const float *ln_b, int N,
                      int C, float eps, float p, uint64_t seed, const lmt_block_ctx *ctx);
/* ctx->dx holds d(out); returns d(f's output) (post-LN: ctx->dx now holds d(res)) */
const float *lmt_sublayer_back_out(const lmt_sublayer_acts *a, bool pre_ln, const float *ln_w, float *dln_w,
                                   float *dln_b, int N, int C, float p, uint64_t seed, lmt_block_ctx *ctx);
/* where f puts d(its input), and whether it adds to it */
float *lmt_sublayer_din(bool pre_ln, const lmt_block_ctx *ctx);
/* pre-LN: ctx->dx += LN'(ctx->dbuf), d(x) complete */
void lmt_sublayer_back_in(const lmt_sublayer_acts *a, bool pre_ln, const float *x, const float *ln_w, float *dln_w,
                          float *dln_b, int N, int C, lmt_block_ctx *ctx);
#endif
