/* MarianMTModel forward and backward over the flat parameter buffer. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "kernels/activation.h"
#include "kernels/crossentropy.h"
#include "kernels/rows.h"
#include "kernels/dropout.h"
#include "kernels/embedding.h"
#include "kernels/layernorm.h"
#include "kernels/linear.h"
#include "kernels/zero.h"
#include "kernels/residual.h"
#include "models/marian.h"

#define CLS "MarianMTModel"

/* Bump allocator over one block; every array starts on a 64-byte boundary. */
typedef struct { float *base; size_t used; } arena;

static float *take(arena *a, size_t n) {
    size_t start = a->used;
    a->used += (n + 15) & ~(size_t)15;
    return a->base ? a->base + start : NULL;
}

static lmt_status bind(lmt_marian *mt, float *base, lmt_marian_params *p) {
    lmt_model *m = mt->model;
    const char *src = m->cfg.source ? m->cfg.source : "marian";
    char name[200];
#define BIND(dst, ...) do { snprintf(name, sizeof name, __VA_ARGS__); long i_ = lmt_layout_find(&m->layout, name); \
    if (i_ < 0) return lmt_fail(LMT_ERR_INTERNAL, "%s: " CLS " layout lacks %s", src, name); \
    (dst) = base + m->layout.params[i_].offset; } while (0)
#define BIND_LIN(dst, pre, mod) do { BIND((dst##_w), "%s.%s.weight", pre, mod); BIND((dst##_b), "%s.%s.bias", pre, mod); } while (0)
    /* Through the aliases these are all model.shared when the embeddings are
     * shared; otherwise encoder.embed_tokens, decoder.embed_tokens and
     * lm_head (itself an alias of decoder.embed_tokens when tied). */
    BIND(p->shared, "model.encoder.embed_tokens.weight");
    BIND(p->dec_embed, "model.decoder.embed_tokens.weight");
    BIND(p->lm_head, "lm_head.weight");
    BIND(p->enc_pos, "model.encoder.embed_positions.weight");
    BIND(p->dec_pos, "model.decoder.embed_positions.weight");
    BIND(p->logits_bias, "final_logits_bias");
    for (int side = 0; side < 2; side++) {
        int L = side ? mt->Ld : mt->Le;
        for (int l = 0; l < L; l++) {
            lmt_marian_layer *y = side ? &p->dec[l] : &p->enc[l];
            char pre[96];
            snprintf(pre, sizeof pre, "model.%s.layers.%d", side ? "decoder" : "encoder", l);
            BIND_LIN(y->self.q, pre, "self_attn.q_proj");
            BIND_LIN(y->self.k, pre, "self_attn.k_proj");
            BIND_LIN(y->self.v, pre, "self_attn.v_proj");
            BIND_LIN(y->self.o, pre, "self_attn.out_proj");
            BIND_LIN(y->self.ln, pre, "self_attn_layer_norm");
            if (side) {
                BIND_LIN(y->cross.q, pre, "encoder_attn.q_proj");
                BIND_LIN(y->cross.k, pre, "encoder_attn.k_proj");
                BIND_LIN(y->cross.v, pre, "encoder_attn.v_proj");
                BIND_LIN(y->cross.o, pre, "encoder_attn.out_proj");
                BIND_LIN(y->cross.ln, pre, "encoder_attn_layer_norm");
            }
            BIND_LIN(y->fc1, pre, "fc1");
            BIND_LIN(y->fc2, pre, "fc2");
            BIND_LIN(y->ln, pre, "final_layer_norm");
        }
    }
#undef BIND_LIN
#undef BIND
    return LMT_OK;
}

static void plan_attn(arena *a, lmt_marian_attn_acts *x, size_t Nq, size_t Nk, size_t C, size_t NH) {
    x->q = take(a, Nq * C);
    x->k = take(a, Nk * C);
    x->v = take(a, Nk * C);
    x->atty = take(a, Nq * C);
    x->lse = take(a, Nq * NH);
    x->res = take(a, Nq * C);
    x->out = take(a, Nq * C);
    x->mean = take(a, Nq);
    x->rstd = take(a, Nq);
}

static void plan_ffn(arena *a, lmt_marian_acts *x, size_t N, size_t C, size_t F) {
    x->fch = take(a, N * F);
    x->fch_act = take(a, N * F);
    x->res = take(a, N * C);
    x->out = take(a, N * C);
    x->mean = take(a, N);
    x->rstd = take(a, N);
}

