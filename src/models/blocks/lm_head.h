/* The language-model head and its cross-entropy loss:
 *
 *   h = LN(act(x Wd + bd))            (the MLM transform; absent for GPT-2 and Marian)
 *   logits = h W^T + b                (W (V, C), tied or not; b NULL for GPT-2)
 *   loss_sum = sum over targets != -100 of CE(logits[n], targets[n])
 *
 * With gather (loss_only training), the head runs on the labelled rows of x
 * alone: targets are compacted in place to those M rows and logits hold only
 * them; the loss and every gradient are those of the full head (the other
 * rows contribute nothing). A fused loss (lmt_lm_loss_forward with fuse)
 * turns the logits into softmax - onehot in the same sweep, and the scale
 * of the backward rides on the products' alpha: only for a head whose bias
 * gets no gradient. */
#ifndef LMT_MODELS_BLOCKS_LM_HEAD_H
#define LMT_MODELS_BLOCKS_LM_HEAD_H
#include "kernels/activation.h"
#include "models/net.h"

typedef struct lmt_head_params {
    float *dense_w, *dense_b;    /* transform (C, C), (C), or NULL */
    float *ln_w, *ln_b;          /* transform LayerNorm (C) */
    float *w, *b;                /* (V, C), (V) or NULL */
} lmt_head_params;

typedef struct lmt_head_cfg {
    int C, V;
    float eps;
    lmt_activation act;          /* the transform's */
    bool transform;
} lmt_head_cfg;

typedef struct lmt_head_acts {
    float *x;                    /* (N, C) the gathered rows */
    int32_t *rows;               /* (N) their indices */
    float *hd, *hd_act;          /* (N, C) transform before / after the activation */
    float *hln, *mean, *rstd;    /* (N, C), (N), (N) after its LayerNorm */
    float *logits;               /* (N, V); after the backward, or a fused loss, their gradient */
    float *losses, *lse;         /* (N) */
    int M;                       /* rows the head ran on */
    bool gathered;
    bool logits_are_grad;        /* the loss was fused */
} lmt_head_acts;

void lmt_head_plan(lmt_arena *a, lmt_head_acts *x, const lmt_head_cfg *c, size_t N);
void lmt_head_bind(lmt_head_params *p, const lmt_net *n, float *base);
/* x (N, C); targets (N) or NULL. Returns M. */
int lmt_head_forward(const lmt_head_cfg *c, const lmt_head_params *w, lmt_head_acts *a, const float *x, int N,
                     int32_t *targets, bool gather);
/* The summed loss's terms into a->losses (M); returns the counted targets. */
long lmt_lm_loss_forward(const lmt_head_cfg *c, lmt_head_acts *a, const int32_t *targets, bool fuse);
/* The head on x and, with targets, its loss into n (n_targets, loss), fused
 * when n is training with gradients and the bias takes none (g->b NULL).
 * Returns M. */
int lmt_head_forward_loss(const lmt_head_cfg *c, const lmt_head_params *w, const lmt_head_params *g,
                          lmt_head_acts *a, const float *x, int N, int32_t *targets, bool gather, lmt_net *n);
/* dx (N, C) = d(scale * loss_sum)/dx (overwritten); parameter gradients added to g. */
void lmt_head_backward(const lmt_head_cfg *c, const lmt_head_params *w, const lmt_head_params *g, lmt_head_acts *a,
                       const float *x, int N, const int32_t *targets, float scale, float *dx, lmt_block_ctx *ctx);
#endif
