/* Key/value-cached MarianMTModel decoding (see marian_decode.h). Every
 * product, norm and attention goes through the public kernels, as the
 * uncached forward does. */
#include "models/marian_decode.h"
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/embedding.h"
#include "kernels/layernorm.h"
#include "kernels/linear.h"
#include "kernels/matmul.h"
#include "kernels/residual.h"

#define CLS "MarianMTModel decode"

enum { PK_SQ, PK_SK, PK_SV, PK_SO, PK_CQ, PK_CO, PK_FC1, PK_FC2, PK_PER_LAYER };
#define PACKED_ROWS_MIN 5   /* fewer rows take the products' unpacked path anyway */

static const struct lmt_gemm_packed *packed_w(const lmt_marian_dec *d, int l, int k) {
    return d->packed ? d->packed[(size_t)l * PK_PER_LAYER + k] : NULL;
}

/* Packs the decoder's matrices (nn.Linear weights (out, in): op(B) = W^T). A
 * copy that cannot be made (memory) leaves its product on the plain path. */
static void pack_weights(lmt_marian_dec *d) {
    const int Ld = d->Ld, C = d->C, F = d->F;
    d->packed = calloc((size_t)Ld * PK_PER_LAYER + 1, sizeof *d->packed);
    if (!d->packed) return;
    for (int l = 0; l < Ld; l++) {
        const lmt_marian_layer *y = &d->mt->dec.w[l];
        struct lmt_gemm_packed **p = d->packed + (size_t)l * PK_PER_LAYER;
        p[PK_SQ] = lmt_matmul_pack_b(true, C, C, y->self.q_w, C);
        p[PK_SK] = lmt_matmul_pack_b(true, C, C, y->self.k_w, C);
        p[PK_SV] = lmt_matmul_pack_b(true, C, C, y->self.v_w, C);
        p[PK_SO] = lmt_matmul_pack_b(true, C, C, y->self.o_w, C);
        p[PK_CQ] = lmt_matmul_pack_b(true, C, C, y->cross.q_w, C);
        p[PK_CO] = lmt_matmul_pack_b(true, C, C, y->cross.o_w, C);
        p[PK_FC1] = lmt_matmul_pack_b(true, F, C, y->ffn.fc1_w, C);
        p[PK_FC2] = lmt_matmul_pack_b(true, C, F, y->ffn.fc2_w, F);
    }
    d->packed[(size_t)Ld * PK_PER_LAYER] = lmt_matmul_pack_b(true, d->V, C, d->mt->w.head.w, C);
}

void lmt_marian_dec_free(lmt_marian_dec *d) {
    if (!d) return;
    lmt_marian_free(d->mt);
    free(d->ck); free(d->cv); free(d->sk); free(d->sv);
    free(d->x); free(d->q); free(d->att); free(d->res); free(d->h);
    free(d->mean); free(d->rstd); free(d->logits); free(d->tmp);
    free(d->att_scratch); free(d->lse); free(d->mask); free(d->pos);
    if (d->packed)
        for (size_t i = 0; i <= (size_t)d->Ld * PK_PER_LAYER; i++) lmt_matmul_packed_free(d->packed[i]);
    free(d->packed);
    free(d);
}