static void plan(lmt_marian *mt, arena *a, bool with_grads) {
    size_t Ne = (size_t)mt->max_B * mt->max_Ts, Nd = (size_t)mt->max_B * mt->max_Tt, C = mt->C;
    size_t Nmax = Ne > Nd ? Ne : Nd, Fmax = mt->Fe > mt->Fd ? mt->Fe : mt->Fd;
    mt->enc_emb = take(a, Ne * C);
    mt->dec_emb = take(a, Nd * C);
    for (int l = 0; l < mt->Le; l++) {
        plan_attn(a, &mt->ea[l].self, Ne, Ne, C, mt->NHe);
        plan_ffn(a, &mt->ea[l], Ne, C, mt->Fe);
    }
    for (int l = 0; l < mt->Ld; l++) {
        plan_attn(a, &mt->da[l].self, Nd, Nd, C, mt->NHd);
        plan_attn(a, &mt->da[l].cross, Nd, Ne, C, mt->NHd);
        plan_ffn(a, &mt->da[l], Nd, C, mt->Fd);
    }
    mt->logits = take(a, Nd * mt->Vd);
    mt->losses = take(a, Nd);
    mt->ce_lse = take(a, Nd);
    int Tm = mt->max_Ts > mt->max_Tt ? mt->max_Ts : mt->max_Tt;
    lmt_attention_shape s = {.Tq = Tm, .Tk = Tm, .threads = mt->att_threads};
    mt->att_scratch = take(a, lmt_attention_scratch_floats(&s));
    mt->src_ids = (int32_t *)take(a, Ne);
    mt->mask = (int32_t *)take(a, Ne);
    mt->dec_ids = (int32_t *)take(a, Nd);
    mt->targets = (int32_t *)take(a, Nd);
    mt->head_rows = (int32_t *)take(a, Nd);
    mt->head_x = take(a, Nd * C);
    if (with_grads) {
        mt->dres = take(a, Nmax * C);
        mt->dbuf = take(a, Nmax * C);
        mt->dtmp = take(a, Nmax * C);
        mt->datt = take(a, Nmax * C);
        mt->dq = take(a, Nmax * C);
        mt->dk = take(a, Nmax * C);
        mt->dv = take(a, Nmax * C);
        mt->denc = take(a, Ne * C);
        mt->dF1 = take(a, Nmax * Fmax);
        mt->dF2 = take(a, Nmax * Fmax);
        mt->pad_row = take(a, C);
    }
}

