/* Key/value-cached MarianMTModel decoding (see marian_decode.h): the encoder
 * of models/marian.h, the post-LN cached layers of models/blocks/kv_layer.h. */
#include "models/marian_decode.h"
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include "core/error.h"
#include "core/util.h"
#include "kernels/embedding.h"
#include "models/marian.h"

#define CLS "MarianMTModel decode"
#define PACKED_ROWS_MIN 5   /* fewer rows take the products' unpacked path anyway */

/* The decoder's weights by layout slot (layout.c holds the HF names). */
static bool bind(lmt_model *m, lmt_marian_dec *d, lmt_kv_layer_weights *w, const float **lm_head, const float **bias) {
    d->dec_embed = lmt_kv_slot(m, LMT_STACK_DECODER, -1, LMT_ROLE_TOK_EMB);   // the shared table when shared
    d->dec_pos = lmt_kv_slot(m, LMT_STACK_DECODER, -1, LMT_ROLE_POS_EMB);
    *lm_head = lmt_kv_slot(m, LMT_STACK_NONE, -1, LMT_ROLE_HEAD_W);            // the decoder table when tied
    *bias = lmt_kv_slot(m, LMT_STACK_NONE, -1, LMT_ROLE_HEAD_B);               // final_logits_bias
    bool ok = d->dec_embed && d->dec_pos && *lm_head && *bias;
    for (int l = 0; l < d->Ld; l++) ok &= lmt_kv_bind_layer(m, l, LMT_W_OUT_IN, false, true, &w[l]);   // nn.Linear: (out, in)
    return ok;
}

/* The encoder's last hidden state (B*Ts, C) after lmt_marian_forward. */

void lmt_marian_dec_free(lmt_marian_dec *d) {
    if (!d) return;
    lmt_marian_free(d->mt);
    lmt_kv_layers_free(d->layers, d->Ld);
    lmt_kv_linear_release(&d->head);
    lmt_kv_cache_free(d->cache);
    lmt_kv_work_free(d->work);
    free(d->ck); free(d->cv); free(d->x); free(d->logits); free(d->mask);
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
    /* the encoder side: the uncached model with a single target position (it checks the config too) */
    lmt_status st = lmt_marian_create(m, B, Ts, 1, false, &d->mt);
    if (st != LMT_OK) { free(d); return st; }
    const lmt_config *c = &m->cfg;
    d->B = B;
    d->Ts = Ts;
    d->nb = rows_per_src;
    d->R = B * rows_per_src;
    d->L = max_len;
    d->C = (int)c->d_model;
    d->Ld = (int)c->dec_layers;
    d->V = (int)c->dec_vocab_size;   // the decoder vocabulary: token ids fed back and logits width
    /* transformers: math.sqrt(d_model) in double, applied to an fp32 tensor */
    d->emb_scale = c->scale_embedding ? (float)sqrt((double)c->d_model) : 1.0f;
    int hs = d->C / (int)c->dec_heads;
    d->dims = (lmt_kv_dims){.C = d->C, .NH = (int)c->dec_heads, .F = (int)c->dec_ffn, .eps = (float)c->layer_norm_eps,
                            .scale = (float)pow((double)hs, -0.5),   // MarianAttention: head_dim**-0.5, a Python float
                            .act = c->act};
    d->att_threads = omp_get_max_threads();
    lmt_kv_layer_weights *w = calloc((size_t)d->Ld + 1, sizeof *w);
    const float *lm_head = NULL, *bias = NULL;
    if (!w) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
    else if (!bind(m, d, w, &lm_head, &bias)) st = lmt_fail(LMT_ERR_INTERNAL, CLS ": a decoder parameter is missing from the layout");
    unsigned copies = d->R >= PACKED_ROWS_MIN ? LMT_KV_COPY_PACKED : 0;
    if (st == LMT_OK) st = lmt_kv_layers_create(w, d->Ld, &d->dims, copies, &d->layers);
    if (st == LMT_OK) st = lmt_kv_linear_init(&d->head, lm_head, bias, LMT_W_OUT_IN, d->C, d->V, copies);
    if (st == LMT_OK) st = lmt_kv_cache_create(d->Ld, max_len, d->R, d->C, &d->cache);
    if (st == LMT_OK)
        st = lmt_kv_work_create(d->R, &d->dims, max_len > Ts ? max_len : Ts, d->att_threads, &d->work);
    free(w);
    size_t R = (size_t)d->R, C = (size_t)d->C, cross = (size_t)d->Ld * B * Ts * C;
    if (st == LMT_OK) {
        d->ck = lmt_malloc((cross ? cross : 1) * sizeof(float));
        d->cv = lmt_malloc((cross ? cross : 1) * sizeof(float));
        d->x = lmt_malloc(R * C * sizeof(float));
        d->logits = lmt_malloc(R * (size_t)d->V * sizeof(float));
        d->mask = lmt_malloc((size_t)B * Ts * sizeof(int32_t));
        if (!d->ck || !d->cv || !d->x || !d->logits || !d->mask)
            st = lmt_fail(LMT_ERR_NOMEM, CLS ": out of memory for %zu rows x %d positions", R, max_len);
    }
    if (st != LMT_OK) { lmt_marian_dec_free(d); return st; }
    *out = d;
    return LMT_OK;
}

