#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "generate/gpt2_kv.h"
#include "kernels/activation.h"
#include "kernels/layernorm.h"
#include "kernels/linear.h"
#include "kernels/matmul.h"
#include "kernels/parallel.h"

typedef struct { const float *ln1w, *ln1b, *aw, *ab, *pw, *pb, *ln2w, *ln2b, *fw, *fb, *mw, *mb; } layer_w;
/* bf16 copies of a layer's matrices (NULL in fp32) */
typedef struct { uint16_t *aw, *pw, *fw, *mw; } layer_w16;

struct lmt_gpt2_kv {
    lmt_model *m;
    int L, C, NH, F, V, max_len, n;
    float eps, scale;
    lmt_activation act;
    const float *wte, *wpe, *lnfw, *lnfb;
    layer_w *w;
    layer_w16 *w16;                       /* bf16 mode: the matrices at half the bytes */
    uint16_t *wte16;
    float *kc, *vc;                       /* (L, max_len, C) */
    float *x, *ln, *qkv, *att, *tmp, *fc, *fca, *logits, *mean, *rstd;
    float *scores;                        /* (threads, max_len): one row of attention weights per thread */
    int threads;
};

static const float *W(lmt_model *m, const char *fmt, int l, bool *ok) {
    char name[128];
    snprintf(name, sizeof name, fmt, l);
    float *p = lmt_model_tensor(m, name);
    if (!p) *ok = false;
    return p;
}

/* out (OC) = x (IC) W + b for a Conv1D weight (IC, OC), from its bf16 copy
 * when there is one. */
static void row_linear(float *out, const float *x, const float *w, const uint16_t *w16, const float *b, int IC, int OC) {
    if (!w16) { lmt_linear_forward(out, x, w, b, 1, IC, OC, LMT_W_IN_OUT); return; }
    lmt_gemv_bf16(OC, IC, 1.0f, x, w16, 0.0f, out);
    for (int o = 0; o < OC; o++) out[o] += b[o];
}

lmt_status lmt_gpt2_kv_create(lmt_model *m, int max_len, lmt_gpt2_kv **out) {
    *out = NULL;
    if (m->cfg.arch != LMT_ARCH_GPT2) return lmt_fail(LMT_ERR_UNSUPPORTED, "key/value-cached generation needs a GPT-2 model");
    if (max_len < 1 || max_len > m->cfg.max_positions) return lmt_fail(LMT_ERR_ARG, "generation length %d outside 1..%lld positions", max_len, (long long)m->cfg.max_positions);
    lmt_gpt2_kv *kv = calloc(1, sizeof *kv);
    if (!kv) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    kv->m = m;
    kv->L = (int)m->cfg.n_layer; kv->C = (int)m->cfg.d_model; kv->NH = (int)m->cfg.n_head;
    kv->F = (int)m->cfg.d_ff; kv->V = (int)m->cfg.vocab_size; kv->max_len = max_len;
    kv->eps = (float)m->cfg.layer_norm_eps;
    kv->act = m->cfg.act;
    kv->scale = m->cfg.scale_attn_weights ? 1.0f / sqrtf((float)(kv->C / kv->NH)) : 1.0f;
    bool ok = true;
    kv->wte = W(m, "transformer.wte.weight", 0, &ok);
    kv->wpe = W(m, "transformer.wpe.weight", 0, &ok);
    kv->lnfw = W(m, "transformer.ln_f.weight", 0, &ok);
    kv->lnfb = W(m, "transformer.ln_f.bias", 0, &ok);
    kv->w = calloc((size_t)kv->L, sizeof *kv->w);
    size_t C = (size_t)kv->C;
    kv->kc = malloc((size_t)kv->L * (size_t)max_len * C * sizeof(float));
    kv->vc = malloc((size_t)kv->L * (size_t)max_len * C * sizeof(float));
    kv->threads = omp_get_max_threads() > 0 ? omp_get_max_threads() : 1;
    size_t scratch = C * 7 + (size_t)kv->F * 2 + (size_t)kv->V + 2;
    kv->x = malloc(scratch * sizeof(float));
    kv->scores = malloc((size_t)kv->threads * (size_t)max_len * sizeof(float));
    if (!kv->w || !kv->kc || !kv->vc || !kv->x || !kv->scores) { lmt_gpt2_kv_free(kv); return lmt_fail(LMT_ERR_NOMEM, "out of memory for the key/value cache"); }
    kv->ln = kv->x + C; kv->qkv = kv->ln + C; kv->att = kv->qkv + 3 * C; kv->tmp = kv->att + C;
    kv->fc = kv->tmp + C; kv->fca = kv->fc + kv->F; kv->logits = kv->fca + kv->F;
    kv->mean = kv->logits + kv->V; kv->rstd = kv->mean + 1;
    for (int l = 0; l < kv->L; l++) {
        layer_w *w = &kv->w[l];
        w->ln1w = W(m, "transformer.h.%d.ln_1.weight", l, &ok); w->ln1b = W(m, "transformer.h.%d.ln_1.bias", l, &ok);
        w->aw = W(m, "transformer.h.%d.attn.c_attn.weight", l, &ok); w->ab = W(m, "transformer.h.%d.attn.c_attn.bias", l, &ok);
        w->pw = W(m, "transformer.h.%d.attn.c_proj.weight", l, &ok); w->pb = W(m, "transformer.h.%d.attn.c_proj.bias", l, &ok);
        w->ln2w = W(m, "transformer.h.%d.ln_2.weight", l, &ok); w->ln2b = W(m, "transformer.h.%d.ln_2.bias", l, &ok);
        w->fw = W(m, "transformer.h.%d.mlp.c_fc.weight", l, &ok); w->fb = W(m, "transformer.h.%d.mlp.c_fc.bias", l, &ok);
        w->mw = W(m, "transformer.h.%d.mlp.c_proj.weight", l, &ok); w->mb = W(m, "transformer.h.%d.mlp.c_proj.bias", l, &ok);
    }
    if (!ok) { lmt_gpt2_kv_free(kv); return lmt_fail(LMT_ERR_INTERNAL, "GPT-2 parameter missing from the layout"); }
    if (lmt_matmul_get_precision() == LMT_MATMUL_BF16) {
        /* decoding streams every weight once per token: bf16 copies halve that */
        kv->w16 = calloc((size_t)kv->L, sizeof *kv->w16);
        kv->wte16 = lmt_bf16_cols_pack(true, kv->wte, kv->C, kv->V, kv->C);   /* tied head: wte^T */
        bool got = kv->w16 && kv->wte16;
        for (int l = 0; got && l < kv->L; l++) {
            layer_w16 *h = &kv->w16[l];
            h->aw = lmt_bf16_cols_pack(false, kv->w[l].aw, 3 * kv->C, 3 * kv->C, kv->C);
            h->pw = lmt_bf16_cols_pack(false, kv->w[l].pw, kv->C, kv->C, kv->C);
            h->fw = lmt_bf16_cols_pack(false, kv->w[l].fw, kv->F, kv->F, kv->C);
            h->mw = lmt_bf16_cols_pack(false, kv->w[l].mw, kv->C, kv->C, kv->F);
            got = h->aw && h->pw && h->fw && h->mw;
        }
        if (!got) { lmt_gpt2_kv_free(kv); return lmt_fail(LMT_ERR_NOMEM, "out of memory for the bf16 weight copies"); }
    }
    *out = kv;
    return LMT_OK;
}