lmt_status lmt_marian_create(lmt_model *m, int max_B, int max_Tsrc, int max_Ttgt, bool with_grads, lmt_marian **out) {
    *out = NULL;
    const lmt_config *c = &m->cfg;
    const char *src = c->source ? c->source : lmt_arch_name(c->arch);
    if (c->arch != LMT_ARCH_MARIAN)
        return lmt_fail(LMT_ERR_ARG, "%s: not a MarianMTModel but %s", src, lmt_arch_class_name(c->arch));
    if (max_B <= 0 || max_Tsrc <= 0 || max_Ttgt <= 0 || max_Tsrc > c->max_positions || max_Ttgt > c->max_positions)
        return lmt_fail(LMT_ERR_ARG, "%s: batch %d x %d source / %d target tokens: lengths must be 1..%lld (max_position_embeddings)",
                        src, max_B, max_Tsrc, max_Ttgt, (long long)c->max_positions);
    if (c->n_head <= 0 || c->d_model % c->n_head || c->dec_heads <= 0 || c->d_model % c->dec_heads)
        return lmt_fail(LMT_ERR_FORMAT, "%s: d_model %lld is not divisible by the head counts %lld / %lld", src,
                        (long long)c->d_model, (long long)c->n_head, (long long)c->dec_heads);
    /* transformers sizes the shared table (and lm_head) by vocab_size and
     * then reshapes the logits by decoder_vocab_size, so they must agree */
    if (c->share_encoder_decoder_embeddings && c->dec_vocab_size != c->vocab_size)
        return lmt_fail(LMT_ERR_FORMAT, "%s: decoder_vocab_size %lld differs from vocab_size %lld with shared embeddings", src,
                        (long long)c->dec_vocab_size, (long long)c->vocab_size);
    int Tm = max_Tsrc > max_Ttgt ? max_Tsrc : max_Ttgt;
    double N = (double)max_B * Tm;
    double widest = fmax(fmax(fmax((double)c->vocab_size, (double)c->dec_vocab_size), (double)fmax(c->d_ff, c->dec_ffn)),
                         (double)c->d_model);
    if (N * widest >= 2147483647.0 || (double)Tm * Tm * 4 >= 2147483647.0)
        return lmt_fail(LMT_ERR_ARG, "%s: batch %d x %d tokens is too large for this model", src, max_B, Tm);
    lmt_marian *mt = calloc(1, sizeof *mt);
    if (!mt) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    mt->model = m;
    mt->Le = (int)c->n_layer;
    mt->Ld = (int)c->dec_layers;
    mt->C = (int)c->d_model;
    mt->NHe = (int)c->n_head;
    mt->NHd = (int)c->dec_heads;
    mt->Fe = (int)c->d_ff;
    mt->Fd = (int)c->dec_ffn;
    mt->V = (int)c->vocab_size;
    mt->Vd = (int)c->dec_vocab_size;
    mt->P = (int)c->max_positions;
    mt->max_B = max_B;
    mt->max_Ts = max_Tsrc;
    mt->max_Tt = max_Ttgt;
    mt->pad_id = (int)c->pad_token_id;
    mt->dec_start_id = (int)c->decoder_start_token_id;
    mt->eps = (float)c->layer_norm_eps;
    /* transformers: math.sqrt(d_model) in double, applied to an fp32 tensor */
    mt->emb_scale = c->scale_embedding ? (float)sqrt((double)c->d_model) : 1.0f;
    mt->p_drop = (float)c->dropout;
    mt->p_attn = (float)c->attn_dropout;
    mt->p_act = (float)c->activation_dropout;
    mt->loss = NAN;
    mt->att_threads = omp_get_max_threads();
    lmt_rng_seed(&mt->rng, 42);
    mt->w.enc = calloc((size_t)mt->Le + 1, sizeof(lmt_marian_layer));
    mt->w.dec = calloc((size_t)mt->Ld + 1, sizeof(lmt_marian_layer));
    mt->g.enc = calloc((size_t)mt->Le + 1, sizeof(lmt_marian_layer));
    mt->g.dec = calloc((size_t)mt->Ld + 1, sizeof(lmt_marian_layer));
    mt->ea = calloc((size_t)mt->Le + 1, sizeof *mt->ea);
    mt->da = calloc((size_t)mt->Ld + 1, sizeof *mt->da);
    mt->seeds = calloc((size_t)(2 + 4 * mt->Le + 6 * mt->Ld), sizeof *mt->seeds);
    if (!mt->w.enc || !mt->w.dec || !mt->g.enc || !mt->g.dec || !mt->ea || !mt->da || !mt->seeds) {
        lmt_marian_free(mt);
        return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    }
    lmt_status st = bind(mt, m->params, &mt->w);
    if (st != LMT_OK) { lmt_marian_free(mt); return st; }
    if (with_grads) {
        mt->grads = lmt_aligned_alloc(m->layout.num_floats * sizeof(float));
        if (!mt->grads) {
            lmt_marian_free(mt);
            return lmt_fail(LMT_ERR_NOMEM, "out of memory allocating gradients (%zu floats)", m->layout.num_floats);
        }
        memset(mt->grads, 0, m->layout.num_floats * sizeof(float));
        bind(mt, mt->grads, &mt->g);
    }
    arena a = {0};
    plan(mt, &a, with_grads);
    if (a.used > SIZE_MAX / sizeof(float)) { lmt_marian_free(mt); return lmt_fail(LMT_ERR_NOMEM, "activations too large"); }
    mt->act_mem = lmt_aligned_alloc(a.used * sizeof(float));
    if (!mt->act_mem) {
        lmt_marian_free(mt);
        return lmt_fail(LMT_ERR_NOMEM, "out of memory allocating activations (%.1f MiB) for batch %d x %d/%d",
                        a.used * 4.0 / 1048576, max_B, max_Tsrc, max_Ttgt);
    }
    a = (arena){mt->act_mem, 0};
    plan(mt, &a, with_grads);
    *out = mt;
    return LMT_OK;
}

void lmt_marian_free(lmt_marian *mt) {
    if (!mt) return;
    lmt_aligned_free(mt->grads);
    lmt_aligned_free(mt->act_mem);
    free(mt->w.enc);
    free(mt->w.dec);
    free(mt->g.enc);
    free(mt->g.dec);
    free(mt->ea);
    free(mt->da);
    free(mt->seeds);
    free(mt);
}

