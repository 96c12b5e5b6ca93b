/* Parameter tables of GPT2LMHeadModel, BertForMaskedLM, RobertaForMaskedLM,
 * DistilBertForMaskedLM and MarianMTModel (names as in transformers). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "models/layout.h"

typedef struct {
    lmt_layout *l;
    size_t cap_p, cap_a;
    bool oom;
} builder;

static void add(builder *b, unsigned flags, lmt_init_kind init, int ndim, int64_t d0, int64_t d1, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void add(builder *b, unsigned flags, lmt_init_kind init, int ndim, int64_t d0, int64_t d1, const char *fmt, ...) {
    if (b->oom) return;
    lmt_layout *l = b->l;
    if (l->n_params == b->cap_p) {
        size_t nc = b->cap_p ? b->cap_p * 2 : 64;
        lmt_param_spec *np = realloc(l->params, nc * sizeof *np);
        if (!np) { b->oom = true; return; }
        l->params = np;
        b->cap_p = nc;
    }
    lmt_param_spec *p = &l->params[l->n_params++];
    memset(p, 0, sizeof *p);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->name, sizeof p->name, fmt, ap);
    va_end(ap);
    p->ndim = ndim;
    p->shape[0] = d0;
    p->shape[1] = d1;
    p->numel = (size_t)d0 * (size_t)(ndim == 2 ? d1 : 1);
    p->offset = l->num_floats;
    /* Keep every tensor 64-byte aligned inside the buffer. */
    l->num_floats += (p->numel + 15) & ~(size_t)15;
    p->flags = flags;
    p->init = init;
}

static void alias(builder *b, const char *name, const char *target) {
    if (b->oom) return;
    lmt_layout *l = b->l;
    if (l->n_aliases == b->cap_a) {
        size_t nc = b->cap_a ? b->cap_a * 2 : 8;
        lmt_alias *na = realloc(l->aliases, nc * sizeof *na);
        if (!na) { b->oom = true; return; }
        l->aliases = na;
        b->cap_a = nc;
    }
    lmt_alias *a = &l->aliases[l->n_aliases++];
    snprintf(a->name, sizeof a->name, "%s", name);
    snprintf(a->target, sizeof a->target, "%s", target);
}

#define W(b, flags, d0, d1, ...) add(b, flags, LMT_INIT_NORMAL, 2, d0, d1, __VA_ARGS__)
#define BIAS(b, flags, d0, ...) add(b, (flags) | LMT_PARAM_NO_DECAY, LMT_INIT_ZEROS, 1, d0, 0, __VA_ARGS__)
#define LN(b, flags, d0, ...) do { \
    char n_[128]; snprintf(n_, sizeof n_, __VA_ARGS__); \
    add(b, (flags) | LMT_PARAM_NO_DECAY, LMT_INIT_ONES, 1, d0, 0, "%s.weight", n_); \
    add(b, (flags) | LMT_PARAM_NO_DECAY, LMT_INIT_ZEROS, 1, d0, 0, "%s.bias", n_); } while (0)
#define LINEAR(b, flags, out, in, ...) do { \
    char n_[128]; snprintf(n_, sizeof n_, __VA_ARGS__); \
    W(b, flags, out, in, "%s.weight", n_); BIAS(b, flags, out, "%s.bias", n_); } while (0)

