/* BERT / RoBERTa / DistilBERT masked-LM forward and backward over the flat
 * parameter buffer. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "kernels/activation.h"
#include "kernels/crossentropy.h"
#include "kernels/dropout.h"
#include "kernels/embedding.h"
#include "kernels/layernorm.h"
#include "kernels/linear.h"
#include "kernels/zero.h"
#include "kernels/residual.h"
#include "kernels/rows.h"
#include "models/encoder_mlm.h"

/* Bump allocator over one block; every array starts on a 64-byte boundary. */
typedef struct { float *base; size_t used; } arena;

static float *take(arena *a, size_t n) {
    size_t start = a->used;
    a->used += (n + 15) & ~(size_t)15;
    return a->base ? a->base + start : NULL;
}

/* HF names of one architecture's modules. */
typedef struct {
    const char *emb;                 /* embeddings prefix */
    const char *layer;               /* layer prefix, %d = index */
    const char *q, *k, *v, *o, *ln1, *fc1, *fc2, *ln2;   /* per-layer module names */
    const char *head, *head_ln, *dec, *dec_bias;
} enc_names;

static const enc_names NAMES_BERT = {
    "bert.embeddings", "bert.encoder.layer.%d", "attention.self.query", "attention.self.key",
    "attention.self.value", "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense",
    "output.dense", "output.LayerNorm", "cls.predictions.transform.dense", "cls.predictions.transform.LayerNorm",
    "cls.predictions.decoder.weight", "cls.predictions.bias"};
static const enc_names NAMES_ROBERTA = {
    "roberta.embeddings", "roberta.encoder.layer.%d", "attention.self.query", "attention.self.key",
    "attention.self.value", "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense",
    "output.dense", "output.LayerNorm", "lm_head.dense", "lm_head.layer_norm", "lm_head.decoder.weight",
    "lm_head.bias"};
static const enc_names NAMES_DISTILBERT = {
    "distilbert.embeddings", "distilbert.transformer.layer.%d", "attention.q_lin", "attention.k_lin",
    "attention.v_lin", "attention.out_lin", "sa_layer_norm", "ffn.lin1", "ffn.lin2", "output_layer_norm",
    "vocab_transform", "vocab_layer_norm", "vocab_projector.weight", "vocab_projector.bias"};

static const enc_names *names_of(lmt_arch a) {
    return a == LMT_ARCH_BERT ? &NAMES_BERT : a == LMT_ARCH_ROBERTA ? &NAMES_ROBERTA : &NAMES_DISTILBERT;
}