lmt_status lmt_marian_dec_create(lmt_model *m, int B, int Ts, int rows_per_src, int max_len, lmt_marian_dec **out) {
    *out = NULL;
    if (B < 1 || Ts < 1 || rows_per_src < 1 || max_len < 1)
        return lmt_fail(LMT_ERR_ARG, CLS ": bad shape: %d sources x %d tokens, %d rows each, %d positions", B, Ts,
                        rows_per_src, max_len);
    if (m->cfg.max_positions > 0 && max_len > m->cfg.max_positions)
        return lmt_fail(LMT_ERR_ARG, CLS ": %d decoder positions beyond the model's %lld (max_position_embeddings)",
                        max_len, (long long)m->cfg.max_positions);
    if ((double)B * rows_per_src * max_len * (double)m->cfg.d_model * (double)(m->cfg.dec_layers + 1) >= 1e11)
        return lmt_fail(LMT_ERR_ARG, CLS ": %d x %d rows of %d positions is too large a cache", B, rows_per_src, max_len);
    lmt_marian_dec *d = calloc(1, sizeof *d);
    if (!d) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    /* the encoder side: the uncached model with a single target position */
    lmt_status st = lmt_marian_create(m, B, Ts, 1, false, &d->mt);
    if (st != LMT_OK) { free(d); return st; }
    lmt_marian *mt = d->mt;
    d->B = B;
    d->Ts = Ts;
    d->nb = rows_per_src;
    d->R = B * rows_per_src;
    d->L = max_len;
    d->C = mt->C;
    d->NH = mt->NHd;
    d->F = mt->Fd;
    d->Ld = mt->Ld;
    d->V = mt->Vd;   // the decoder vocabulary: token ids fed back and logits width
    d->att_threads = omp_get_max_threads();
    size_t R = (size_t)d->R, C = (size_t)d->C, Ld = (size_t)d->Ld;
    size_t cache = Ld * (size_t)max_len * R * C, cross = Ld * (size_t)B * Ts * C;
    lmt_attention_shape ss = {.Tq = 1, .Tk = max_len, .threads = d->att_threads};
    lmt_attention_shape cs = {.Tq = rows_per_src, .Tk = Ts, .threads = d->att_threads};
    size_t scr = lmt_attention_scratch_floats(&ss), scr2 = lmt_attention_scratch_floats(&cs);
    d->ck = lmt_malloc((cross ? cross : 1) * sizeof(float));
    d->cv = lmt_malloc((cross ? cross : 1) * sizeof(float));
    d->sk = lmt_malloc((cache ? cache : 1) * sizeof(float));
    d->sv = lmt_malloc((cache ? cache : 1) * sizeof(float));
    d->x = lmt_malloc(R * C * sizeof(float));
    d->q = lmt_malloc(R * C * sizeof(float));
    d->att = lmt_malloc(R * C * sizeof(float));
    d->res = lmt_malloc(R * C * sizeof(float));
    d->h = lmt_malloc(R * (size_t)d->F * sizeof(float) + sizeof(float));
    d->mean = lmt_malloc(R * sizeof(float));
    d->rstd = lmt_malloc(R * sizeof(float));
    d->logits = lmt_malloc(R * (size_t)d->V * sizeof(float));
    d->tmp = lmt_malloc(R * C * sizeof(float));
    d->att_scratch = lmt_malloc((scr > scr2 ? scr : scr2) * sizeof(float));
    d->lse = lmt_malloc(R * (size_t)d->NH * sizeof(float));
    d->mask = lmt_malloc((size_t)B * Ts * sizeof(int32_t));
    d->pos = lmt_malloc(R * sizeof(int32_t));
    if (!d->ck || !d->cv || !d->sk || !d->sv || !d->x || !d->q || !d->att || !d->res || !d->h || !d->mean ||
        !d->rstd || !d->logits || !d->tmp || !d->att_scratch || !d->lse || !d->mask || !d->pos) {
        lmt_marian_dec_free(d);
        return lmt_fail(LMT_ERR_NOMEM, CLS ": out of memory for %zu rows x %d positions", R, max_len);
    }
    if (d->R >= PACKED_ROWS_MIN) pack_weights(d);
    *out = d;
    return LMT_OK;
}

lmt_status lmt_marian_dec_encode(lmt_marian_dec *d, const int32_t *input_ids, const int32_t *attention_mask) {
    if (!d || !input_ids) return lmt_fail(LMT_ERR_ARG, CLS ": missing argument");
    lmt_marian *mt = d->mt;
    int B = d->B, Ts = d->Ts, Ne = B * Ts, C = d->C;
    /* one dummy target position: the forward needs one; its logits are unused */
    int32_t *dec0 = calloc((size_t)B, sizeof(int32_t));
    if (!dec0) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_status st = lmt_marian_forward(mt, LMT_I32, input_ids, attention_mask, dec0, NULL, B, Ts, 1, false);
    free(dec0);
    if (st != LMT_OK) return st;
    const float *enc = lmt_marian_encoder_output(mt);
    /* the uncached forward masks only when something is padded: do the same */
    d->masked = false;
    for (int n = 0; n < Ne; n++) {
        d->mask[n] = attention_mask ? attention_mask[n] != 0 : 1;
        d->masked |= !d->mask[n];
    }
    for (int l = 0; l < d->Ld; l++) {
        const lmt_marian_attn *w = &mt->dec.w[l].cross;
        size_t off = (size_t)l * Ne * C;
        lmt_linear_forward(d->ck + off, enc, w->k_w, w->k_b, Ne, C, C, LMT_W_OUT_IN);
        lmt_linear_forward(d->cv + off, enc, w->v_w, w->v_b, Ne, C, C, LMT_W_OUT_IN);
    }
    d->len = 0;
    return LMT_OK;
}

