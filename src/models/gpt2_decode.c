/* Cached decoding of the decoder-only models (see gpt2_decode.h): GPT-2's
 * token and position embeddings, the pre-LN cached layers of
 * models/blocks/kv_layer.h over a one-row cache, ln_f and the tied head on
 * the last position; the Llama family's token embeddings, the same layers
 * with RMSNorm, rotary q / k, grouped-query attention and SwiGLU, the final
 * RMSNorm and lm_head (tied or not). */
#include "models/gpt2_decode.h"
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include "core/error.h"
#include "kernels/embedding.h"
#include "kernels/layernorm.h"
#include "kernels/matmul.h"
#include "models/blocks/kv_layer.h"
#include "models/llama.h"

struct lmt_gpt2_kv {
    int L, V, max_len, n;                 /* n: positions cached */
    lmt_kv_dims d;
    const float *wte, *wpe, *lnf_w, *lnf_b;   /* wpe, lnf_b: NULL for the Llama family */
    lmt_kv_layer *layers;                 /* (L) */
    lmt_kv_linear head;                   /* lm_head (V, C) (GPT-2: tied to wte) as an nn.Linear without bias */
    const float *head_w;
    float *rope;                          /* Llama family: cos, sin tables (max_len, hs / 2) each */
    const lmt_config *cfg;                /* the model's (per-layer sliding windows) */
    lmt_kv_cache *cache;                  /* (L, max_len, 1, C) */
    lmt_kv_work *work;                    /* one row */
    float *x, *ln, *logits, mean, rstd;   /* (C), (C), (V) */
};

/* The weights by layout slot (layout.c holds the HF names). */
static bool bind(lmt_model *m, lmt_gpt2_kv *kv, lmt_kv_layer_weights *w) {
    bool llama = lmt_arch_is_llama(m->cfg.arch);
    kv->wte = lmt_kv_slot(m, LMT_STACK_DECODER, -1, LMT_ROLE_TOK_EMB);
    kv->wpe = lmt_kv_slot(m, LMT_STACK_DECODER, -1, LMT_ROLE_POS_EMB);
    kv->lnf_w = lmt_kv_slot(m, LMT_STACK_DECODER, -1, LMT_ROLE_FINAL_LN_W);
    kv->lnf_b = lmt_kv_slot(m, LMT_STACK_DECODER, -1, LMT_ROLE_FINAL_LN_B);
    kv->head_w = lmt_kv_slot(m, LMT_STACK_NONE, -1, LMT_ROLE_HEAD_W);
    bool ok = kv->wte && kv->lnf_w && kv->head_w && (llama || (kv->wpe && kv->lnf_b));
    for (int l = 0; l < kv->L; l++)
        ok &= llama ? lmt_kv_bind_llama_layer(m, l, &w[l])
                    : lmt_kv_bind_layer(m, l, LMT_W_IN_OUT, true, false, &w[l]);   // Conv1D: (in, out)
    return ok;
}