void lmt_gpt2_kv_free(lmt_gpt2_kv *kv) {
    if (!kv) return;
    if (kv->w16)
        for (int l = 0; l < kv->L; l++) { free(kv->w16[l].aw); free(kv->w16[l].pw); free(kv->w16[l].fw); free(kv->w16[l].mw); }
    free(kv->w16); free(kv->wte16);
    free(kv->w); free(kv->kc); free(kv->vc); free(kv->x); free(kv->scores);
    free(kv);
}

int lmt_gpt2_kv_length(const lmt_gpt2_kv *kv) { return kv->n; }

/* Attention of one query row at position p over the cached keys/values 0..p
 * of layer l: out (C). The heads are split between the threads once the
 * cache is long enough to pay for it (each thread its own weights row). */
static void attend_row(lmt_gpt2_kv *kv, const float *kc, const float *vc, const float *q_row, int p, float *out) {
    const int C = kv->C, NH = kv->NH, hs = C / NH;
#pragma omp parallel for schedule(static) num_threads(kv->threads) if ((long)(p + 1) * C >= LMT_PAR_MIN / 8)
    for (int h = 0; h < NH; h++) {
        float *sc = kv->scores + (size_t)omp_get_thread_num() * kv->max_len;
        const float *q = q_row + h * hs;
        float mx = -INFINITY;
        for (int j = 0; j <= p; j++) {
            const float *k = kc + (size_t)j * C + h * hs;
            float s = 0;
#pragma omp simd reduction(+:s)
            for (int d = 0; d < hs; d++) s += q[d] * k[d];
            sc[j] = s * kv->scale;
            if (sc[j] > mx) mx = sc[j];
        }
        float z = 0;
        for (int j = 0; j <= p; j++) { sc[j] = expf(sc[j] - mx); z += sc[j]; }
        float *o = out + h * hs;
        for (int d = 0; d < hs; d++) o[d] = 0;
        for (int j = 0; j <= p; j++) {
            const float *v = vc + (size_t)j * C + h * hs;
            const float a = sc[j] / z;
#pragma omp simd
            for (int d = 0; d < hs; d++) o[d] += a * v[d];
        }
    }
}

/* out (n, OC) = x (n, IC) W + b: one row from the bf16 copy when there is
 * one, several rows as one matrix product (the prompt). */
static void rows_linear(float *out, const float *x, const float *w, const uint16_t *w16, const float *b, int n, int IC, int OC) {
    if (n == 1) row_linear(out, x, w, w16, b, IC, OC);
    else lmt_linear_forward(out, x, w, b, n, IC, OC, LMT_W_IN_OUT);
}