static lmt_status bind(lmt_encoder_mlm *e, float *base, lmt_enc_params *p) {
    lmt_model *m = e->model;
    const enc_names *nm = names_of(e->arch);
    const char *src = m->cfg.source ? m->cfg.source : lmt_arch_name(e->arch);
    char name[200], pre[96];
#define BIND(dst, ...) do { snprintf(name, sizeof name, __VA_ARGS__); long i_ = lmt_layout_find(&m->layout, name); \
    if (i_ < 0) return lmt_fail(LMT_ERR_INTERNAL, "%s: %s layout lacks %s", src, lmt_arch_class_name(e->arch), name); \
    (dst) = base + m->layout.params[i_].offset; } while (0)
    BIND(p->wte, "%s.word_embeddings.weight", nm->emb);
    BIND(p->wpe, "%s.position_embeddings.weight", nm->emb);
    p->tte = NULL;
    if (e->TV > 0) BIND(p->tte, "%s.token_type_embeddings.weight", nm->emb);
    BIND(p->emb_ln_w, "%s.LayerNorm.weight", nm->emb);
    BIND(p->emb_ln_b, "%s.LayerNorm.bias", nm->emb);
    for (int l = 0; l < e->L; l++) {
        lmt_enc_layer *y = &p->layers[l];
        snprintf(pre, sizeof pre, nm->layer, l);
        BIND(y->q_w, "%s.%s.weight", pre, nm->q);
        BIND(y->q_b, "%s.%s.bias", pre, nm->q);
        BIND(y->k_w, "%s.%s.weight", pre, nm->k);
        BIND(y->k_b, "%s.%s.bias", pre, nm->k);
        BIND(y->v_w, "%s.%s.weight", pre, nm->v);
        BIND(y->v_b, "%s.%s.bias", pre, nm->v);
        BIND(y->o_w, "%s.%s.weight", pre, nm->o);
        BIND(y->o_b, "%s.%s.bias", pre, nm->o);
        BIND(y->ln1_w, "%s.%s.weight", pre, nm->ln1);
        BIND(y->ln1_b, "%s.%s.bias", pre, nm->ln1);
        BIND(y->fc1_w, "%s.%s.weight", pre, nm->fc1);
        BIND(y->fc1_b, "%s.%s.bias", pre, nm->fc1);
        BIND(y->fc2_w, "%s.%s.weight", pre, nm->fc2);
        BIND(y->fc2_b, "%s.%s.bias", pre, nm->fc2);
        BIND(y->ln2_w, "%s.%s.weight", pre, nm->ln2);
        BIND(y->ln2_b, "%s.%s.bias", pre, nm->ln2);
    }
    BIND(p->head_w, "%s.weight", nm->head);
    BIND(p->head_b, "%s.bias", nm->head);
    BIND(p->head_ln_w, "%s.weight", nm->head_ln);
    BIND(p->head_ln_b, "%s.bias", nm->head_ln);
    BIND(p->dec_w, "%s", nm->dec);
    BIND(p->dec_b, "%s", nm->dec_bias);
#undef BIND
    return LMT_OK;
}

static void plan(lmt_encoder_mlm *e, arena *a, bool with_grads) {
    size_t N = (size_t)e->max_B * e->max_T, C = e->C, F = e->F;
    e->emb_sum = take(a, N * C);
    e->emb = take(a, N * C);
    e->emb_mean = take(a, N);
    e->emb_rstd = take(a, N);
    for (int l = 0; l < e->L; l++) {
        lmt_enc_acts *x = &e->a[l];
        x->q = take(a, N * C);
        x->k = take(a, N * C);
        x->v = take(a, N * C);
        x->atty = take(a, N * C);
        x->att_lse = take(a, N * e->NH);
        x->res1 = take(a, N * C);
        x->h = take(a, N * C);
        x->h_mean = take(a, N);
        x->h_rstd = take(a, N);
        x->fch = take(a, N * F);
        x->fch_act = take(a, N * F);
        x->res2 = take(a, N * C);
        x->out = take(a, N * C);
        x->out_mean = take(a, N);
        x->out_rstd = take(a, N);
    }
    e->hd = take(a, N * C);
    e->hd_act = take(a, N * C);
    e->hln = take(a, N * C);
    e->hln_mean = take(a, N);
    e->hln_rstd = take(a, N);
    e->logits = take(a, N * e->V);
    e->losses = take(a, N);
    e->ce_lse = take(a, N);
    lmt_attention_shape s = {.Tq = e->max_T, .Tk = e->max_T, .threads = e->att_threads};
    e->att_scratch = take(a, lmt_attention_scratch_floats(&s));
    e->ids = (int32_t *)take(a, N);
    e->mask = (int32_t *)take(a, N);
    e->types = (int32_t *)take(a, N);
    e->pos = (int32_t *)take(a, N);
    e->targets = (int32_t *)take(a, N);
    e->head_rows = (int32_t *)take(a, N);
    e->head_x = take(a, N * C);
    if (with_grads) {
        e->dres = take(a, N * C);
        e->dbuf = take(a, N * C);
        e->dtmp = take(a, N * C);
        e->datt = take(a, N * C);
        e->dq = take(a, N * C);
        e->dk = take(a, N * C);
        e->dv = take(a, N * C);
        e->dF1 = take(a, N * F);
        e->dF2 = take(a, N * F);
    }
}