/* x (R, C) -> x = LN(x + o(att)), with att (R, C) the attention output. */
static void attn_out(lmt_marian_dec *d, const lmt_marian_attn *w, const struct lmt_gemm_packed *o_packed) {
    size_t n = (size_t)d->R * d->C;
    lmt_linear_forward_packed(d->res, d->att, w->o_w, o_packed, w->o_b, d->R, d->C, d->C, LMT_W_OUT_IN);
    lmt_residual_forward(d->res, d->res, d->x, n);
    lmt_layernorm_forward(d->x, d->mean, d->rstd, d->res, w->ln_w, w->ln_b, d->R, d->C, d->mt->eps);
}

lmt_status lmt_marian_dec_step(lmt_marian_dec *d, const int32_t *tokens, int pos, float **logits) {
    if (!d || !tokens || !logits) return lmt_fail(LMT_ERR_ARG, CLS ": missing argument");
    if (pos != d->len)
        return lmt_fail(LMT_ERR_ARG, CLS ": step at position %d but %d positions are cached", pos, d->len);
    if (pos >= d->L) return lmt_fail(LMT_ERR_ARG, CLS ": position %d beyond the %d the cache holds", pos, d->L);
    lmt_marian *mt = d->mt;
    const lmt_marian_params *w = &mt->w;
    int R = d->R, C = d->C, NH = d->NH, hs = C / NH, Ne = d->B * d->Ts;
    for (int r = 0; r < R; r++) {
        if (tokens[r] < 0 || tokens[r] >= d->V)
            return lmt_fail(LMT_ERR_ARG, CLS ": token %d of row %d is outside the decoder vocabulary (0..%d)", tokens[r],
                            r, d->V - 1);
        d->pos[r] = pos;
    }
    /* A step of a tiny model (the test fixtures) is microseconds of work per
     * kernel; an OpenMP fork/join per kernel then costs more than the work,
     * and far more when the cores are oversubscribed. Run such steps on one
     * thread (the caller's setting is restored below). */
    double macs = (double)R * ((double)d->Ld * (6.0 * C * C + 2.0 * C * d->F + (double)(pos + 1 + d->Ts) * C) +
                               (double)C * d->V);
    bool serial = macs < 4e6;
    int saved_threads = omp_get_max_threads();
    if (serial) omp_set_num_threads(1);
    int att_threads = serial ? 1 : d->att_threads;
    lmt_embedding_forward(d->x, tokens, d->pos, w->dec_emb.tok, w->dec_emb.pos, mt->emb_scale, R, 1, C);
    float scale = (float)pow((double)hs, -0.5);   // MarianAttention: head_dim**-0.5, a Python float
    /* self attention: the R*NH (row, head) pairs as heads of one batch over
     * the position-major cache (row stride R*C) */
    lmt_attention_shape ss = {.B = 1, .NH = R * NH, .Tq = 1, .Tk = pos + 1, .hs = hs, .ldq = R * C, .ldk = R * C,
                              .ldv = R * C, .ldo = R * C, .scale = scale, .threads = att_threads};
    /* cross attention: source b's rows_per_src rows are the Tq queries of batch b */
    lmt_attention_shape cs = {.B = d->B, .NH = NH, .Tq = d->nb, .Tk = d->Ts, .hs = hs, .ldq = C, .ldk = C, .ldv = C,
                              .ldo = C, .scale = scale, .key_mask = d->masked ? d->mask : NULL, .threads = att_threads};
    size_t RC = (size_t)R * C;
    for (int l = 0; l < d->Ld; l++) {
        const lmt_marian_layer *y = &mt->dec.w[l];
        float *K = d->sk + (size_t)l * d->L * RC, *V = d->sv + (size_t)l * d->L * RC;
        lmt_linear_forward_packed(d->q, d->x, y->self.q_w, packed_w(d, l, PK_SQ), y->self.q_b, R, C, C, LMT_W_OUT_IN);
        lmt_linear_forward_packed(K + (size_t)pos * RC, d->x, y->self.k_w, packed_w(d, l, PK_SK), y->self.k_b, R, C, C,
                                  LMT_W_OUT_IN);
        lmt_linear_forward_packed(V + (size_t)pos * RC, d->x, y->self.v_w, packed_w(d, l, PK_SV), y->self.v_b, R, C, C,
                                  LMT_W_OUT_IN);
        lmt_attention_forward(d->att, d->lse, d->q, K, V, &ss, d->att_scratch);
        attn_out(d, &y->self, packed_w(d, l, PK_SO));

        lmt_linear_forward_packed(d->q, d->x, y->cross.q_w, packed_w(d, l, PK_CQ), y->cross.q_b, R, C, C, LMT_W_OUT_IN);
        size_t off = (size_t)l * Ne * C;
        lmt_attention_forward(d->att, d->lse, d->q, d->ck + off, d->cv + off, &cs, d->att_scratch);
        attn_out(d, &y->cross, packed_w(d, l, PK_CO));

        lmt_linear_forward_packed(d->h, d->x, y->ffn.fc1_w, packed_w(d, l, PK_FC1), y->ffn.fc1_b, R, C, d->F, LMT_W_OUT_IN);
        lmt_activation_forward(d->h, d->h, (size_t)R * d->F, mt->net.model->cfg.act);
        lmt_linear_forward_packed(d->res, d->h, y->ffn.fc2_w, packed_w(d, l, PK_FC2), y->ffn.fc2_b, R, d->F, C, LMT_W_OUT_IN);
        lmt_residual_forward(d->res, d->res, d->x, RC);
        lmt_layernorm_forward(d->x, d->mean, d->rstd, d->res, y->ffn.ln_w, y->ffn.ln_b, R, C, mt->eps);
    }
    lmt_linear_forward_packed(d->logits, d->x, w->head.w, packed_w(d, d->Ld, 0), w->head.b, R, C, d->V,
                              LMT_W_OUT_IN);
    if (serial) omp_set_num_threads(saved_threads);
    d->len = pos + 1;
    *logits = d->logits;
    return LMT_OK;
}