/* The Llama family's rotary tables for positions 0..max_len-1. */
static lmt_status rope_tables(const lmt_config *c, lmt_gpt2_kv *kv) {
    size_t half = (size_t)kv->d.hs / 2;
    if (half > 2048) return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: head_dim %d is too large", c->source, kv->d.hs);
    if (!(kv->rope = malloc(2 * (size_t)kv->max_len * half * sizeof(float)))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    kv->d.rope_cos = kv->rope;
    kv->d.rope_sin = kv->rope + (size_t)kv->max_len * half;
    lmt_llama_rope_tables(&c->rope, kv->d.hs, c->max_positions, kv->max_len, kv->rope, kv->rope + (size_t)kv->max_len * half);
    return LMT_OK;
}

lmt_status lmt_gpt2_kv_create(lmt_model *m, int max_len, lmt_gpt2_kv **out) {
    *out = NULL;
    bool llama = lmt_arch_is_llama(m->cfg.arch);
    if (m->cfg.arch != LMT_ARCH_GPT2 && !llama)
        return lmt_fail(LMT_ERR_UNSUPPORTED, "key/value-cached generation needs a GPT-2 or Llama-family model");
    if (max_len < 1 || max_len > m->cfg.max_positions) return lmt_fail(LMT_ERR_ARG, "generation length %d outside 1..%lld positions", max_len, (long long)m->cfg.max_positions);
    lmt_gpt2_kv *kv = calloc(1, sizeof *kv);
    lmt_kv_layer_weights *w = calloc((size_t)m->cfg.n_layer + 1, sizeof *w);
    if (!kv || !w) { free(kv); free(w); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    const int C = (int)m->cfg.d_model, NH = (int)m->cfg.n_head;
    kv->L = (int)m->cfg.n_layer; kv->V = (int)m->cfg.vocab_size; kv->max_len = max_len;
    kv->d = (lmt_kv_dims){.C = C, .NH = NH, .F = (int)m->cfg.d_ff, .eps = (float)m->cfg.layer_norm_eps,
                          .scale = m->cfg.scale_attn_weights ? 1.0f / sqrtf((float)(C / NH)) : 1.0f, .act = m->cfg.act};
    if (llama)
        kv->d = (lmt_kv_dims){.C = C, .NH = NH, .F = (int)m->cfg.d_ff, .eps = (float)m->cfg.layer_norm_eps,
                              .scale = 1.0f / sqrtf((float)m->cfg.head_dim), .NKV = (int)m->cfg.n_kv_head,
                              .hs = (int)m->cfg.head_dim, .rms = true, .gated = true,
                              .window = (int)lmt_config_layer_window(&m->cfg, 0)};
    kv->cfg = &m->cfg;   // no window outside the Llama family
    lmt_status st = bind(m, kv, w) ? LMT_OK : lmt_fail(LMT_ERR_INTERNAL, "%s parameter missing from the layout", lmt_arch_class_name(m->cfg.arch));
    if (st == LMT_OK && llama) st = rope_tables(&m->cfg, kv);
    /* Under bf16 precision decoding streams every weight once per token: bf16 copies halve that. */
    unsigned copies = lmt_matmul_get_precision() == LMT_MATMUL_BF16 ? LMT_KV_COPY_BF16 : 0;
    if (st == LMT_OK) st = lmt_kv_layers_create(w, kv->L, &kv->d, copies, &kv->layers);
    if (st == LMT_OK) st = lmt_kv_linear_init(&kv->head, kv->head_w, NULL, LMT_W_OUT_IN, C, kv->V, copies);
    int width = llama ? (int)(m->cfg.n_kv_head * m->cfg.head_dim) : C;   // the cache: k / v heads
    if (st == LMT_OK) st = lmt_kv_cache_create(kv->L, max_len, 1, width, &kv->cache);
    int threads = omp_get_max_threads() > 0 ? omp_get_max_threads() : 1;
    if (st == LMT_OK) st = lmt_kv_work_create(1, &kv->d, max_len, threads, &kv->work);
    if (st == LMT_OK && !(kv->x = malloc(((size_t)2 * C + (size_t)kv->V) * sizeof(float))))
        st = lmt_fail(LMT_ERR_NOMEM, "out of memory for the key/value cache");
    free(w);
    if (st != LMT_OK) { lmt_gpt2_kv_free(kv); return st; }
    kv->ln = kv->x + C; kv->logits = kv->ln + C;
    *out = kv;
    return LMT_OK;
}

void lmt_gpt2_kv_free(lmt_gpt2_kv *kv) {
    if (!kv) return;
    lmt_kv_layers_free(kv->layers, kv->L);
    lmt_kv_linear_release(&kv->head);
    lmt_kv_cache_free(kv->cache);
    lmt_kv_work_free(kv->work);
    free(kv->x);
    free(kv->rope);
    free(kv);
}

int lmt_gpt2_kv_length(const lmt_gpt2_kv *kv) { return kv->n; }

/* Appends tokens[0..n) at the next positions; the logits of the last one. */
static lmt_status forward_rows(lmt_gpt2_kv *kv, const int32_t *tokens, int n, const float **logits) {
    if (n < 1) return lmt_fail(LMT_ERR_ARG, "no tokens to append");
    if (kv->n + n > kv->max_len) return lmt_fail(LMT_ERR_ARG, "the sequence reached its %d positions", kv->max_len);
    for (int r = 0; r < n; r++)
        if (tokens[r] < 0 || tokens[r] >= kv->V) return lmt_fail(LMT_ERR_ARG, "token id %d outside the vocabulary (%d)", tokens[r], kv->V);
    const int C = kv->d.C, p0 = kv->n;
    float *x = kv->x;
    lmt_kv_work *work = kv->work, *block = NULL;
    if (n > 1) {   /* the one-row buffers are too small: activations for the n rows of a prompt */
        x = malloc((size_t)n * C * sizeof(float));
        lmt_status st = x ? lmt_kv_work_create(n, &kv->d, kv->max_len, kv->work->threads, &block) : LMT_ERR_NOMEM;
        if (st != LMT_OK) { free(x); return lmt_fail(LMT_ERR_NOMEM, "out of memory for %d prompt tokens", n); }
        work = block;
    }
    lmt_embedding_forward(x, tokens, NULL, kv->wte, kv->wpe ? kv->wpe + (size_t)p0 * C : NULL, 1.0f, 1, n, C);   // (n, C)
    for (int l = 0; l < kv->L; l++) {
        lmt_kv_dims d = kv->d;   // Qwen2: the window on some layers only
        if (kv->cfg) d.window = (int)lmt_config_layer_window(kv->cfg, l);
        lmt_kv_layer_preln_forward(x, &kv->layers[l], &d, kv->cache, l, p0, n, work);
    }
    /* only the last position's logits are needed: ln_f, then logits (V) = lm_head (V, C) @ ln_f(x) */
    const float *last = x + (size_t)(n - 1) * C;
    if (kv->d.rms) lmt_rmsnorm_forward(kv->ln, &kv->rstd, last, kv->lnf_w, 1, C, kv->d.eps);
    else lmt_layernorm_forward(kv->ln, &kv->mean, &kv->rstd, last, kv->lnf_w, kv->lnf_b, 1, C, kv->d.eps);
    lmt_kv_linear_forward(kv->logits, kv->ln, &kv->head, 1);
    if (block) { free(x); lmt_kv_work_free(block); }
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
