/* Pre-LN and post-LN residual wrappers (see sublayer.h). */
#include <string.h>
#include "core/profile.h"
#include "kernels/dropout.h"
#include "kernels/layernorm.h"
#include "models/blocks/sublayer.h"

/* the wrapper's norm: LayerNorm or RMSNorm (a->rms) */
static void norm_forward(lmt_sublayer_acts *a, float *out, const float *x, const float *w, const float *b, int N, int C,
                         float eps) {
    if (a->rms) LMT_PROFILE("forward/rmsnorm", 0, lmt_rmsnorm_forward(out, a->rstd, x, w, N, C, eps));
    else LMT_PROFILE("forward/layernorm", 0, lmt_layernorm_forward(out, a->mean, a->rstd, x, w, b, N, C, eps));
}

static void norm_backward(const lmt_sublayer_acts *a, float *dx, float *dw, float *db, const float *dout,
                          const float *x, const float *w, int N, int C) {
    if (a->rms) LMT_PROFILE("backward/rmsnorm", 0, lmt_rmsnorm_backward(dx, dw, dout, x, w, a->rstd, N, C));
    else LMT_PROFILE("backward/layernorm", 0, lmt_layernorm_backward(dx, dw, db, dout, x, w, a->mean, a->rstd, N, C));
}

void lmt_sublayer_plan(lmt_arena *a, lmt_sublayer_acts *x, size_t N, int C) {
    x->ln = lmt_arena_take(a, N * C);
    x->mean = lmt_arena_take(a, N);
    x->rstd = lmt_arena_take(a, N);
    x->res = lmt_arena_take(a, N * C);
}

const float *lmt_sublayer_output(const lmt_sublayer_acts *a, bool pre_ln) { return pre_ln ? a->res : a->ln; }

const float *lmt_sublayer_in(lmt_sublayer_acts *a, bool pre_ln, const float *x, const float *ln_w, const float *ln_b,
                             int N, int C, float eps) {
    if (!pre_ln) return x;
    norm_forward(a, a->ln, x, ln_w, ln_b, N, C, eps);
    return a->ln;
}

void lmt_sublayer_out(lmt_sublayer_acts *a, bool pre_ln, const float *x, const float *ln_w, const float *ln_b, int N,
                      int C, float eps, float p, uint64_t seed, const lmt_block_ctx *ctx) {
    float pe = ctx->training ? p : 0.0f;
    LMT_PROFILE("forward/dropout+residual", 0, lmt_dropout_residual_forward(a->res, a->res, x, (size_t)N * C, pe, seed));
    if (!pre_ln) norm_forward(a, a->ln, a->res, ln_w, ln_b, N, C, eps);
}

const float *lmt_sublayer_back_out(const lmt_sublayer_acts *a, bool pre_ln, const float *ln_w, float *dln_w,
                                   float *dln_b, int N, int C, float p, uint64_t seed, lmt_block_ctx *ctx) {
    size_t NC = (size_t)N * C;
    if (!pre_ln) {   // through the LayerNorm into the spare, which becomes the stream's gradient d(res)
        memset(ctx->dalt, 0, NC * sizeof(float));
        norm_backward(a, ctx->dalt, dln_w, dln_b, ctx->dx, a->res, ln_w, N, C);
        float *t = ctx->dx;
        ctx->dx = ctx->dalt;
        ctx->dalt = t;
    }
    /* the residual passes d(res) on to d(x) unchanged; f's branch gets it through the dropout */
    const float *dy;
    LMT_PROFILE("backward/dropout", 0, dy = lmt_drop_back(ctx->dtmp, ctx->dx, NC, ctx->training ? p : 0.0f, seed));
    return dy;
}

float *lmt_sublayer_din(bool pre_ln, const lmt_block_ctx *ctx) { return pre_ln ? ctx->dbuf : ctx->dx; }

void lmt_sublayer_back_in(const lmt_sublayer_acts *a, bool pre_ln, const float *x, const float *ln_w, float *dln_w,
                          float *dln_b, int N, int C, lmt_block_ctx *ctx) {
    if (pre_ln) norm_backward(a, ctx->dx, dln_w, dln_b, ctx->dbuf, x, ln_w, N, C);
}