lmt_status lmt_encoder_mlm_create(lmt_model *m, int max_B, int max_T, bool with_grads, lmt_encoder_mlm **out) {
    *out = NULL;
    const lmt_config *c = &m->cfg;
    const char *src = c->source ? c->source : lmt_arch_name(c->arch);
    if (c->arch != LMT_ARCH_BERT && c->arch != LMT_ARCH_ROBERTA && c->arch != LMT_ARCH_DISTILBERT)
        return lmt_fail(LMT_ERR_ARG, "%s: not a masked-LM encoder (BERT, RoBERTa, DistilBERT) but %s", src,
                        lmt_arch_class_name(c->arch));
    /* RoBERTa's positions start after padding_idx: T tokens need T + pad + 1 rows */
    int64_t max_len = c->max_positions;
    if (c->arch == LMT_ARCH_ROBERTA) max_len -= c->pad_token_id + 1;
    if (c->arch == LMT_ARCH_ROBERTA && (c->pad_token_id < 0 || c->pad_token_id >= c->max_positions))
        return lmt_fail(LMT_ERR_FORMAT, "%s: pad_token_id %lld cannot be RoBERTa's padding_idx (max_position_embeddings %lld)",
                        src, (long long)c->pad_token_id, (long long)c->max_positions);
    if (max_B <= 0 || max_T <= 0 || max_T > max_len)
        return lmt_fail(LMT_ERR_ARG, "%s: batch %d x %d tokens: the sequence length must be 1..%lld", src, max_B, max_T,
                        (long long)max_len);
    if (c->n_head <= 0 || c->d_model % c->n_head)
        return lmt_fail(LMT_ERR_FORMAT, "%s: width %lld is not divisible by %lld heads", src, (long long)c->d_model,
                        (long long)c->n_head);
    double N = (double)max_B * max_T;
    double widest = fmax(fmax((double)c->vocab_size, (double)c->d_ff), (double)c->d_model);
    if (N * widest >= 2147483647.0 || (double)max_T * max_T * 4 >= 2147483647.0)
        return lmt_fail(LMT_ERR_ARG, "%s: batch %d x %d tokens is too large for this model", src, max_B, max_T);
    lmt_encoder_mlm *e = calloc(1, sizeof *e);
    if (!e) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    e->model = m;
    e->arch = c->arch;
    e->L = (int)c->n_layer;
    e->C = (int)c->d_model;
    e->NH = (int)c->n_head;
    e->F = (int)c->d_ff;
    e->V = (int)c->vocab_size;
    e->P = (int)c->max_positions;
    e->TV = c->arch == LMT_ARCH_DISTILBERT ? 0 : (int)c->type_vocab_size;
    e->max_B = max_B;
    e->max_T = max_T;
    e->pad_id = (int)c->pad_token_id;
    e->eps = (float)c->layer_norm_eps;
    e->p_embd = (float)c->embd_dropout;
    e->p_attn = (float)c->attn_dropout;
    e->p_resid = (float)c->dropout;
    e->attn_scale = 1.0f / sqrtf((float)(e->C / e->NH));
    e->drop_after_attn = c->arch != LMT_ARCH_DISTILBERT;
    e->act = c->act;
    e->head_act = c->arch == LMT_ARCH_ROBERTA ? LMT_ACT_GELU : c->act;
    e->loss = NAN;
    e->att_threads = omp_get_max_threads();
    lmt_rng_seed(&e->rng, 42);
    long ipos = -1;
    {
        char name[160];
        snprintf(name, sizeof name, "%s.position_embeddings.weight", names_of(e->arch)->emb);
        ipos = lmt_layout_find(&m->layout, name);
    }
    e->static_positions = ipos >= 0 && (m->layout.params[ipos].flags & LMT_PARAM_STATIC);
    e->w.layers = calloc((size_t)e->L + 1, sizeof(lmt_enc_layer));
    e->g.layers = calloc((size_t)e->L + 1, sizeof(lmt_enc_layer));
    e->a = calloc((size_t)e->L + 1, sizeof *e->a);
    e->seeds = calloc((size_t)(1 + 3 * e->L), sizeof *e->seeds);
    if (!e->w.layers || !e->g.layers || !e->a || !e->seeds) { lmt_encoder_mlm_free(e); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    lmt_status st = bind(e, m->params, &e->w);
    if (st != LMT_OK) { lmt_encoder_mlm_free(e); return st; }
    if (with_grads) {
        e->grads = lmt_aligned_alloc(m->layout.num_floats * sizeof(float));
        if (!e->grads) { lmt_encoder_mlm_free(e); return lmt_fail(LMT_ERR_NOMEM, "out of memory allocating gradients (%zu floats)", m->layout.num_floats); }
        memset(e->grads, 0, m->layout.num_floats * sizeof(float));
        bind(e, e->grads, &e->g);
    }
    arena a = {0};
    plan(e, &a, with_grads);
    if (a.used > SIZE_MAX / sizeof(float)) { lmt_encoder_mlm_free(e); return lmt_fail(LMT_ERR_NOMEM, "activations too large"); }
    e->act_mem = lmt_aligned_alloc(a.used * sizeof(float));
    if (!e->act_mem) {
        lmt_encoder_mlm_free(e);
        return lmt_fail(LMT_ERR_NOMEM, "out of memory allocating activations (%.1f MiB) for batch %d x %d", a.used * 4.0 / 1048576, max_B, max_T);
    }
    a = (arena){e->act_mem, 0};
    plan(e, &a, with_grads);
    *out = e;
    return LMT_OK;
}

void lmt_encoder_mlm_free(lmt_encoder_mlm *e) {
    if (!e) return;
    lmt_aligned_free(e->grads);
    lmt_aligned_free(e->act_mem);
    free(e->w.layers);
    free(e->g.layers);
    free(e->a);
    free(e->seeds);
    free(e);
}

void lmt_encoder_mlm_set_seed(lmt_encoder_mlm *e, uint64_t seed) { lmt_rng_seed(&e->rng, seed); }

void lmt_encoder_mlm_zero_grad(lmt_encoder_mlm *e) {
    if (e->grads) lmt_zero_floats(e->grads, e->model->layout.num_floats);
}

float *lmt_encoder_mlm_grad(lmt_encoder_mlm *e, const char *hf_name) {
    long i = lmt_layout_find(&e->model->layout, hf_name);
    return (i < 0 || !e->grads) ? NULL : e->grads + e->model->layout.params[i].offset;
}

static int64_t get_int(lmt_dtype t, const void *p, size_t i) {
    return t == LMT_I64 ? ((const int64_t *)p)[i] : ((const int32_t *)p)[i];
}

static lmt_status load_inputs(lmt_encoder_mlm *e, lmt_dtype t, const void *ids, const void *mask, const void *types,
                              const void *labels, int B, int T) {
    size_t N = (size_t)B * T;
    const char *cls = lmt_arch_class_name(e->arch);
    if (types && e->TV == 0) return lmt_fail(LMT_ERR_ARG, "%s: token_type_ids given to a model without token types", cls);
    for (size_t n = 0; n < N; n++) {
        int64_t v = get_int(t, ids, n);
        if (v < 0 || v >= e->V)
            return lmt_fail(LMT_ERR_ARG, "%s: input_ids[%zu][%zu] = %lld is outside the vocabulary (0..%d)", cls, n / T,
                            n % T, (long long)v, e->V - 1);
        e->ids[n] = (int32_t)v;
        e->mask[n] = mask ? get_int(t, mask, n) != 0 : 1;
        int64_t tt = types ? get_int(t, types, n) : 0;
        if (e->TV > 0 && (tt < 0 || tt >= e->TV))
            return lmt_fail(LMT_ERR_ARG, "%s: token_type_ids[%zu][%zu] = %lld is outside 0..%d (type_vocab_size)", cls,
                            n / T, n % T, (long long)tt, e->TV - 1);
        e->types[n] = (int32_t)tt;
    }
    /* position ids; RoBERTa counts non-padding tokens from padding_idx + 1
     * (create_position_ids_from_input_ids: from the ids, not the mask) */
    for (int b = 0; b < B; b++) {
        int32_t count = 0;
        for (int s = 0; s < T; s++) {
            size_t n = (size_t)b * T + s;
            if (e->arch == LMT_ARCH_ROBERTA) {
                bool real = e->ids[n] != e->pad_id;
                count += real;
                e->pos[n] = real ? count + e->pad_id : e->pad_id;
            } else {
                e->pos[n] = s;
            }
        }
    }
    e->has_mask = false;
    if (mask)
        for (size_t n = 0; n < N && !e->has_mask; n++) e->has_mask = !e->mask[n];
    e->has_labels = labels != NULL;
    e->n_targets = 0;
    if (labels) {
        for (size_t n = 0; n < N; n++) {
            int64_t v = get_int(t, labels, n);
            if (v != LMT_IGNORE_INDEX && (v < 0 || v >= e->V))
                return lmt_fail(LMT_ERR_ARG, "%s: labels[%zu][%zu] = %lld is outside the vocabulary (0..%d) and not -100",
                                cls, n / T, n % T, (long long)v, e->V - 1);
            e->targets[n] = (int32_t)v;
        }
    }
    return LMT_OK;
}

static lmt_attention_shape attn_shape(const lmt_encoder_mlm *e, int l) {
    lmt_attention_shape s = {
        .B = e->B, .NH = e->NH, .Tq = e->T, .Tk = e->T, .hs = e->C / e->NH,
        .ldq = e->C, .ldk = e->C, .ldv = e->C, .ldo = e->C,
        .scale = e->attn_scale, .causal = false, .key_mask = e->has_mask ? e->mask : NULL,
        .dropout = e->training ? e->p_attn : 0.0f, .seed = e->seeds[1 + 3 * l], .threads = e->att_threads,
    };
    return s;
}

lmt_status lmt_encoder_mlm_forward(lmt_encoder_mlm *e, lmt_dtype dtype, const void *input_ids,
                                   const void *attention_mask, const void *token_type_ids, const void *labels, int B,
                                   int T, bool training) {
    e->B = e->T = 0;
    e->has_labels = false;
    e->loss = NAN;
    const char *cls = lmt_arch_class_name(e->arch);
    if (dtype != LMT_I32 && dtype != LMT_I64) return lmt_fail(LMT_ERR_ARG, "%s: input ids must be int32 or int64", cls);
    if (!input_ids) return lmt_fail(LMT_ERR_ARG, "%s: no input_ids", cls);
    if (B <= 0 || T <= 0 || B > e->max_B || T > e->max_T)
        return lmt_fail(LMT_ERR_ARG, "%s: batch %d x %d exceeds the %d x %d the model was set up for", cls, B, T,
                        e->max_B, e->max_T);
    LMT_TRY(load_inputs(e, dtype, input_ids, attention_mask, token_type_ids, labels, B, T));
    e->B = B;
    e->T = T;
    e->training = training;
    int N = B * T, C = e->C, F = e->F, V = e->V;
    size_t NC = (size_t)N * C;
    float pr = training ? e->p_resid : 0.0f;
    for (int k = 0; k < 1 + 3 * e->L; k++) e->seeds[k] = training ? lmt_rng_u64(&e->rng) : 0;

    lmt_embedding_forward(e->emb_sum, e->ids, e->pos, e->w.wte, e->w.wpe, 1.0f, B, T, C);
    if (e->w.tte)
        for (int n = 0; n < N; n++) {
            float *o = e->emb_sum + (size_t)n * C;
            const float *t = e->w.tte + (size_t)e->types[n] * C;
            for (int c = 0; c < C; c++) o[c] += t[c];
        }
    lmt_layernorm_forward(e->emb, e->emb_mean, e->emb_rstd, e->emb_sum, e->w.emb_ln_w, e->w.emb_ln_b, N, C, e->eps);
    if (training) lmt_dropout_forward(e->emb, e->emb, NC, e->p_embd, e->seeds[0]);
    const float *x = e->emb;   // (N, C) layer input
    for (int l = 0; l < e->L; l++) {
        lmt_enc_layer *w = &e->w.layers[l];
        lmt_enc_acts *a = &e->a[l];
        lmt_linear_forward(a->q, x, w->q_w, w->q_b, N, C, C, LMT_W_OUT_IN);
        lmt_linear_forward(a->k, x, w->k_w, w->k_b, N, C, C, LMT_W_OUT_IN);
        lmt_linear_forward(a->v, x, w->v_w, w->v_b, N, C, C, LMT_W_OUT_IN);
        lmt_attention_shape s = attn_shape(e, l);
        lmt_attention_forward(a->atty, a->att_lse, a->q, a->k, a->v, &s, e->att_scratch);
        lmt_linear_forward(a->res1, a->atty, w->o_w, w->o_b, N, C, C, LMT_W_OUT_IN);
        if (pr > 0.0f && e->drop_after_attn) lmt_dropout_forward(a->res1, a->res1, NC, pr, e->seeds[2 + 3 * l]);
        lmt_residual_forward(a->res1, a->res1, x, NC);
        lmt_layernorm_forward(a->h, a->h_mean, a->h_rstd, a->res1, w->ln1_w, w->ln1_b, N, C, e->eps);
        lmt_linear_forward(a->fch, a->h, w->fc1_w, w->fc1_b, N, C, F, LMT_W_OUT_IN);
        lmt_activation_forward(a->fch_act, a->fch, (size_t)N * F, e->act);
        lmt_linear_forward(a->res2, a->fch_act, w->fc2_w, w->fc2_b, N, F, C, LMT_W_OUT_IN);
        if (pr > 0.0f) lmt_dropout_forward(a->res2, a->res2, NC, pr, e->seeds[3 + 3 * l]);
        lmt_residual_forward(a->res2, a->res2, a->h, NC);
        lmt_layernorm_forward(a->out, a->out_mean, a->out_rstd, a->res2, w->ln2_w, w->ln2_b, N, C, e->eps);
        x = a->out;
    }
    /* the head: on every row, or (loss_only) on the labelled rows gathered */
    int M = N;
    const float *hx = x;
    if (e->loss_only && e->has_labels) {
        M = lmt_rows_gather_labelled(e->head_x, e->head_rows, e->targets, x, N, C);
        hx = e->head_x;
    }
    e->n_head = M;
    size_t MC = (size_t)M * C;
    if (M > 0) {
        lmt_linear_forward(e->hd, hx, e->w.head_w, e->w.head_b, M, C, C, LMT_W_OUT_IN);
        lmt_activation_forward(e->hd_act, e->hd, MC, e->head_act);
        lmt_layernorm_forward(e->hln, e->hln_mean, e->hln_rstd, e->hd_act, e->w.head_ln_w, e->w.head_ln_b, M, C, e->eps);
        lmt_linear_forward(e->logits, e->hln, e->w.dec_w, e->w.dec_b, M, C, V, LMT_W_OUT_IN);
    }
    if (e->has_labels) {
        e->n_targets = M > 0 ? lmt_crossentropy_forward(e->losses, e->ce_lse, e->logits, e->targets, M, V) : 0;
        double sum = 0.0;
        for (int n = 0; n < M; n++) sum += e->losses[n];
        e->loss = e->n_targets ? (float)(sum / (double)e->n_targets) : NAN;
    }
    return LMT_OK;
}

/* d(x) -> d(dropout input): the same buffer when dropout was off. */
static const float *drop_back(lmt_encoder_mlm *e, const float *d, size_t n, float p, uint64_t seed) {
    if (p <= 0.0f) return d;
    memset(e->dtmp, 0, n * sizeof(float));
    lmt_dropout_backward(e->dtmp, d, n, p, seed);
    return e->dtmp;
}

lmt_status lmt_encoder_mlm_backward_scaled(lmt_encoder_mlm *e, float scale) {
    const char *cls = lmt_arch_class_name(e->arch);
    if (!e->grads) return lmt_fail(LMT_ERR_ARG, "%s: backward on a model set up without gradients", cls);
    if (!e->has_labels || e->B == 0) return lmt_fail(LMT_ERR_ARG, "%s: backward needs a forward with labels", cls);
    int B = e->B, T = e->T, N = B * T, C = e->C, F = e->F, V = e->V;
    size_t NC = (size_t)N * C, NF = (size_t)N * F;
    float pr = e->training ? e->p_resid : 0.0f;
    lmt_enc_params *w = &e->w, *g = &e->g;

    /* the head's M rows (all N, or the labelled rows the forward gathered) */
    int M = e->n_head;
    bool gathered = e->loss_only;   // the forward gathered the labelled rows (backward needs labels)
    size_t MC = (size_t)M * C;
    const float *xL = e->L ? e->a[e->L - 1].out : e->emb;
    memset(e->dres, 0, NC * sizeof(float));
    if (M > 0) {
        lmt_crossentropy_backward(e->logits, e->logits, e->ce_lse, e->targets, scale, M, V);   // in place
        lmt_linear_backward_set(e->dbuf, g->dec_w, g->dec_b, e->logits, e->hln, w->dec_w, M, C, V, LMT_W_OUT_IN);
        memset(e->dtmp, 0, MC * sizeof(float));
        lmt_layernorm_backward(e->dtmp, g->head_ln_w, g->head_ln_b, e->dbuf, e->hd_act, w->head_ln_w, e->hln_mean,
                               e->hln_rstd, M, C);
        memset(e->dbuf, 0, MC * sizeof(float));
        lmt_activation_backward(e->dbuf, e->dtmp, e->hd, MC, e->head_act);
        if (gathered) {   // d(head input) of the labelled rows, scattered back; the others stay 0
            lmt_linear_backward_set(e->dtmp, g->head_w, g->head_b, e->dbuf, e->head_x, w->head_w, M, C, C, LMT_W_OUT_IN);
            lmt_rows_scatter(e->dres, e->dtmp, e->head_rows, M, C);
        } else {
            lmt_linear_backward(e->dres, g->head_w, g->head_b, e->dbuf, xL, w->head_w, N, C, C, LMT_W_OUT_IN);
        }
    }

    for (int l = e->L - 1; l >= 0; l--) {
        lmt_enc_layer *wl = &w->layers[l], *gl = &g->layers[l];
        lmt_enc_acts *a = &e->a[l];
        const float *x = l ? e->a[l - 1].out : e->emb;
        /* e->dres holds d(out): through LN_2 to d(res2) = d(h) + d(FFN output) */
        memset(e->dbuf, 0, NC * sizeof(float));
        lmt_layernorm_backward(e->dbuf, gl->ln2_w, gl->ln2_b, e->dres, a->res2, wl->ln2_w, a->out_mean, a->out_rstd, N, C);
        memcpy(e->dres, e->dbuf, NC * sizeof(float));   // d(h), FFN part added below
        const float *dy = drop_back(e, e->dbuf, NC, pr, e->seeds[3 + 3 * l]);
        memset(e->dF1, 0, NF * sizeof(float));
        lmt_linear_backward(e->dF1, gl->fc2_w, gl->fc2_b, dy, a->fch_act, wl->fc2_w, N, F, C, LMT_W_OUT_IN);
        memset(e->dF2, 0, NF * sizeof(float));
        lmt_activation_backward(e->dF2, e->dF1, a->fch, NF, e->act);
        lmt_linear_backward(e->dres, gl->fc1_w, gl->fc1_b, e->dF2, a->h, wl->fc1_w, N, C, F, LMT_W_OUT_IN);
        /* e->dres holds d(h): through LN_1 to d(res1) = d(x) + d(attention output) */
        memset(e->dbuf, 0, NC * sizeof(float));
        lmt_layernorm_backward(e->dbuf, gl->ln1_w, gl->ln1_b, e->dres, a->res1, wl->ln1_w, a->h_mean, a->h_rstd, N, C);
        memcpy(e->dres, e->dbuf, NC * sizeof(float));   // d(x), attention part added below
        dy = e->drop_after_attn ? drop_back(e, e->dbuf, NC, pr, e->seeds[2 + 3 * l]) : e->dbuf;
        memset(e->datt, 0, NC * sizeof(float));
        lmt_linear_backward(e->datt, gl->o_w, gl->o_b, dy, a->atty, wl->o_w, N, C, C, LMT_W_OUT_IN);
        memset(e->dq, 0, NC * sizeof(float));
        memset(e->dk, 0, NC * sizeof(float));
        memset(e->dv, 0, NC * sizeof(float));
        lmt_attention_shape s = attn_shape(e, l);
        lmt_attention_backward(e->dq, e->dk, e->dv, e->datt, a->att_lse, a->q, a->k, a->v, &s, e->att_scratch);
        lmt_linear_backward(e->dres, gl->q_w, gl->q_b, e->dq, x, wl->q_w, N, C, C, LMT_W_OUT_IN);
        lmt_linear_backward(e->dres, gl->k_w, gl->k_b, e->dk, x, wl->k_w, N, C, C, LMT_W_OUT_IN);
        lmt_linear_backward(e->dres, gl->v_w, gl->v_b, e->dv, x, wl->v_w, N, C, C, LMT_W_OUT_IN);
    }
    /* e->dres holds d(emb after dropout) */
    const float *de = drop_back(e, e->dres, NC, e->training ? e->p_embd : 0.0f, e->seeds[0]);
    memset(e->dbuf, 0, NC * sizeof(float));
    lmt_layernorm_backward(e->dbuf, g->emb_ln_w, g->emb_ln_b, de, e->emb_sum, w->emb_ln_w, e->emb_mean, e->emb_rstd, N, C);
    /* nn.Embedding(padding_idx=pad) gives its padding row no gradient (a pad
     * token can be attended: the collator's random replacement draws it); the
     * tied decoder's share of that row stays. RoBERTa's position table has the
     * same padding_idx. e->dtmp and e->dq are free once the LayerNorm backward is done. */
    bool keep_w = e->pad_id >= 0 && e->pad_id < e->V;
    bool keep_p = e->arch == LMT_ARCH_ROBERTA && !e->static_positions && e->pad_id >= 0 && e->pad_id < e->P;
    float *saved = e->dtmp, *saved_p = e->dq;
    if (keep_w) memcpy(saved, g->wte + (size_t)e->pad_id * C, (size_t)C * sizeof(float));
    if (keep_p) memcpy(saved_p, g->wpe + (size_t)e->pad_id * C, (size_t)C * sizeof(float));
    lmt_embedding_backward(g->wte, e->static_positions ? NULL : g->wpe, e->dbuf, e->ids, e->pos, 1.0f, B, T, C);
    if (keep_w) memcpy(g->wte + (size_t)e->pad_id * C, saved, (size_t)C * sizeof(float));
    if (keep_p) memcpy(g->wpe + (size_t)e->pad_id * C, saved_p, (size_t)C * sizeof(float));
    if (g->tte)
        for (int n = 0; n < N; n++) {
            const float *d = e->dbuf + (size_t)n * C;
            float *t = g->tte + (size_t)e->types[n] * C;
            for (int c = 0; c < C; c++) t[c] += d[c];
        }
    e->has_labels = false;   // logits now hold their gradient
    return LMT_OK;
}

lmt_status lmt_encoder_mlm_backward(lmt_encoder_mlm *e) {
    float scale = e->n_targets > 0 ? 1.0f / (float)e->n_targets : 0.0f;
    return lmt_encoder_mlm_backward_scaled(e, scale);
}
