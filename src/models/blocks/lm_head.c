/* The LM head and its loss (see lm_head.h). */
#include <string.h>
#include "core/profile.h"
#include "kernels/crossentropy.h"
#include "kernels/crossentropy_smooth.h"
#include "kernels/optimizer.h"
#include "kernels/layernorm.h"
#include "kernels/linear.h"
#include "kernels/matmul.h"
#include "kernels/rows.h"
#include "models/blocks/lm_head.h"

void lmt_head_plan(lmt_arena *a, lmt_head_acts *x, const lmt_head_cfg *c, size_t N) {
    size_t C = c->C;
    x->x = lmt_arena_take(a, N * C);
    x->rows = lmt_arena_take_i32(a, N);
    if (c->transform) {
        x->hd = lmt_arena_take(a, N * C);
        x->hd_act = lmt_arena_take(a, N * C);
        x->hln = lmt_arena_take(a, N * C);
        x->mean = lmt_arena_take(a, N);
        x->rstd = lmt_arena_take(a, N);
    }
    x->logits = lmt_arena_take(a, N * c->V);
    x->losses = lmt_arena_take(a, N);
    x->lse = lmt_arena_take(a, N);
}

void lmt_head_bind(lmt_head_params *p, const lmt_net *n, float *base) {
#define SLOT(role) lmt_net_slot(n, base, LMT_STACK_NONE, -1, role)
    *p = (lmt_head_params){SLOT(LMT_ROLE_HEAD_DENSE_W), SLOT(LMT_ROLE_HEAD_DENSE_B), SLOT(LMT_ROLE_HEAD_LN_W),
                           SLOT(LMT_ROLE_HEAD_LN_B), SLOT(LMT_ROLE_HEAD_W), SLOT(LMT_ROLE_HEAD_B)};
#undef SLOT
}

int lmt_head_forward(const lmt_head_cfg *c, const lmt_head_params *w, lmt_head_acts *a, const float *x, int N,
                     int32_t *targets, bool gather) {
    int C = c->C, M = N;
    a->gathered = gather && targets;
    a->logits_are_grad = false;
    if (a->gathered) {
        M = lmt_rows_gather_labelled(a->x, a->rows, targets, x, N, C);
        x = a->x;
    }
    a->M = M;
    if (M == 0) return 0;
    double mc = (double)M * C;
    if (c->transform) {
        LMT_PROFILE("forward/matmul head dense", 2 * mc * C, lmt_linear_forward(a->hd, x, w->dense_w, NULL, M, C, C, LMT_W_OUT_IN));
        LMT_PROFILE("forward/bias+activation", 0, lmt_bias_activation_forward(a->hd, a->hd_act, w->dense_b, M, C, c->act));
        LMT_PROFILE("forward/layernorm", 0, lmt_layernorm_forward(a->hln, a->mean, a->rstd, a->hd_act, w->ln_w, w->ln_b, M, C, c->eps));
        x = a->hln;
    }
    LMT_PROFILE("forward/matmul lm_head", 2 * mc * c->V, lmt_linear_forward(a->logits, x, w->w, w->b, M, C, c->V, LMT_W_OUT_IN));
    return M;
}

long lmt_lm_loss_forward(const lmt_head_cfg *c, lmt_head_acts *a, const int32_t *targets, bool fuse) {
    long n = 0;
    if (a->M == 0) return 0;
    a->logits_are_grad = fuse;
    if (fuse)
        LMT_PROFILE("forward/cross-entropy", 0, n = lmt_crossentropy_forward_grad(a->losses, a->logits, targets, a->M, c->V));
    else
        LMT_PROFILE("forward/cross-entropy", 0, n = lmt_crossentropy_forward(a->losses, a->lse, a->logits, targets, a->M, c->V));
    return n;
}

void lmt_head_backward(const lmt_head_cfg *c, const lmt_head_params *w, const lmt_head_params *g, lmt_head_acts *a,
                       const float *x, int N, const int32_t *targets, float scale, float *dx, lmt_block_ctx *ctx) {
    int M = a->M, C = c->C, V = c->V;
    if (a->gathered || M == 0) memset(dx, 0, (size_t)N * C * sizeof(float));   // unlabelled rows: no gradient
    if (M == 0) return;
    const float *hx = a->gathered ? a->x : x, *in = c->transform ? a->hln : hx;
    /* d(logits) = scale * (softmax - onehot): the scale rides on the products'
     * alpha unless the bias's gradient needs it in the logits */
    float alpha = g->b ? 1.0f : scale;
    if (!a->logits_are_grad)
        LMT_PROFILE("backward/cross-entropy", 0, lmt_crossentropy_backward(a->logits, a->logits, a->lse, targets, g->b ? scale : 1.0f, M, V));
    else if (g->b && scale != 1.0f)   // label smoothing's gradient, unscaled, where the bias needs it scaled
        lmt_scale_floats(a->logits, (long)M * V, scale);
    float *din = c->transform || a->gathered ? ctx->dbuf : dx;   // d(in) (M, C)
    LMT_PROFILE("backward/matmul lm_head", 4.0 * M * C * V, {
        lmt_sgemm(false, false, M, C, V, alpha, a->logits, V, w->w, C, 0.0f, din, C);    // (M, C)
        if (g->w) lmt_sgemm(true, false, V, C, M, alpha, a->logits, V, in, C, 1.0f, g->w, C);   // (V, C); frozen: none
        if (g->b) lmt_linear_backward(NULL, NULL, g->b, a->logits, NULL, NULL, M, C, V, LMT_W_OUT_IN);
    });
    if (c->transform) {
        size_t MC = (size_t)M * C;
        memset(ctx->dtmp, 0, MC * sizeof(float));
        LMT_PROFILE("backward/layernorm", 0, lmt_layernorm_backward(ctx->dtmp, g->ln_w, g->ln_b, ctx->dbuf, a->hd_act, w->ln_w, a->mean, a->rstd, M, C));
        LMT_PROFILE("backward/bias+activation", 0, lmt_activation_bias_backward(ctx->dbuf, g->dense_b, ctx->dtmp, a->hd, M, C, c->act, ctx->bias_scratch));
        din = a->gathered ? ctx->dtmp : dx;
        LMT_PROFILE("backward/matmul head dense", 4.0 * M * C * C, lmt_linear_backward_set(din, g->dense_w, NULL, ctx->dbuf, hx, w->dense_w, M, C, C, LMT_W_OUT_IN));
    }
    if (a->gathered) lmt_rows_scatter(dx, din, a->rows, M, C);
}

int lmt_head_forward_loss(const lmt_head_cfg *c, const lmt_head_params *w, const lmt_head_params *g,
                          lmt_head_acts *a, const float *x, int N, int32_t *targets, bool gather, lmt_net *n) {
    int M = lmt_head_forward(c, w, a, x, N, targets, gather);
    if (targets && n->label_smoothing > 0 && M > 0) {
        /* the Trainer's LabelSmoother: smoothed loss, its gradient taken at once when training */
        a->logits_are_grad = n->ctx.training && n->grads;
        LMT_PROFILE("forward/cross-entropy", 0, n->n_targets = lmt_crossentropy_smooth_forward(a->losses, a->logits, targets, M, c->V, n->label_smoothing, a->logits_are_grad));
        lmt_net_set_loss(n, a->losses, M);
    } else if (targets) {
        n->n_targets = lmt_lm_loss_forward(c, a, targets, n->ctx.training && n->grads && !g->b);
        lmt_net_set_loss(n, a->losses, M);
    }
    return M;
}