void lmt_marian_set_seed(lmt_marian *mt, uint64_t seed) { lmt_rng_seed(&mt->rng, seed); }

void lmt_marian_zero_grad(lmt_marian *mt) {
    if (mt->grads) lmt_zero_floats(mt->grads, mt->model->layout.num_floats);
}

float *lmt_marian_grad(lmt_marian *mt, const char *hf_name) {
    long i = lmt_layout_find(&mt->model->layout, hf_name);
    return (i < 0 || !mt->grads) ? NULL : mt->grads + mt->model->layout.params[i].offset;
}

static int64_t get_int(lmt_dtype t, const void *p, size_t i) {
    return t == LMT_I64 ? ((const int64_t *)p)[i] : ((const int32_t *)p)[i];
}

static lmt_status load_ids(lmt_dtype t, const void *src, int32_t *dst, size_t N, int T, int V, const char *what) {
    for (size_t n = 0; n < N; n++) {
        int64_t v = get_int(t, src, n);
        if (v < 0 || v >= V)
            return lmt_fail(LMT_ERR_ARG, CLS ": %s[%zu][%zu] = %lld is outside the vocabulary (0..%d)", what, n / T,
                            n % T, (long long)v, V - 1);
        dst[n] = (int32_t)v;
    }
    return LMT_OK;
}

static lmt_status load_inputs(lmt_marian *mt, lmt_dtype t, const void *ids, const void *mask, const void *dec_ids,
                              const void *labels, int B, int Ts, int Tt) {
    size_t Ne = (size_t)B * Ts, Nd = (size_t)B * Tt;
    LMT_TRY(load_ids(t, ids, mt->src_ids, Ne, Ts, mt->V, "input_ids"));
    mt->has_mask = false;
    for (size_t n = 0; n < Ne; n++) {
        mt->mask[n] = mask ? get_int(t, mask, n) != 0 : 1;
        mt->has_mask |= !mt->mask[n];
    }
    mt->n_targets = 0;
    if (labels) {
        for (size_t n = 0; n < Nd; n++) {
            int64_t v = get_int(t, labels, n);
            if (v != LMT_IGNORE_INDEX && (v < 0 || v >= mt->Vd))
                return lmt_fail(LMT_ERR_ARG, CLS ": labels[%zu][%zu] = %lld is outside the decoder vocabulary (0..%d) and not -100",
                                n / Tt, n % Tt, (long long)v, mt->Vd - 1);
            mt->targets[n] = (int32_t)v;
        }
    }
    if (dec_ids) return load_ids(t, dec_ids, mt->dec_ids, Nd, Tt, mt->Vd, "decoder_input_ids");
    if (!labels) return lmt_fail(LMT_ERR_ARG, CLS ": neither decoder_input_ids nor labels given");
    /* shift_tokens_right: start token first, -100 becomes the pad id */
    if (mt->dec_start_id < 0 || mt->dec_start_id >= mt->Vd || mt->pad_id < 0 || mt->pad_id >= mt->Vd)
        return lmt_fail(LMT_ERR_ARG, CLS ": decoder_start_token_id %d / pad_token_id %d cannot shift the labels (decoder vocabulary 0..%d)",
                        mt->dec_start_id, mt->pad_id, mt->Vd - 1);
    for (int b = 0; b < B; b++)
        for (int s = 0; s < Tt; s++) {
            int32_t v = s ? mt->targets[(size_t)b * Tt + s - 1] : mt->dec_start_id;
            mt->dec_ids[(size_t)b * Tt + s] = v == LMT_IGNORE_INDEX ? mt->pad_id : v;
        }
    return LMT_OK;
}

/* Shape of one attention: encoder self (Ts x Ts, source mask), decoder self
 * (Tt x Tt, causal) or cross (Tt x Ts, source mask). */
static lmt_attention_shape attn_shape(const lmt_marian *mt, int Tq, int Tk, int NH, bool causal, bool masked,
                                      uint64_t seed) {
    lmt_attention_shape s = {
        .B = mt->B, .NH = NH, .Tq = Tq, .Tk = Tk, .hs = mt->C / NH,
        .ldq = mt->C, .ldk = mt->C, .ldv = mt->C, .ldo = mt->C,
        /* MarianAttention: q scaled by head_dim**-0.5 (a Python float) */
        .scale = (float)pow((double)(mt->C / NH), -0.5), .causal = causal,
        .key_mask = masked && mt->has_mask ? mt->mask : NULL,
        .dropout = mt->training ? mt->p_attn : 0.0f, .seed = seed, .threads = mt->att_threads,
    };
    return s;
}

