/* Parameter tables of GPT2LMHeadModel, BertForMaskedLM, RobertaForMaskedLM,
 * DistilBertForMaskedLM, MarianMTModel and the Llama family (names as in
 * transformers). */
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
    int stack, layer;        /* the slot the next tensors belong to */
} builder;

/* Enters a stack's layer (-1: the stack's own tensors, e.g. embeddings). */
static void at(builder *b, int stack, int64_t layer) {
    b->stack = stack;
    b->layer = (int)layer;
}

/* arr with room for element n (doubling *cap from first), or NULL when out of
 * memory (arr is then left as it was). */
static void *grow(builder *b, void *arr, size_t n, size_t *cap, size_t elem, size_t first) {
    if (b->oom) return NULL;
    if (n < *cap) return arr;
    size_t nc = *cap ? *cap * 2 : first;
    void *p = realloc(arr, nc * elem);
    if (!p) { b->oom = true; return NULL; }
    *cap = nc;
    return p;
}

static void add(builder *b, int role, unsigned flags, lmt_init_kind init, int ndim, int64_t d0, int64_t d1,
                const char *fmt, ...) __attribute__((format(printf, 8, 9)));

static void add(builder *b, int role, unsigned flags, lmt_init_kind init, int ndim, int64_t d0, int64_t d1,
                const char *fmt, ...) {
    lmt_layout *l = b->l;
    lmt_param_spec *np = grow(b, l->params, l->n_params, &b->cap_p, sizeof *np, 64);
    if (!np) return;
    l->params = np;
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
    p->slot = (lmt_slot){b->stack, b->layer, role};
}

static void alias(builder *b, int role, const char *name, const char *target) {
    lmt_layout *l = b->l;
    lmt_alias *na = grow(b, l->aliases, l->n_aliases, &b->cap_a, sizeof *na, 8);
    if (!na) return;
    l->aliases = na;
    lmt_alias *a = &l->aliases[l->n_aliases++];
    snprintf(a->name, sizeof a->name, "%s", name);
    snprintf(a->target, sizeof a->target, "%s", target);
    a->slot = (lmt_slot){b->stack, b->layer, role};
}

/* role: the weight's; a bias takes the role after it (see lmt_role) */
#define W(b, role, flags, d0, d1, ...) add(b, role, flags, LMT_INIT_NORMAL, 2, d0, d1, __VA_ARGS__)
#define BIAS(b, role, flags, d0, ...) add(b, role, (flags) | LMT_PARAM_NO_DECAY, LMT_INIT_ZEROS, 1, d0, 0, __VA_ARGS__)
#define LN(b, role, flags, d0, ...) do { \
    char n_[128]; snprintf(n_, sizeof n_, __VA_ARGS__); \
    add(b, role, (flags) | LMT_PARAM_NO_DECAY, LMT_INIT_ONES, 1, d0, 0, "%s.weight", n_); \
    add(b, (role) + 1, (flags) | LMT_PARAM_NO_DECAY, LMT_INIT_ZEROS, 1, d0, 0, "%s.bias", n_); } while (0)
#define LINEAR(b, role, flags, out, in, ...) do { \
    char n_[128]; snprintf(n_, sizeof n_, __VA_ARGS__); \
    W(b, role, flags, out, in, "%s.weight", n_); BIAS(b, (role) + 1, flags, out, "%s.bias", n_); } while (0)

