/* The embedding block (see embed.h). */
#include <string.h>
#include "core/profile.h"
#include "kernels/dropout.h"
#include "kernels/embedding.h"
#include "kernels/layernorm.h"
#include "models/blocks/embed.h"

void lmt_embed_plan(lmt_arena *a, lmt_embed_acts *x, const lmt_embed_cfg *c, size_t N, bool ln) {
    x->sum = ln ? lmt_arena_take(a, N * c->C) : NULL;
    x->out = lmt_arena_take(a, N * c->C);
    x->mean = ln ? lmt_arena_take(a, N) : NULL;
    x->rstd = ln ? lmt_arena_take(a, N) : NULL;
}

void lmt_embed_bind(lmt_embed_params *p, const lmt_net *n, float *base, int stack) {
    *p = (lmt_embed_params){lmt_net_slot(n, base, stack, -1, LMT_ROLE_TOK_EMB), lmt_net_slot(n, base, stack, -1, LMT_ROLE_POS_EMB),
                            lmt_net_slot(n, base, stack, -1, LMT_ROLE_TYPE_EMB), lmt_net_slot(n, base, stack, -1, LMT_ROLE_EMB_LN_W),
                            lmt_net_slot(n, base, stack, -1, LMT_ROLE_EMB_LN_B)};
}

void lmt_embed_forward(const lmt_embed_cfg *c, const lmt_embed_params *w, lmt_embed_acts *a, const int32_t *ids,
                       const int32_t *pos, const int32_t *types, int T, uint64_t seed, const lmt_block_ctx *ctx) {
    int B = ctx->B, N = B * T, C = c->C;
    float *sum = w->ln_w ? a->sum : a->out;
    LMT_PROFILE("forward/embedding", 0, {
        lmt_embedding_forward(sum, ids, pos, w->tok, w->pos, c->scale, B, T, C);
        if (w->type)
            for (int n = 0; n < N; n++) {
                float *o = sum + (size_t)n * C;
                const float *t = w->type + (size_t)types[n] * C;
                for (int i = 0; i < C; i++) o[i] += t[i];
            }
    });
    if (w->ln_w)
        LMT_PROFILE("forward/layernorm", 0, lmt_layernorm_forward(a->out, a->mean, a->rstd, sum, w->ln_w, w->ln_b, N, C, c->eps));
    if (ctx->training && c->p_drop > 0.0f)
        LMT_PROFILE("forward/dropout", 0, lmt_dropout_forward(a->out, a->out, (size_t)N * C, c->p_drop, seed));
}

void lmt_embed_backward(const lmt_embed_cfg *c, const lmt_embed_params *w, const lmt_embed_params *g,
                        const lmt_embed_acts *a, const int32_t *ids, const int32_t *pos, const int32_t *types, int T,
                        uint64_t seed, lmt_block_ctx *ctx) {
    int B = ctx->B, N = B * T, C = c->C;
    size_t NC = (size_t)N * C;
    if (!g->tok && !g->pos && !g->type && !g->ln_w && !g->ln_b) return;   // all frozen (LoRA)
    const float *d;
    LMT_PROFILE("backward/dropout", 0, d = lmt_drop_back(ctx->dtmp, ctx->dx, NC, ctx->training ? c->p_drop : 0.0f, seed));
    if (w->ln_w) {
        memset(ctx->dbuf, 0, NC * sizeof(float));
        LMT_PROFILE("backward/layernorm", 0, lmt_layernorm_backward(ctx->dbuf, g->ln_w, g->ln_b, d, a->sum, w->ln_w, a->mean, a->rstd, N, C));
        d = ctx->dbuf;
    }
    float *tok_row = g->tok && c->pad_id >= 0 && c->pad_id < c->V ? g->tok + (size_t)c->pad_id * C : NULL;
    float *pos_row = c->pos_pad && g->pos && c->pad_id >= 0 && c->pad_id < c->P ? g->pos + (size_t)c->pad_id * C : NULL;
    LMT_PROFILE("backward/embedding", 0, {
        if (tok_row) memcpy(ctx->pad_rows, tok_row, (size_t)C * sizeof(float));
        if (pos_row) memcpy(ctx->pad_rows + C, pos_row, (size_t)C * sizeof(float));
        if (g->tok) lmt_embedding_backward(g->tok, g->pos, d, ids, pos, c->scale, B, T, C);   // NULL: frozen (LoRA)
        if (tok_row) memcpy(tok_row, ctx->pad_rows, (size_t)C * sizeof(float));
        if (pos_row) memcpy(pos_row, ctx->pad_rows + C, (size_t)C * sizeof(float));
        if (g->type)
            for (int n = 0; n < N; n++) {
                const float *dn = d + (size_t)n * C;
                float *t = g->type + (size_t)types[n] * C;
                for (int i = 0; i < C; i++) t[i] += dn[i];
            }
    });
}