/* x (Nq, C), kv (Nk, C): a->out = LN(x + drop(o(attn(q(x), k(kv), v(kv))))). */
static void attn_block_forward(lmt_marian *mt, const lmt_marian_attn *w, lmt_marian_attn_acts *a, const float *x,
                               const float *kv, int Nq, int Nk, const lmt_attention_shape *s, uint64_t drop_seed) {
    int C = mt->C;
    size_t NC = (size_t)Nq * C;
    lmt_linear_forward(a->q, x, w->q_w, w->q_b, Nq, C, C, LMT_W_OUT_IN);
    lmt_linear_forward(a->k, kv, w->k_w, w->k_b, Nk, C, C, LMT_W_OUT_IN);
    lmt_linear_forward(a->v, kv, w->v_w, w->v_b, Nk, C, C, LMT_W_OUT_IN);
    lmt_attention_forward(a->atty, a->lse, a->q, a->k, a->v, s, mt->att_scratch);
    lmt_linear_forward(a->res, a->atty, w->o_w, w->o_b, Nq, C, C, LMT_W_OUT_IN);
    if (mt->training && mt->p_drop > 0.0f) lmt_dropout_forward(a->res, a->res, NC, mt->p_drop, drop_seed);
    lmt_residual_forward(a->res, a->res, x, NC);
    lmt_layernorm_forward(a->out, a->mean, a->rstd, a->res, w->ln_w, w->ln_b, Nq, C, mt->eps);
}

/* x (N, C): a->out = LN(x + drop(fc2(drop_act(silu(fc1(x)))))). */
static void ffn_block_forward(lmt_marian *mt, const lmt_marian_layer *w, lmt_marian_acts *a, const float *x, int N,
                              int F, const uint64_t *seeds) {
    int C = mt->C;
    size_t NC = (size_t)N * C, NF = (size_t)N * F;
    lmt_linear_forward(a->fch, x, w->fc1_w, w->fc1_b, N, C, F, LMT_W_OUT_IN);
    lmt_activation_forward(a->fch_act, a->fch, NF, mt->model->cfg.act);
    if (mt->training && mt->p_act > 0.0f) lmt_dropout_forward(a->fch_act, a->fch_act, NF, mt->p_act, seeds[0]);
    lmt_linear_forward(a->res, a->fch_act, w->fc2_w, w->fc2_b, N, F, C, LMT_W_OUT_IN);
    if (mt->training && mt->p_drop > 0.0f) lmt_dropout_forward(a->res, a->res, NC, mt->p_drop, seeds[1]);
    lmt_residual_forward(a->res, a->res, x, NC);
    lmt_layernorm_forward(a->out, a->mean, a->rstd, a->res, w->ln_w, w->ln_b, N, C, mt->eps);
}

static const float *enc_out(const lmt_marian *mt) { return mt->Le ? mt->ea[mt->Le - 1].out : mt->enc_emb; }
static const float *dec_out(const lmt_marian *mt) { return mt->Ld ? mt->da[mt->Ld - 1].out : mt->dec_emb; }