static void gpt2(builder *b, const lmt_config *c) {
    int64_t C = c->d_model, F = c->d_ff;
    at(b, LMT_STACK_DECODER, -1);
    W(b, LMT_ROLE_TOK_EMB, 0, c->vocab_size, C, "transformer.wte.weight");
    W(b, LMT_ROLE_POS_EMB, 0, c->max_positions, C, "transformer.wpe.weight");
    for (int64_t i = 0; i < c->n_layer; i++) {
        at(b, LMT_STACK_DECODER, i);
        LN(b, LMT_ROLE_ATTN_LN_W, 0, C, "transformer.h.%lld.ln_1", (long long)i);
        /* Conv1D: weight (in, out) */
        W(b, LMT_ROLE_ATTN_QKV_W, 0, C, 3 * C, "transformer.h.%lld.attn.c_attn.weight", (long long)i);
        BIAS(b, LMT_ROLE_ATTN_QKV_B, 0, 3 * C, "transformer.h.%lld.attn.c_attn.bias", (long long)i);
        W(b, LMT_ROLE_ATTN_O_W, 0, C, C, "transformer.h.%lld.attn.c_proj.weight", (long long)i);
        BIAS(b, LMT_ROLE_ATTN_O_B, 0, C, "transformer.h.%lld.attn.c_proj.bias", (long long)i);
        LN(b, LMT_ROLE_FFN_LN_W, 0, C, "transformer.h.%lld.ln_2", (long long)i);
        W(b, LMT_ROLE_FFN_IN_W, 0, C, F, "transformer.h.%lld.mlp.c_fc.weight", (long long)i);
        BIAS(b, LMT_ROLE_FFN_IN_B, 0, F, "transformer.h.%lld.mlp.c_fc.bias", (long long)i);
        W(b, LMT_ROLE_FFN_OUT_W, 0, F, C, "transformer.h.%lld.mlp.c_proj.weight", (long long)i);
        BIAS(b, LMT_ROLE_FFN_OUT_B, 0, C, "transformer.h.%lld.mlp.c_proj.bias", (long long)i);
    }
    at(b, LMT_STACK_DECODER, -1);
    LN(b, LMT_ROLE_FINAL_LN_W, 0, C, "transformer.ln_f");
    at(b, LMT_STACK_NONE, -1);
    if (c->tie_word_embeddings) alias(b, LMT_ROLE_HEAD_W, "lm_head.weight", "transformer.wte.weight");
    else W(b, LMT_ROLE_HEAD_W, LMT_PARAM_HEAD, c->vocab_size, C, "lm_head.weight");
}

/* One encoder layer: attention (q, k, v, output, LayerNorm), then the FFN. */
static void encoder_layer(builder *b, const char *p, int64_t C, int64_t F, const char *const nm[8]) {
    LINEAR(b, LMT_ROLE_ATTN_Q_W, 0, C, C, "%s.%s", p, nm[0]);
    LINEAR(b, LMT_ROLE_ATTN_K_W, 0, C, C, "%s.%s", p, nm[1]);
    LINEAR(b, LMT_ROLE_ATTN_V_W, 0, C, C, "%s.%s", p, nm[2]);
    LINEAR(b, LMT_ROLE_ATTN_O_W, 0, C, C, "%s.%s", p, nm[3]);
    LN(b, LMT_ROLE_ATTN_LN_W, 0, C, "%s.%s", p, nm[4]);
    LINEAR(b, LMT_ROLE_FFN_IN_W, 0, F, C, "%s.%s", p, nm[5]);
    LINEAR(b, LMT_ROLE_FFN_OUT_W, 0, C, F, "%s.%s", p, nm[6]);
    LN(b, LMT_ROLE_FFN_LN_W, 0, C, "%s.%s", p, nm[7]);
}

static void bert_encoder(builder *b, const lmt_config *c, const char *pre) {
    static const char *const nm[8] = {"attention.self.query", "attention.self.key", "attention.self.value",
                                      "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense",
                                      "output.dense", "output.LayerNorm"};
    int64_t C = c->d_model;
    at(b, LMT_STACK_ENCODER, -1);
    W(b, LMT_ROLE_TOK_EMB, 0, c->vocab_size, C, "%s.embeddings.word_embeddings.weight", pre);
    W(b, LMT_ROLE_POS_EMB, 0, c->max_positions, C, "%s.embeddings.position_embeddings.weight", pre);
    if (c->type_vocab_size > 0) W(b, LMT_ROLE_TYPE_EMB, 0, c->type_vocab_size, C, "%s.embeddings.token_type_embeddings.weight", pre);
    LN(b, LMT_ROLE_EMB_LN_W, 0, C, "%s.embeddings.LayerNorm", pre);
    for (int64_t i = 0; i < c->n_layer; i++) {
        char p[96];
        snprintf(p, sizeof p, "%s.encoder.layer.%lld", pre, (long long)i);
        at(b, LMT_STACK_ENCODER, i);
        encoder_layer(b, p, C, c->d_ff, nm);
    }
    at(b, LMT_STACK_NONE, -1);
}