lmt_status lmt_marian_dec_reorder(lmt_marian_dec *d, const int *src_rows) {
    if (!d || !src_rows) return lmt_fail(LMT_ERR_ARG, CLS ": missing argument");
    int R = d->R, C = d->C;
    bool identity = true;
    for (int r = 0; r < R; r++) {
        if (src_rows[r] < 0 || src_rows[r] >= R)
            return lmt_fail(LMT_ERR_ARG, CLS ": reorder row %d from %d, outside 0..%d", r, src_rows[r], R - 1);
        if (src_rows[r] / d->nb != r / d->nb)   // the cross-attention keys/values are per source
            return lmt_fail(LMT_ERR_ARG, CLS ": reorder row %d from %d, a row of another source", r, src_rows[r]);
        identity &= src_rows[r] == r;
    }
    if (identity) return LMT_OK;
    size_t RC = (size_t)R * C;
    for (int l = 0; l < d->Ld; l++)
        for (int side = 0; side < 2; side++) {
            float *base = (side ? d->sv : d->sk) + (size_t)l * d->L * RC;
            for (int t = 0; t < d->len; t++) {
                float *blk = base + (size_t)t * RC;
                memcpy(d->tmp, blk, RC * sizeof(float));
                for (int r = 0; r < R; r++)
                    memcpy(blk + (size_t)r * C, d->tmp + (size_t)src_rows[r] * C, (size_t)C * sizeof(float));
            }
        }
    return LMT_OK;
}