lmt_status lmt_marian_dec_encode(lmt_marian_dec *d, const int32_t *input_ids, const int32_t *attention_mask) {
    if (!d || !input_ids) return lmt_fail(LMT_ERR_ARG, CLS ": missing argument");
    int B = d->B, Ts = d->Ts, Ne = B * Ts, C = d->C;
    /* one dummy target position: the forward needs one; its logits are unused */
    int32_t *dec0 = calloc((size_t)B, sizeof(int32_t));
    if (!dec0) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_status st = lmt_marian_forward(d->mt, LMT_I32, input_ids, attention_mask, dec0, NULL, B, Ts, 1, false);
    free(dec0);
    if (st != LMT_OK) return st;
    /* the uncached forward masks only when something is padded: do the same */
    d->masked = false;
    for (int n = 0; n < Ne; n++) {
        d->mask[n] = attention_mask ? attention_mask[n] != 0 : 1;
        d->masked |= !d->mask[n];
    }
    const float *enc = lmt_marian_encoder_output(d->mt);
    for (int l = 0; l < d->Ld; l++) {
        size_t off = (size_t)l * Ne * C;
        lmt_kv_layer_cross_project(&d->layers[l], enc, Ne, C, d->ck + off, d->cv + off);
    }
    d->len = 0;
    return LMT_OK;
}

lmt_status lmt_marian_dec_step(lmt_marian_dec *d, const int32_t *tokens, int pos, float **logits) {
    if (!d || !tokens || !logits) return lmt_fail(LMT_ERR_ARG, CLS ": missing argument");
    if (pos != d->len)
        return lmt_fail(LMT_ERR_ARG, CLS ": step at position %d but %d positions are cached", pos, d->len);
    if (pos >= d->L) return lmt_fail(LMT_ERR_ARG, CLS ": position %d beyond the %d the cache holds", pos, d->L);
    const int R = d->R, C = d->C, F = d->dims.F, Ne = d->B * d->Ts;
    for (int r = 0; r < R; r++)
        if (tokens[r] < 0 || tokens[r] >= d->V)
            return lmt_fail(LMT_ERR_ARG, CLS ": token %d of row %d is outside the decoder vocabulary (0..%d)", tokens[r],
                            r, d->V - 1);
    /* A step of a tiny model (the test fixtures) is microseconds of work per
     * kernel; an OpenMP fork/join per kernel then costs more than the work,
     * and far more when the cores are oversubscribed. Run such steps on one
     * thread (the caller's setting is restored below). */
    double macs = (double)R * ((double)d->Ld * (6.0 * C * C + 2.0 * C * F + (double)(pos + 1 + d->Ts) * C) +
                               (double)C * d->V);
    bool serial = macs < 4e6;
    int saved_threads = omp_get_max_threads();
    if (serial) omp_set_num_threads(1);
    d->work->threads = serial ? 1 : d->att_threads;
    lmt_embedding_forward(d->x, tokens, NULL, d->dec_embed, d->dec_pos + (size_t)pos * C, d->emb_scale, R, 1, C);
    /* cross attention: row r reads source r / rows_per_src's encoder keys */
    lmt_kv_keys cross = {.n = d->Ts, .ld = (size_t)C, .group_ld = (size_t)d->Ts * C, .share = d->nb,
                         .mask = d->masked ? d->mask : NULL};
    for (int l = 0; l < d->Ld; l++) {
        cross.k = d->ck + (size_t)l * Ne * C;
        cross.v = d->cv + (size_t)l * Ne * C;
        lmt_kv_layer_postln_forward(d->x, &d->layers[l], &d->dims, d->cache, l, pos, 1, &cross, d->work);
    }
    lmt_kv_linear_forward(d->logits, d->x, &d->head, R);   // (R, V)
    if (serial) omp_set_num_threads(saved_threads);
    d->len = pos + 1;
    *logits = d->logits;
    return LMT_OK;
}

lmt_status lmt_marian_dec_reorder(lmt_marian_dec *d, const int *src_rows) {
    if (!d || !src_rows) return lmt_fail(LMT_ERR_ARG, CLS ": missing argument");
    bool identity = true;
    for (int r = 0; r < d->R; r++) {
        if (src_rows[r] < 0 || src_rows[r] >= d->R)
            return lmt_fail(LMT_ERR_ARG, CLS ": reorder row %d from %d, outside 0..%d", r, src_rows[r], d->R - 1);
        if (src_rows[r] / d->nb != r / d->nb)   // the cross-attention keys/values are per source
            return lmt_fail(LMT_ERR_ARG, CLS ": reorder row %d from %d, a row of another source", r, src_rows[r]);
        identity &= src_rows[r] == r;
    }
    if (!identity) lmt_kv_cache_reorder(d->cache, src_rows, d->len);
    return LMT_OK;
}