/* The MLM head: transform dense + LayerNorm, bias, decoder (tied or its own). */
static void mlm_head(builder *b, const lmt_config *c, const char *dense, const char *ln, const char *bias,
                     const char *bias_alias, const char *decoder, const char *word) {
    int64_t C = c->d_model;
    LINEAR(b, LMT_ROLE_HEAD_DENSE_W, LMT_PARAM_HEAD, C, C, "%s", dense);
    LN(b, LMT_ROLE_HEAD_LN_W, LMT_PARAM_HEAD, C, "%s", ln);
    BIAS(b, LMT_ROLE_HEAD_B, LMT_PARAM_HEAD, c->vocab_size, "%s", bias);
    if (bias_alias) alias(b, LMT_ROLE_HEAD_B, bias_alias, bias);
    if (c->tie_word_embeddings) alias(b, LMT_ROLE_HEAD_W, decoder, word);
    else W(b, LMT_ROLE_HEAD_W, LMT_PARAM_HEAD, c->vocab_size, C, "%s", decoder);
}

static void bert(builder *b, const lmt_config *c) {
    bert_encoder(b, c, "bert");
    mlm_head(b, c, "cls.predictions.transform.dense", "cls.predictions.transform.LayerNorm", "cls.predictions.bias",
             "cls.predictions.decoder.bias", "cls.predictions.decoder.weight", "bert.embeddings.word_embeddings.weight");
}

static void roberta(builder *b, const lmt_config *c) {
    bert_encoder(b, c, "roberta");
    mlm_head(b, c, "lm_head.dense", "lm_head.layer_norm", "lm_head.bias", "lm_head.decoder.bias",
             "lm_head.decoder.weight", "roberta.embeddings.word_embeddings.weight");
}

static void distilbert(builder *b, const lmt_config *c) {
    static const char *const nm[8] = {"attention.q_lin", "attention.k_lin", "attention.v_lin", "attention.out_lin",
                                      "sa_layer_norm", "ffn.lin1", "ffn.lin2", "output_layer_norm"};
    int64_t C = c->d_model;
    at(b, LMT_STACK_ENCODER, -1);
    W(b, LMT_ROLE_TOK_EMB, 0, c->vocab_size, C, "distilbert.embeddings.word_embeddings.weight");
    add(b, LMT_ROLE_POS_EMB, c->sinusoidal_positions ? LMT_PARAM_STATIC : 0,
        c->sinusoidal_positions ? LMT_INIT_SINUSOIDAL_DISTILBERT : LMT_INIT_NORMAL, 2, c->max_positions, C,
        "distilbert.embeddings.position_embeddings.weight");
    LN(b, LMT_ROLE_EMB_LN_W, 0, C, "distilbert.embeddings.LayerNorm");
    for (int64_t i = 0; i < c->n_layer; i++) {
        char p[96];
        snprintf(p, sizeof p, "distilbert.transformer.layer.%lld", (long long)i);
        at(b, LMT_STACK_ENCODER, i);
        encoder_layer(b, p, C, c->d_ff, nm);
    }
    at(b, LMT_STACK_NONE, -1);
    mlm_head(b, c, "vocab_transform", "vocab_layer_norm", "vocab_projector.bias", NULL, "vocab_projector.weight",
             "distilbert.embeddings.word_embeddings.weight");
}