lmt_status lmt_marian_forward(lmt_marian *mt, lmt_dtype dtype, const void *input_ids, const void *attention_mask,
                              const void *decoder_input_ids, const void *labels, int B, int Ts, int Tt, bool training) {
    mt->B = mt->Ts = mt->Tt = 0;
    mt->has_labels = false;
    mt->loss = NAN;
    if (dtype != LMT_I32 && dtype != LMT_I64) return lmt_fail(LMT_ERR_ARG, CLS ": input ids must be int32 or int64");
    if (!input_ids) return lmt_fail(LMT_ERR_ARG, CLS ": no input_ids");
    if (B <= 0 || Ts <= 0 || Tt <= 0 || B > mt->max_B || Ts > mt->max_Ts || Tt > mt->max_Tt)
        return lmt_fail(LMT_ERR_ARG, CLS ": batch %d x %d source / %d target tokens exceeds the %d x %d / %d the model was set up for",
                        B, Ts, Tt, mt->max_B, mt->max_Ts, mt->max_Tt);
    LMT_TRY(load_inputs(mt, dtype, input_ids, attention_mask, decoder_input_ids, labels, B, Ts, Tt));
    mt->B = B;
    mt->Ts = Ts;
    mt->Tt = Tt;
    mt->training = training;
    mt->has_labels = labels != NULL;
    int Ne = B * Ts, Nd = B * Tt, C = mt->C;
    for (int k = 0; k < 2 + 4 * mt->Le + 6 * mt->Ld; k++) mt->seeds[k] = training ? lmt_rng_u64(&mt->rng) : 0;
    const uint64_t *es = mt->seeds + 2, *ds = mt->seeds + 2 + 4 * mt->Le;

    lmt_embedding_forward(mt->enc_emb, mt->src_ids, NULL, mt->w.shared, mt->w.enc_pos, mt->emb_scale, B, Ts, C);
    if (training && mt->p_drop > 0.0f) lmt_dropout_forward(mt->enc_emb, mt->enc_emb, (size_t)Ne * C, mt->p_drop, mt->seeds[0]);
    const float *x = mt->enc_emb;
    for (int l = 0; l < mt->Le; l++) {
        lmt_marian_acts *a = &mt->ea[l];
        lmt_attention_shape s = attn_shape(mt, Ts, Ts, mt->NHe, false, true, es[4 * l]);
        attn_block_forward(mt, &mt->w.enc[l].self, &a->self, x, x, Ne, Ne, &s, es[4 * l + 1]);
        ffn_block_forward(mt, &mt->w.enc[l], a, a->self.out, Ne, mt->Fe, es + 4 * l + 2);
        x = a->out;
    }
    const float *enc = enc_out(mt);
    lmt_embedding_forward(mt->dec_emb, mt->dec_ids, NULL, mt->w.dec_embed, mt->w.dec_pos, mt->emb_scale, B, Tt, C);
    if (training && mt->p_drop > 0.0f) lmt_dropout_forward(mt->dec_emb, mt->dec_emb, (size_t)Nd * C, mt->p_drop, mt->seeds[1]);
    const float *y = mt->dec_emb;
    for (int l = 0; l < mt->Ld; l++) {
        lmt_marian_acts *a = &mt->da[l];
        const uint64_t *sd = ds + 6 * l;
        lmt_attention_shape s = attn_shape(mt, Tt, Tt, mt->NHd, true, false, sd[0]);
        attn_block_forward(mt, &mt->w.dec[l].self, &a->self, y, y, Nd, Nd, &s, sd[1]);
        lmt_attention_shape cs = attn_shape(mt, Tt, Ts, mt->NHd, false, true, sd[2]);
        attn_block_forward(mt, &mt->w.dec[l].cross, &a->cross, a->self.out, enc, Nd, Ne, &cs, sd[3]);
        ffn_block_forward(mt, &mt->w.dec[l], a, a->cross.out, Nd, mt->Fd, sd + 4);
        y = a->out;
    }
    /* the LM head: on every row, or (loss_only) on the labelled rows gathered */
    int M = Nd;
    const float *hx = y;
    if (mt->loss_only && labels) {
        M = lmt_rows_gather_labelled(mt->head_x, mt->head_rows, mt->targets, y, Nd, C);
        hx = mt->head_x;
    }
    mt->n_head = M;
    if (M > 0) lmt_linear_forward(mt->logits, hx, mt->w.lm_head, mt->w.logits_bias, M, C, mt->Vd, LMT_W_OUT_IN);
    if (labels) {
        mt->n_targets = M > 0 ? lmt_crossentropy_forward(mt->losses, mt->ce_lse, mt->logits, mt->targets, M, mt->Vd) : 0;
        double sum = 0.0;
        for (int n = 0; n < M; n++) sum += mt->losses[n];
        mt->loss = mt->n_targets ? (float)(sum / (double)mt->n_targets) : NAN;
    }
    return LMT_OK;
}

/* d(x) -> d(dropout input): the same buffer when dropout is off. */
static const float *drop_back(lmt_marian *mt, float *scratch, const float *d, size_t n, float p, uint64_t seed) {
    if (!mt->training || p <= 0.0f) return d;
    memset(scratch, 0, n * sizeof(float));
    lmt_dropout_backward(scratch, d, n, p, seed);
    return scratch;
}

/* mt->dres holds d(a->out) (Nq, C); on return it holds d(x). The key/value
 * side's gradient is added to dkv (Nk, C) (dkv == mt->dres for self
 * attention, where kv == x). */