static void gpt2(builder *b, const lmt_config *c) {
    int64_t C = c->d_model, F = c->d_ff;
    W(b, 0, c->vocab_size, C, "transformer.wte.weight");
    W(b, 0, c->max_positions, C, "transformer.wpe.weight");
    for (int64_t i = 0; i < c->n_layer; i++) {
        LN(b, 0, C, "transformer.h.%lld.ln_1", (long long)i);
        /* Conv1D: weight (in, out) */
        W(b, 0, C, 3 * C, "transformer.h.%lld.attn.c_attn.weight", (long long)i);
        BIAS(b, 0, 3 * C, "transformer.h.%lld.attn.c_attn.bias", (long long)i);
        W(b, 0, C, C, "transformer.h.%lld.attn.c_proj.weight", (long long)i);
        BIAS(b, 0, C, "transformer.h.%lld.attn.c_proj.bias", (long long)i);
        LN(b, 0, C, "transformer.h.%lld.ln_2", (long long)i);
        W(b, 0, C, F, "transformer.h.%lld.mlp.c_fc.weight", (long long)i);
        BIAS(b, 0, F, "transformer.h.%lld.mlp.c_fc.bias", (long long)i);
        W(b, 0, F, C, "transformer.h.%lld.mlp.c_proj.weight", (long long)i);
        BIAS(b, 0, C, "transformer.h.%lld.mlp.c_proj.bias", (long long)i);
    }
    LN(b, 0, C, "transformer.ln_f");
    if (c->tie_word_embeddings) alias(b, "lm_head.weight", "transformer.wte.weight");
    else W(b, LMT_PARAM_HEAD, c->vocab_size, C, "lm_head.weight");
}

static void bert_encoder(builder *b, const lmt_config *c, const char *pre) {
    int64_t C = c->d_model, F = c->d_ff;
    W(b, 0, c->vocab_size, C, "%s.embeddings.word_embeddings.weight", pre);
    W(b, 0, c->max_positions, C, "%s.embeddings.position_embeddings.weight", pre);
    if (c->type_vocab_size > 0) W(b, 0, c->type_vocab_size, C, "%s.embeddings.token_type_embeddings.weight", pre);
    LN(b, 0, C, "%s.embeddings.LayerNorm", pre);
    for (int64_t i = 0; i < c->n_layer; i++) {
        char p[96];
        snprintf(p, sizeof p, "%s.encoder.layer.%lld", pre, (long long)i);
        LINEAR(b, 0, C, C, "%s.attention.self.query", p);
        LINEAR(b, 0, C, C, "%s.attention.self.key", p);
        LINEAR(b, 0, C, C, "%s.attention.self.value", p);
        LINEAR(b, 0, C, C, "%s.attention.output.dense", p);
        LN(b, 0, C, "%s.attention.output.LayerNorm", p);
        LINEAR(b, 0, F, C, "%s.intermediate.dense", p);
        LINEAR(b, 0, C, F, "%s.output.dense", p);
        LN(b, 0, C, "%s.output.LayerNorm", p);
    }
}

static void bert(builder *b, const lmt_config *c) {
    int64_t C = c->d_model;
    bert_encoder(b, c, "bert");
    LINEAR(b, LMT_PARAM_HEAD, C, C, "cls.predictions.transform.dense");
    LN(b, LMT_PARAM_HEAD, C, "cls.predictions.transform.LayerNorm");
    BIAS(b, LMT_PARAM_HEAD, c->vocab_size, "cls.predictions.bias");
    alias(b, "cls.predictions.decoder.bias", "cls.predictions.bias");
    if (c->tie_word_embeddings) alias(b, "cls.predictions.decoder.weight", "bert.embeddings.word_embeddings.weight");
    else W(b, LMT_PARAM_HEAD, c->vocab_size, C, "cls.predictions.decoder.weight");
}

static void roberta(builder *b, const lmt_config *c) {
    int64_t C = c->d_model;
    bert_encoder(b, c, "roberta");
    LINEAR(b, LMT_PARAM_HEAD, C, C, "lm_head.dense");
    LN(b, LMT_PARAM_HEAD, C, "lm_head.layer_norm");
    BIAS(b, LMT_PARAM_HEAD, c->vocab_size, "lm_head.bias");
    alias(b, "lm_head.decoder.bias", "lm_head.bias");
    if (c->tie_word_embeddings) alias(b, "lm_head.decoder.weight", "roberta.embeddings.word_embeddings.weight");
    else W(b, LMT_PARAM_HEAD, c->vocab_size, C, "lm_head.decoder.weight");
}