static void marian_attention(builder *b, int64_t C, const char *p) {
    LINEAR(b, LMT_ROLE_ATTN_K_W, 0, C, C, "%s.k_proj", p);
    LINEAR(b, LMT_ROLE_ATTN_V_W, 0, C, C, "%s.v_proj", p);
    LINEAR(b, LMT_ROLE_ATTN_Q_W, 0, C, C, "%s.q_proj", p);
    LINEAR(b, LMT_ROLE_ATTN_O_W, 0, C, C, "%s.out_proj", p);
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
    at(b, LMT_STACK_NONE, -1);
    if (share) W(b, LMT_ROLE_SHARED_EMB, 0, c->vocab_size, C, "model.shared.weight");
    if (share && tie) {
        at(b, LMT_STACK_ENCODER, -1);
        alias(b, LMT_ROLE_TOK_EMB, "model.encoder.embed_tokens.weight", "model.shared.weight");
        at(b, LMT_STACK_DECODER, -1);
        alias(b, LMT_ROLE_TOK_EMB, "model.decoder.embed_tokens.weight", "model.shared.weight");
    } else {
        at(b, LMT_STACK_ENCODER, -1);
        W(b, LMT_ROLE_TOK_EMB, 0, c->vocab_size, C, "model.encoder.embed_tokens.weight");
    }
    at(b, LMT_STACK_ENCODER, -1);
    add(b, LMT_ROLE_POS_EMB, LMT_PARAM_STATIC, LMT_INIT_SINUSOIDAL_MARIAN, 2, c->max_positions, C, "model.encoder.embed_positions.weight");
    for (int64_t i = 0; i < c->n_layer; i++) {
        char p[96], q[128];
        snprintf(p, sizeof p, "model.encoder.layers.%lld", (long long)i);
        snprintf(q, sizeof q, "%s.self_attn", p);
        at(b, LMT_STACK_ENCODER, i);
        marian_attention(b, C, q);
        LN(b, LMT_ROLE_ATTN_LN_W, 0, C, "%s.self_attn_layer_norm", p);
        LINEAR(b, LMT_ROLE_FFN_IN_W, 0, c->d_ff, C, "%s.fc1", p);
        LINEAR(b, LMT_ROLE_FFN_OUT_W, 0, C, c->d_ff, "%s.fc2", p);
        LN(b, LMT_ROLE_FFN_LN_W, 0, C, "%s.final_layer_norm", p);
    }
    at(b, LMT_STACK_DECODER, -1);
    if (!(share && tie)) W(b, LMT_ROLE_TOK_EMB, 0, c->dec_vocab_size, C, "model.decoder.embed_tokens.weight");
    add(b, LMT_ROLE_POS_EMB, LMT_PARAM_STATIC, LMT_INIT_SINUSOIDAL_MARIAN, 2, c->max_positions, C, "model.decoder.embed_positions.weight");
    for (int64_t i = 0; i < c->dec_layers; i++) {
        char p[96], q[128];
        snprintf(p, sizeof p, "model.decoder.layers.%lld", (long long)i);
        snprintf(q, sizeof q, "%s.self_attn", p);
        at(b, LMT_STACK_DECODER, i);
        marian_attention(b, C, q);
        LN(b, LMT_ROLE_ATTN_LN_W, 0, C, "%s.self_attn_layer_norm", p);
        snprintf(q, sizeof q, "%s.encoder_attn", p);
        at(b, LMT_STACK_CROSS, i);
        marian_attention(b, C, q);
        LN(b, LMT_ROLE_ATTN_LN_W, 0, C, "%s.encoder_attn_layer_norm", p);
        at(b, LMT_STACK_DECODER, i);
        LINEAR(b, LMT_ROLE_FFN_IN_W, 0, c->dec_ffn, C, "%s.fc1", p);
        LINEAR(b, LMT_ROLE_FFN_OUT_W, 0, C, c->dec_ffn, "%s.fc2", p);
        LN(b, LMT_ROLE_FFN_LN_W, 0, C, "%s.final_layer_norm", p);
    }
    /* lm_head and final_logits_bias: target_vocab_size wide */
    at(b, LMT_STACK_NONE, -1);
    int64_t Vt = share ? c->vocab_size : c->dec_vocab_size;
    const char *dec_table = share ? "model.shared.weight" : "model.decoder.embed_tokens.weight";
    if (tie) alias(b, LMT_ROLE_HEAD_W, "lm_head.weight", dec_table);
    else W(b, LMT_ROLE_HEAD_W, LMT_PARAM_HEAD, Vt, C, "lm_head.weight");
    add(b, LMT_ROLE_HEAD_B, LMT_PARAM_BUFFER | LMT_PARAM_NO_DECAY, LMT_INIT_ZEROS, 2, 1, Vt, "final_logits_bias");
}

/* LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM: RMSNorm weights
 * (no bias) in the LayerNorm roles, q/k/v/o and the SwiGLU's gate/up/down as
 * nn.Linear (out, in), biases only where the config has them. */