static void attn_block_backward(lmt_marian *mt, const lmt_marian_attn *w, lmt_marian_attn *g,
                                const lmt_marian_attn_acts *a, const float *x, const float *kv, float *dkv, int Nq,
                                int Nk, const lmt_attention_shape *s, uint64_t drop_seed) {
    int C = mt->C;
    size_t NC = (size_t)Nq * C;
    memset(mt->dbuf, 0, NC * sizeof(float));
    lmt_layernorm_backward(mt->dbuf, g->ln_w, g->ln_b, mt->dres, a->res, w->ln_w, a->mean, a->rstd, Nq, C);
    memcpy(mt->dres, mt->dbuf, NC * sizeof(float));   // residual: d(x); the attention adds below
    const float *dy = drop_back(mt, mt->dtmp, mt->dbuf, NC, mt->p_drop, drop_seed);
    memset(mt->datt, 0, NC * sizeof(float));
    lmt_linear_backward(mt->datt, g->o_w, g->o_b, dy, a->atty, w->o_w, Nq, C, C, LMT_W_OUT_IN);
    size_t NkC = (size_t)Nk * C;
    memset(mt->dq, 0, NC * sizeof(float));
    memset(mt->dk, 0, NkC * sizeof(float));
    memset(mt->dv, 0, NkC * sizeof(float));
    lmt_attention_backward(mt->dq, mt->dk, mt->dv, mt->datt, a->lse, a->q, a->k, a->v, s, mt->att_scratch);
    lmt_linear_backward(mt->dres, g->q_w, g->q_b, mt->dq, x, w->q_w, Nq, C, C, LMT_W_OUT_IN);
    lmt_linear_backward(dkv, g->k_w, g->k_b, mt->dk, kv, w->k_w, Nk, C, C, LMT_W_OUT_IN);
    lmt_linear_backward(dkv, g->v_w, g->v_b, mt->dv, kv, w->v_w, Nk, C, C, LMT_W_OUT_IN);
}

/* mt->dres holds d(a->out) (N, C); on return it holds d(x). */
static void ffn_block_backward(lmt_marian *mt, const lmt_marian_layer *w, lmt_marian_layer *g, const lmt_marian_acts *a,
                               const float *x, int N, int F, const uint64_t *seeds) {
    int C = mt->C;
    size_t NC = (size_t)N * C, NF = (size_t)N * F;
    memset(mt->dbuf, 0, NC * sizeof(float));
    lmt_layernorm_backward(mt->dbuf, g->ln_w, g->ln_b, mt->dres, a->res, w->ln_w, a->mean, a->rstd, N, C);
    memcpy(mt->dres, mt->dbuf, NC * sizeof(float));
    const float *dy = drop_back(mt, mt->dtmp, mt->dbuf, NC, mt->p_drop, seeds[1]);
    memset(mt->dF1, 0, NF * sizeof(float));
    lmt_linear_backward(mt->dF1, g->fc2_w, g->fc2_b, dy, a->fch_act, w->fc2_w, N, F, C, LMT_W_OUT_IN);
    const float *dact = drop_back(mt, mt->dF2, mt->dF1, NF, mt->p_act, seeds[0]);
    float *dpre = dact == mt->dF2 ? mt->dF1 : mt->dF2;
    memset(dpre, 0, NF * sizeof(float));
    lmt_activation_backward(dpre, dact, a->fch, NF, mt->model->cfg.act);
    lmt_linear_backward(mt->dres, g->fc1_w, g->fc1_b, dpre, x, w->fc1_w, N, C, F, LMT_W_OUT_IN);
}

/* Adds a token lookup's gradient to the table gtab (V rows). As
 * nn.Embedding(padding_idx=pad), the lookup leaves the pad row alone; what
 * that row already holds (a tied lm_head's share, earlier micro-batches)
 * stays. */
static void lookup_backward(lmt_marian *mt, float *gtab, int V, const float *d, const int32_t *ids, int B, int T) {
    int C = mt->C;
    bool keep_pad = mt->pad_id >= 0 && mt->pad_id < V;
    if (keep_pad) memcpy(mt->pad_row, gtab + (size_t)mt->pad_id * C, (size_t)C * sizeof(float));
    lmt_embedding_backward(gtab, NULL, d, ids, NULL, mt->emb_scale, B, T, C);
    if (keep_pad) memcpy(gtab + (size_t)mt->pad_id * C, mt->pad_row, (size_t)C * sizeof(float));
}