/* Appends tokens[0..n) at the next positions; the logits of the last one. */
static lmt_status forward_rows(lmt_gpt2_kv *kv, const int32_t *tokens, int n, const float **logits) {
    if (n < 1) return lmt_fail(LMT_ERR_ARG, "no tokens to append");
    if (kv->n + n > kv->max_len) return lmt_fail(LMT_ERR_ARG, "the sequence reached its %d positions", kv->max_len);
    for (int r = 0; r < n; r++)
        if (tokens[r] < 0 || tokens[r] >= kv->V) return lmt_fail(LMT_ERR_ARG, "token id %d outside the vocabulary (%d)", tokens[r], kv->V);
    const int C = kv->C, F = kv->F, p0 = kv->n;
    float *x = kv->x, *ln = kv->ln, *qkv = kv->qkv, *att = kv->att, *tmp = kv->tmp, *fc = kv->fc, *fca = kv->fca,
          *mean = kv->mean, *rstd = kv->rstd, *block = NULL;
    if (n > 1) {   /* the one-row scratch is too small: a block for the n rows */
        block = malloc(((size_t)n * (7 * (size_t)C + 2 * (size_t)F) + 2 * (size_t)n) * sizeof(float));
        if (!block) return lmt_fail(LMT_ERR_NOMEM, "out of memory for %d prompt tokens", n);
        x = block; ln = x + (size_t)n * C; qkv = ln + (size_t)n * C; att = qkv + (size_t)n * 3 * C;
        tmp = att + (size_t)n * C; fc = tmp + (size_t)n * C; fca = fc + (size_t)n * F;
        mean = fca + (size_t)n * F; rstd = mean + n;
    }
    for (int r = 0; r < n; r++)
        for (int i = 0; i < C; i++) x[(size_t)r * C + i] = kv->wte[(size_t)tokens[r] * C + i] + kv->wpe[(size_t)(p0 + r) * C + i];
    for (int l = 0; l < kv->L; l++) {
        const layer_w *w = &kv->w[l];
        const layer_w16 *w16 = kv->w16 ? &kv->w16[l] : &(layer_w16){0};
        float *kc = kv->kc + ((size_t)l * kv->max_len) * C, *vc = kv->vc + ((size_t)l * kv->max_len) * C;
        lmt_layernorm_forward(ln, mean, rstd, x, w->ln1w, w->ln1b, n, C, kv->eps);
        rows_linear(qkv, ln, w->aw, w16->aw, w->ab, n, C, 3 * C);   // (n, 3C)
        for (int r = 0; r < n; r++) {
            memcpy(kc + (size_t)(p0 + r) * C, qkv + (size_t)r * 3 * C + C, (size_t)C * sizeof(float));
            memcpy(vc + (size_t)(p0 + r) * C, qkv + (size_t)r * 3 * C + 2 * C, (size_t)C * sizeof(float));
        }
        for (int r = 0; r < n; r++) attend_row(kv, kc, vc, qkv + (size_t)r * 3 * C, p0 + r, att + (size_t)r * C);
        rows_linear(tmp, att, w->pw, w16->pw, w->pb, n, C, C);
        for (size_t i = 0; i < (size_t)n * C; i++) x[i] += tmp[i];
        lmt_layernorm_forward(ln, mean, rstd, x, w->ln2w, w->ln2b, n, C, kv->eps);
        rows_linear(fc, ln, w->fw, w16->fw, w->fb, n, C, F);
        lmt_activation_forward(fca, fc, (size_t)n * F, kv->act);
        rows_linear(tmp, fca, w->mw, w16->mw, w->mb, n, F, C);
        for (size_t i = 0; i < (size_t)n * C; i++) x[i] += tmp[i];
    }
    const float *last = x + (size_t)(n - 1) * C;   /* only the last position's logits are needed */
    lmt_layernorm_forward(kv->ln, kv->mean, kv->rstd, last, kv->lnfw, kv->lnfb, 1, C, kv->eps);
    /* tied head: logits (V) = wte (V, C) @ ln_f(x) */
    if (kv->wte16) lmt_gemv_bf16(kv->V, C, 1.0f, kv->ln, kv->wte16, 0.0f, kv->logits);
    else lmt_sgemm(false, true, 1, kv->V, C, 1.0f, kv->ln, C, kv->wte, C, 0.0f, kv->logits, kv->V);
    free(block);
    kv->n += n;
    *logits = kv->logits;
    return LMT_OK;
}

lmt_status lmt_gpt2_kv_step(lmt_gpt2_kv *kv, int32_t token, const float **logits) {
    return forward_rows(kv, &token, 1, logits);
}

lmt_status lmt_gpt2_kv_prefill(lmt_gpt2_kv *kv, const int32_t *tokens, int n, const float **logits) {
    return forward_rows(kv, tokens, n, logits);
}