static void llama(builder *b, const lmt_config *c) {
    int64_t C = c->d_model, F = c->d_ff, Dq = c->n_head * c->head_dim, Dkv = c->n_kv_head * c->head_dim;
    at(b, LMT_STACK_DECODER, -1);
    W(b, LMT_ROLE_TOK_EMB, 0, c->vocab_size, C, "model.embed_tokens.weight");
    for (int64_t i = 0; i < c->n_layer; i++) {
        char p[96];
        snprintf(p, sizeof p, "model.layers.%lld", (long long)i);
        at(b, LMT_STACK_DECODER, i);
        add(b, LMT_ROLE_ATTN_LN_W, LMT_PARAM_NO_DECAY, LMT_INIT_ONES, 1, C, 0, "%s.input_layernorm.weight", p);
        static const char *const qkv[3] = {"q_proj", "k_proj", "v_proj"};
        for (int k = 0; k < 3; k++) {
            int role = LMT_ROLE_ATTN_Q_W + 2 * k;
            int64_t out = k ? Dkv : Dq;
            W(b, role, 0, out, C, "%s.self_attn.%s.weight", p, qkv[k]);
            if (c->qkv_bias) BIAS(b, role + 1, 0, out, "%s.self_attn.%s.bias", p, qkv[k]);
        }
        W(b, LMT_ROLE_ATTN_O_W, 0, C, Dq, "%s.self_attn.o_proj.weight", p);
        if (c->o_bias) BIAS(b, LMT_ROLE_ATTN_O_B, 0, C, "%s.self_attn.o_proj.bias", p);
        add(b, LMT_ROLE_FFN_LN_W, LMT_PARAM_NO_DECAY, LMT_INIT_ONES, 1, C, 0, "%s.post_attention_layernorm.weight", p);
        W(b, LMT_ROLE_FFN_GATE_W, 0, F, C, "%s.mlp.gate_proj.weight", p);
        if (c->mlp_bias) BIAS(b, LMT_ROLE_FFN_GATE_B, 0, F, "%s.mlp.gate_proj.bias", p);
        W(b, LMT_ROLE_FFN_IN_W, 0, F, C, "%s.mlp.up_proj.weight", p);
        if (c->mlp_bias) BIAS(b, LMT_ROLE_FFN_IN_B, 0, F, "%s.mlp.up_proj.bias", p);
        W(b, LMT_ROLE_FFN_OUT_W, 0, C, F, "%s.mlp.down_proj.weight", p);
        if (c->mlp_bias) BIAS(b, LMT_ROLE_FFN_OUT_B, 0, C, "%s.mlp.down_proj.bias", p);
    }
    at(b, LMT_STACK_DECODER, -1);
    add(b, LMT_ROLE_FINAL_LN_W, LMT_PARAM_NO_DECAY, LMT_INIT_ONES, 1, C, 0, "model.norm.weight");
    at(b, LMT_STACK_NONE, -1);
    if (c->tie_word_embeddings) alias(b, LMT_ROLE_HEAD_W, "lm_head.weight", "model.embed_tokens.weight");
    else W(b, LMT_ROLE_HEAD_W, LMT_PARAM_HEAD, c->vocab_size, C, "lm_head.weight");
}

lmt_status lmt_layout_build(const lmt_config *cfg, lmt_layout *out) {
    memset(out, 0, sizeof *out);
    builder b = {out, 0, 0, false, LMT_STACK_NONE, -1};
    switch (cfg->arch) {
    case LMT_ARCH_GPT2: gpt2(&b, cfg); out->base_prefix = "transformer."; break;
    case LMT_ARCH_BERT: bert(&b, cfg); out->base_prefix = "bert."; break;
    case LMT_ARCH_ROBERTA: roberta(&b, cfg); out->base_prefix = "roberta."; break;
    case LMT_ARCH_DISTILBERT: distilbert(&b, cfg); out->base_prefix = "distilbert."; break;
    case LMT_ARCH_MARIAN: marian(&b, cfg); out->base_prefix = "model."; break;
    case LMT_ARCH_LLAMA:
    case LMT_ARCH_MISTRAL:
    case LMT_ARCH_QWEN2: llama(&b, cfg); out->base_prefix = "model."; break;
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
           ends_with(name, "embeddings.position_ids") || ends_with(name, "embed_positions._float_tensor") ||
           ends_with(name, "rotary_emb.inv_freq");
}

long lmt_layout_slot(const lmt_layout *l, int stack, int layer, int role) {
    for (size_t i = 0; i < l->n_params; i++) {
        const lmt_slot *s = &l->params[i].slot;
        if (s->role == role && s->stack == stack && s->layer == layer) return (long)i;
    }
    for (size_t i = 0; i < l->n_aliases; i++) {
        const lmt_slot *s = &l->aliases[i].slot;
        if (s->role == role && s->stack == stack && s->layer == layer) return lmt_layout_find(l, l->aliases[i].target);
    }
    return -1;
}