static void distilbert(builder *b, const lmt_config *c) {
    int64_t C = c->d_model, F = c->d_ff;
    W(b, 0, c->vocab_size, C, "distilbert.embeddings.word_embeddings.weight");
    add(b, c->sinusoidal_positions ? LMT_PARAM_STATIC : 0,
        c->sinusoidal_positions ? LMT_INIT_SINUSOIDAL_DISTILBERT : LMT_INIT_NORMAL, 2, c->max_positions, C,
        "distilbert.embeddings.position_embeddings.weight");
    LN(b, 0, C, "distilbert.embeddings.LayerNorm");
    for (int64_t i = 0; i < c->n_layer; i++) {
        char p[96];
        snprintf(p, sizeof p, "distilbert.transformer.layer.%lld", (long long)i);
        LINEAR(b, 0, C, C, "%s.attention.q_lin", p);
        LINEAR(b, 0, C, C, "%s.attention.k_lin", p);
        LINEAR(b, 0, C, C, "%s.attention.v_lin", p);
        LINEAR(b, 0, C, C, "%s.attention.out_lin", p);
        LN(b, 0, C, "%s.sa_layer_norm", p);
        LINEAR(b, 0, F, C, "%s.ffn.lin1", p);
        LINEAR(b, 0, C, F, "%s.ffn.lin2", p);
        LN(b, 0, C, "%s.output_layer_norm", p);
    }
    LINEAR(b, LMT_PARAM_HEAD, C, C, "vocab_transform");
    LN(b, LMT_PARAM_HEAD, C, "vocab_layer_norm");
    BIAS(b, LMT_PARAM_HEAD, c->vocab_size, "vocab_projector.bias");
    if (c->tie_word_embeddings) alias(b, "vocab_projector.weight", "distilbert.embeddings.word_embeddings.weight");
    else W(b, LMT_PARAM_HEAD, c->vocab_size, C, "vocab_projector.weight");
}

static void marian_attention(builder *b, int64_t C, const char *p) {
    LINEAR(b, 0, C, C, "%s.k_proj", p);
    LINEAR(b, 0, C, C, "%s.v_proj", p);
    LINEAR(b, 0, C, C, "%s.q_proj", p);
    LINEAR(b, 0, C, C, "%s.out_proj", p);
}