lmt_status lmt_marian_backward_scaled(lmt_marian *mt, float scale) {
    if (!mt->grads) return lmt_fail(LMT_ERR_ARG, CLS ": backward on a model set up without gradients");
    if (!mt->has_labels || mt->B == 0) return lmt_fail(LMT_ERR_ARG, CLS ": backward needs a forward with labels");
    int B = mt->B, Ts = mt->Ts, Tt = mt->Tt, Ne = B * Ts, Nd = B * Tt, C = mt->C;
    lmt_marian_params *w = &mt->w, *g = &mt->g;
    const uint64_t *es = mt->seeds + 2, *ds = mt->seeds + 2 + 4 * mt->Le;
    const float *enc = enc_out(mt);

    int M = mt->n_head;
    memset(mt->dres, 0, (size_t)Nd * C * sizeof(float));
    if (M > 0) {
        lmt_crossentropy_backward(mt->logits, mt->logits, mt->ce_lse, mt->targets, scale, M, mt->Vd);   // in place
        /* final_logits_bias is a buffer: no gradient */
        if (mt->loss_only) {   // the gathered rows' d(decoder output), scattered back; the others stay 0
            lmt_linear_backward_set(mt->dtmp, g->lm_head, NULL, mt->logits, mt->head_x, w->lm_head, M, C, mt->Vd, LMT_W_OUT_IN);
            lmt_rows_scatter(mt->dres, mt->dtmp, mt->head_rows, M, C);
        } else {
            lmt_linear_backward(mt->dres, g->lm_head, NULL, mt->logits, dec_out(mt), w->lm_head, Nd, C, mt->Vd, LMT_W_OUT_IN);
        }
    }

    memset(mt->denc, 0, (size_t)Ne * C * sizeof(float));
    for (int l = mt->Ld - 1; l >= 0; l--) {
        const lmt_marian_acts *a = &mt->da[l];
        const uint64_t *sd = ds + 6 * l;
        const float *y = l ? mt->da[l - 1].out : mt->dec_emb;
        ffn_block_backward(mt, &w->dec[l], &g->dec[l], a, a->cross.out, Nd, mt->Fd, sd + 4);
        lmt_attention_shape cs = attn_shape(mt, Tt, Ts, mt->NHd, false, true, sd[2]);
        attn_block_backward(mt, &w->dec[l].cross, &g->dec[l].cross, &a->cross, a->self.out, enc, mt->denc, Nd, Ne, &cs, sd[3]);
        lmt_attention_shape s = attn_shape(mt, Tt, Tt, mt->NHd, true, false, sd[0]);
        attn_block_backward(mt, &w->dec[l].self, &g->dec[l].self, &a->self, y, y, mt->dres, Nd, Nd, &s, sd[1]);
    }
    const float *de = drop_back(mt, mt->dtmp, mt->dres, (size_t)Nd * C, mt->p_drop, mt->seeds[1]);
    lookup_backward(mt, g->dec_embed, mt->Vd, de, mt->dec_ids, B, Tt);

    memcpy(mt->dres, mt->denc, (size_t)Ne * C * sizeof(float));
    for (int l = mt->Le - 1; l >= 0; l--) {
        const lmt_marian_acts *a = &mt->ea[l];
        const float *x = l ? mt->ea[l - 1].out : mt->enc_emb;
        ffn_block_backward(mt, &w->enc[l], &g->enc[l], a, a->self.out, Ne, mt->Fe, es + 4 * l + 2);
        lmt_attention_shape s = attn_shape(mt, Ts, Ts, mt->NHe, false, true, es[4 * l]);
        attn_block_backward(mt, &w->enc[l].self, &g->enc[l].self, &a->self, x, x, mt->dres, Ne, Ne, &s, es[4 * l + 1]);
    }
    de = drop_back(mt, mt->dtmp, mt->dres, (size_t)Ne * C, mt->p_drop, mt->seeds[0]);
    lookup_backward(mt, g->shared, mt->V, de, mt->src_ids, B, Ts);
    mt->has_labels = false;   // logits now hold their gradient
    return LMT_OK;
}

lmt_status lmt_marian_backward(lmt_marian *mt) {
    float scale = mt->n_targets > 0 ? 1.0f / (float)mt->n_targets : 0.0f;
    return lmt_marian_backward_scaled(mt, scale);
}