static void marian(builder *b, const lmt_config *c) {
    int64_t C = c->d_model;
    bool share = c->share_encoder_decoder_embeddings, tie = c->tie_word_embeddings;
    /* MarianMTModel's tables. Shared and tied: model.shared (vocab_size)
     * behind both embed_tokens and lm_head. Not shared: encoder.embed_tokens
     * (vocab_size) and decoder.embed_tokens (decoder_vocab_size), each where
     * its module registers it, lm_head tied to the decoder's. transformers 5
     * makes every tie of _tied_weights_keys depend on tie_word_embeddings, so
     * shared but untied leaves four tables: model.shared (in the state dict,
     * used by nothing, never given a gradient), both embed_tokens and
     * lm_head. */
    if (share) W(b, 0, c->vocab_size, C, "model.shared.weight");
    if (share && tie) {
        alias(b, "model.encoder.embed_tokens.weight", "model.shared.weight");
        alias(b, "model.decoder.embed_tokens.weight", "model.shared.weight");
    } else {
        W(b, 0, c->vocab_size, C, "model.encoder.embed_tokens.weight");
    }
    add(b, LMT_PARAM_STATIC, LMT_INIT_SINUSOIDAL_MARIAN, 2, c->max_positions, C, "model.encoder.embed_positions.weight");
    for (int64_t i = 0; i < c->n_layer; i++) {
        char p[96], q[128];
        snprintf(p, sizeof p, "model.encoder.layers.%lld", (long long)i);
        snprintf(q, sizeof q, "%s.self_attn", p);
        marian_attention(b, C, q);
        LN(b, 0, C, "%s.self_attn_layer_norm", p);
        LINEAR(b, 0, c->d_ff, C, "%s.fc1", p);
        LINEAR(b, 0, C, c->d_ff, "%s.fc2", p);
        LN(b, 0, C, "%s.final_layer_norm", p);
    }
    if (!(share && tie)) W(b, 0, c->dec_vocab_size, C, "model.decoder.embed_tokens.weight");
    add(b, LMT_PARAM_STATIC, LMT_INIT_SINUSOIDAL_MARIAN, 2, c->max_positions, C, "model.decoder.embed_positions.weight");
    for (int64_t i = 0; i < c->dec_layers; i++) {
        char p[96], q[128];
        snprintf(p, sizeof p, "model.decoder.layers.%lld", (long long)i);
        snprintf(q, sizeof q, "%s.self_attn", p);
        marian_attention(b, C, q);
        LN(b, 0, C, "%s.self_attn_layer_norm", p);
        snprintf(q, sizeof q, "%s.encoder_attn", p);
        marian_attention(b, C, q);
        LN(b, 0, C, "%s.encoder_attn_layer_norm", p);
        LINEAR(b, 0, c->dec_ffn, C, "%s.fc1", p);
        LINEAR(b, 0, C, c->dec_ffn, "%s.fc2", p);
        LN(b, 0, C, "%s.final_layer_norm", p);
    }
    /* lm_head and final_logits_bias: target_vocab_size wide */
    int64_t Vt = share ? c->vocab_size : c->dec_vocab_size;
    const char *dec_table = share ? "model.shared.weight" : "model.decoder.embed_tokens.weight";
    if (tie) alias(b, "lm_head.weight", dec_table);
    else W(b, LMT_PARAM_HEAD, Vt, C, "lm_head.weight");
    add(b, LMT_PARAM_BUFFER | LMT_PARAM_NO_DECAY, LMT_INIT_ZEROS, 2, 1, Vt, "final_logits_bias");
}

lmt_status lmt_layout_build(const lmt_config *cfg, lmt_layout *out) {
    memset(out, 0, sizeof *out);
    builder b = {out, 0, 0, false};
    switch (cfg->arch) {
    case LMT_ARCH_GPT2: gpt2(&b, cfg); out->base_prefix = "transformer."; break;
    case LMT_ARCH_BERT: bert(&b, cfg); out->base_prefix = "bert."; break;
    case LMT_ARCH_ROBERTA: roberta(&b, cfg); out->base_prefix = "roberta."; break;
    case LMT_ARCH_DISTILBERT: distilbert(&b, cfg); out->base_prefix = "distilbert."; break;
    case LMT_ARCH_MARIAN: marian(&b, cfg); out->base_prefix = "model."; break;
    default: return lmt_fail(LMT_ERR_INTERNAL, "unknown architecture %d", (int)cfg->arch);
    }
    if (b.oom) { lmt_layout_free(out); return lmt_fail(LMT_ERR_NOMEM, "out of memory building the parameter layout"); }
    return LMT_OK;
}

void lmt_layout_free(lmt_layout *l) {
    free(l->params);
    free(l->aliases);
    memset(l, 0, sizeof *l);
}

long lmt_layout_find(const lmt_layout *l, const char *name) {
    for (size_t i = 0; i < l->n_aliases; i++)
        if (!strcmp(l->aliases[i].name, name)) { name = l->aliases[i].target; break; }
    for (size_t i = 0; i < l->n_params; i++)
        if (!strcmp(l->params[i].name, name)) return (long)i;
    return -1;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

bool lmt_layout_is_ignored_key(const lmt_layout *l, const char *name) {
    (void)l;
    return ends_with(name, ".attn.bias") || ends_with(name, ".attn.masked_bias") ||
           ends_with(name, "embeddings.position_ids") || ends_with(name, "embed_positions._float_tensor");
}
