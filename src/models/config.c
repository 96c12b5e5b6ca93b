/* config.json parsing for gpt2, bert, roberta, distilbert, marian, llama, mistral and qwen2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "models/config.h"

static const char *const arch_names[LMT_ARCH_COUNT] = {"gpt2", "bert", "roberta", "distilbert", "marian",
                                                      "llama", "mistral", "qwen2"};
static const char *const arch_classes[LMT_ARCH_COUNT] = {"GPT2LMHeadModel", "BertForMaskedLM", "RobertaForMaskedLM",
                                                         "DistilBertForMaskedLM", "MarianMTModel", "LlamaForCausalLM",
                                                         "MistralForCausalLM", "Qwen2ForCausalLM"};

const char *lmt_arch_name(lmt_arch a) { return (unsigned)a < LMT_ARCH_COUNT ? arch_names[a] : "?"; }
const char *lmt_arch_class_name(lmt_arch a) { return (unsigned)a < LMT_ARCH_COUNT ? arch_classes[a] : "?"; }
bool lmt_arch_is_encoder_decoder(lmt_arch a) { return a == LMT_ARCH_MARIAN; }
bool lmt_arch_is_llama(lmt_arch a) { return a == LMT_ARCH_LLAMA || a == LMT_ARCH_MISTRAL || a == LMT_ARCH_QWEN2; }
bool lmt_arch_can_generate(lmt_arch a) { return a == LMT_ARCH_GPT2 || a == LMT_ARCH_MARIAN || lmt_arch_is_llama(a); }

const char *lmt_activation_name(lmt_activation a) {
    switch (a) {
    case LMT_ACT_GELU_TANH: return "gelu_new";
    case LMT_ACT_GELU: return "gelu";
    case LMT_ACT_RELU: return "relu";
    case LMT_ACT_SILU: return "silu";
    }
    return "?";
}

/* Class-name prefixes that identify an architecture when model_type is
 * absent (old configs such as distilgpt2's). */
static int arch_from_class(const char *cls) {
    static const struct { const char *prefix; lmt_arch a; } t[] = {
        {"GPT2", LMT_ARCH_GPT2}, {"DistilBert", LMT_ARCH_DISTILBERT}, {"Roberta", LMT_ARCH_ROBERTA},
        {"Bert", LMT_ARCH_BERT}, {"Marian", LMT_ARCH_MARIAN}, {"Llama", LMT_ARCH_LLAMA},
        {"Mistral", LMT_ARCH_MISTRAL}, {"Qwen2", LMT_ARCH_QWEN2}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strncmp(cls, t[i].prefix, strlen(t[i].prefix)) == 0) return (int)t[i].a;
    return -1;
}

static lmt_status parse_activation(const char *name, const char *source, const char *key, lmt_activation *out) {
    if (!strcmp(name, "gelu_new") || !strcmp(name, "gelu_pytorch_tanh") || !strcmp(name, "gelu_fast")) *out = LMT_ACT_GELU_TANH;
    else if (!strcmp(name, "gelu")) *out = LMT_ACT_GELU;
    else if (!strcmp(name, "relu")) *out = LMT_ACT_RELU;
    else if (!strcmp(name, "swish") || !strcmp(name, "silu")) *out = LMT_ACT_SILU;
    else return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: %s \"%s\" is not supported (gelu_new, gelu, relu, swish/silu)", source, key, name);
    return LMT_OK;
}

static lmt_status parse_llama(const lmt_json *j, const char *src, lmt_config *c);

#define GET_INT(key, def, dst) do { int64_t v_; LMT_TRY(lmt_json_get_int(j, key, def, src, &v_)); dst = v_; } while (0)
#define GET_NUM(key, def, dst) LMT_TRY(lmt_json_get_num(j, key, def, src, &(dst)))
#define GET_BOOL(key, def, dst) LMT_TRY(lmt_json_get_bool(j, key, def, src, &(dst)))

static lmt_status parse_fields(const lmt_json *j, const char *src, lmt_config *c) {
    const char *act = NULL;
    switch (c->arch) {
    case LMT_ARCH_GPT2:
        GET_INT("vocab_size", 50257, c->vocab_size);
        GET_INT("n_positions", 1024, c->max_positions);
        GET_INT("n_embd", 768, c->d_model);
        GET_INT("n_layer", 12, c->n_layer);
        GET_INT("n_head", 12, c->n_head);
        /* an n_embd out of range is refused below, by name; 4x it must not overflow first */
        GET_INT("n_inner", c->d_model > 0 && c->d_model <= (1 << 16) ? 4 * c->d_model : 0, c->d_ff);
        LMT_TRY(lmt_json_get_str(j, "activation_function", "gelu_new", src, &act));
        GET_NUM("resid_pdrop", 0.1, c->dropout);
        GET_NUM("embd_pdrop", 0.1, c->embd_dropout);
        GET_NUM("attn_pdrop", 0.1, c->attn_dropout);
        GET_NUM("layer_norm_epsilon", 1e-5, c->layer_norm_eps);
        GET_NUM("initializer_range", 0.02, c->initializer_range);
        GET_INT("bos_token_id", 50256, c->bos_token_id);
        GET_INT("eos_token_id", 50256, c->eos_token_id);
        GET_INT("pad_token_id", -1, c->pad_token_id);
        GET_BOOL("scale_attn_weights", true, c->scale_attn_weights);
        {
            bool by_layer = false, upcast = false;
            GET_BOOL("scale_attn_by_inverse_layer_idx", false, by_layer);
            GET_BOOL("reorder_and_upcast_attn", false, upcast);
            if (by_layer) return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: scale_attn_by_inverse_layer_idx=true is not supported", src);
        }
        break;
    case LMT_ARCH_BERT:
    case LMT_ARCH_ROBERTA: {
        bool rob = c->arch == LMT_ARCH_ROBERTA;
        GET_INT("vocab_size", rob ? 50265 : 30522, c->vocab_size);
        GET_INT("hidden_size", 768, c->d_model);
        GET_INT("num_hidden_layers", 12, c->n_layer);
        GET_INT("num_attention_heads", 12, c->n_head);
        GET_INT("intermediate_size", 3072, c->d_ff);
        LMT_TRY(lmt_json_get_str(j, "hidden_act", "gelu", src, &act));
        GET_NUM("hidden_dropout_prob", 0.1, c->dropout);
        GET_NUM("attention_probs_dropout_prob", 0.1, c->attn_dropout);
        c->embd_dropout = c->dropout;
        GET_INT("max_position_embeddings", 512, c->max_positions);
        GET_INT("type_vocab_size", 2, c->type_vocab_size);
        GET_NUM("initializer_range", 0.02, c->initializer_range);
        GET_NUM("layer_norm_eps", 1e-12, c->layer_norm_eps);
        GET_INT("pad_token_id", rob ? 1 : 0, c->pad_token_id);
        GET_INT("bos_token_id", rob ? 0 : -1, c->bos_token_id);
        GET_INT("eos_token_id", rob ? 2 : -1, c->eos_token_id);
        const char *pet = NULL;
        LMT_TRY(lmt_json_get_str(j, "position_embedding_type", "absolute", src, &pet));
        if (strcmp(pet, "absolute") != 0)
            return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: position_embedding_type \"%s\" is not supported (absolute)", src, pet);
        break;
    }
    case LMT_ARCH_DISTILBERT:
        GET_INT("vocab_size", 30522, c->vocab_size);
        GET_INT("max_position_embeddings", 512, c->max_positions);
        GET_INT("dim", 768, c->d_model);
        GET_INT("n_layers", 6, c->n_layer);
        GET_INT("n_heads", 12, c->n_head);
        GET_INT("hidden_dim", 4 * 768, c->d_ff);
        LMT_TRY(lmt_json_get_str(j, "activation", "gelu", src, &act));
        GET_NUM("dropout", 0.1, c->dropout);
        GET_NUM("attention_dropout", 0.1, c->attn_dropout);
        c->embd_dropout = c->dropout;
        GET_NUM("initializer_range", 0.02, c->initializer_range);
        GET_INT("pad_token_id", 0, c->pad_token_id);
        GET_BOOL("sinusoidal_pos_embds", false, c->sinusoidal_positions);
        c->layer_norm_eps = 1e-12;  /* fixed in DistilBERT's modules */
        break;
    case LMT_ARCH_MARIAN:
        GET_INT("vocab_size", 58101, c->vocab_size);
        GET_INT("decoder_vocab_size", c->vocab_size, c->dec_vocab_size);
        GET_INT("max_position_embeddings", 1024, c->max_positions);
        GET_INT("d_model", 1024, c->d_model);
        GET_INT("encoder_layers", 12, c->n_layer);
        GET_INT("encoder_attention_heads", 16, c->n_head);
        GET_INT("encoder_ffn_dim", 4096, c->d_ff);
        GET_INT("decoder_layers", 12, c->dec_layers);
        GET_INT("decoder_attention_heads", 16, c->dec_heads);
        GET_INT("decoder_ffn_dim", 4096, c->dec_ffn);
        LMT_TRY(lmt_json_get_str(j, "activation_function", "gelu", src, &act));
        GET_NUM("dropout", 0.1, c->dropout);
        GET_NUM("attention_dropout", 0.0, c->attn_dropout);
        GET_NUM("activation_dropout", 0.0, c->activation_dropout);
        c->embd_dropout = c->dropout;
        GET_NUM("init_std", 0.02, c->initializer_range);
        GET_INT("pad_token_id", 58100, c->pad_token_id);
        GET_INT("eos_token_id", 0, c->eos_token_id);
        GET_INT("bos_token_id", -1, c->bos_token_id);
        GET_INT("decoder_start_token_id", 58100, c->decoder_start_token_id);
        GET_BOOL("scale_embedding", false, c->scale_embedding);
        GET_BOOL("share_encoder_decoder_embeddings", true, c->share_encoder_decoder_embeddings);
        c->sinusoidal_positions = true;
        c->layer_norm_eps = 1e-5;
        {
            bool nb = false, fln = false, ne = false;
            GET_BOOL("normalize_before", false, nb);
            GET_BOOL("add_final_layer_norm", false, fln);
            GET_BOOL("normalize_embedding", false, ne);
            if (nb || fln || ne)
                return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: normalize_before / add_final_layer_norm / normalize_embedding are not used by MarianMTModel and must be false", src);
        }
        break;
    case LMT_ARCH_LLAMA:
    case LMT_ARCH_MISTRAL:
    case LMT_ARCH_QWEN2:
        LMT_TRY(parse_llama(j, src, c));
        act = "silu";   // checked there
        break;
    default:
        return lmt_fail(LMT_ERR_INTERNAL, "%s: unknown architecture", src);
    }
    if (!lmt_arch_is_llama(c->arch)) {
        c->n_kv_head = c->n_head;
        c->head_dim = c->d_model / (c->n_head > 0 ? c->n_head : 1);
    }
    GET_BOOL("tie_word_embeddings", !lmt_arch_is_llama(c->arch), c->tie_word_embeddings);
    LMT_TRY(parse_activation(act, src, "activation", &c->act));

    /* Sanity: what the kernels rely on. */
    struct { const char *what; int64_t v; int64_t max; } pos[] = {
        {"vocab size", c->vocab_size, 1 << 24}, {"max positions", c->max_positions, 1 << 20},
        {"hidden size", c->d_model, 1 << 16}, {"layer count", c->n_layer, 1024},
        {"head count", c->n_head, 1024}, {"feed-forward size", c->d_ff, 1 << 18}};
    for (size_t i = 0; i < sizeof pos / sizeof pos[0]; i++)
        if (pos[i].v <= 0 || pos[i].v > pos[i].max)
            return lmt_fail(LMT_ERR_FORMAT, "%s: %s %lld is out of range (1..%lld)", src, pos[i].what, (long long)pos[i].v, (long long)pos[i].max);
    if (!lmt_arch_is_llama(c->arch) && c->d_model % c->n_head)
        return lmt_fail(LMT_ERR_FORMAT, "%s: hidden size %lld is not a multiple of the head count %lld", src, (long long)c->d_model, (long long)c->n_head);
    if (c->arch == LMT_ARCH_MARIAN) {
        if (c->dec_layers <= 0 || c->dec_layers > 1024 || c->dec_heads <= 0 || c->dec_ffn <= 0 || c->dec_ffn > (1 << 18) ||
            c->dec_vocab_size <= 0 || c->dec_vocab_size > (1 << 24))
            return lmt_fail(LMT_ERR_FORMAT, "%s: decoder sizes out of range", src);
        if (c->d_model % c->dec_heads)
            return lmt_fail(LMT_ERR_FORMAT, "%s: d_model %lld is not a multiple of decoder_attention_heads %lld", src, (long long)c->d_model, (long long)c->dec_heads);
        /* Shared embeddings: one (vocab_size, C) table and lm_head, while
         * transformers reshapes the logits by decoder_vocab_size. */
        if (c->share_encoder_decoder_embeddings && c->dec_vocab_size != c->vocab_size)
            return lmt_fail(LMT_ERR_FORMAT, "%s: decoder_vocab_size %lld differs from vocab_size %lld, which needs \"share_encoder_decoder_embeddings\": false",
                            src, (long long)c->dec_vocab_size, (long long)c->vocab_size);
    }
    if (c->arch == LMT_ARCH_BERT || c->arch == LMT_ARCH_ROBERTA) {
        if (c->type_vocab_size < 0 || c->type_vocab_size > 1024)
            return lmt_fail(LMT_ERR_FORMAT, "%s: type_vocab_size %lld is out of range", src, (long long)c->type_vocab_size);
    }
    /* Ids the model itself indexes with (nn.Embedding padding_idx, the
     * decoder start) must exist; bos/eos only matter to generation. */
    int64_t used[3] = {c->arch == LMT_ARCH_GPT2 ? -1 : c->pad_token_id, c->decoder_start_token_id, -1};
    int64_t limit[3] = {c->vocab_size, c->vocab_size, c->vocab_size};
    const char *what[3] = {"pad_token_id", "decoder_start_token_id", "pad_token_id"};
    const char *vocab[3] = {"vocab_size", "vocab_size", "vocab_size"};
    if (c->arch == LMT_ARCH_MARIAN) {
        /* the decoder start is a decoder token; pad is both tables' padding_idx */
        limit[1] = c->dec_vocab_size;
        vocab[1] = "decoder_vocab_size";
        used[2] = c->pad_token_id;
        limit[2] = c->dec_vocab_size;
        vocab[2] = "decoder_vocab_size";
    }
    for (int k = 0; k < 3; k++)
        if (used[k] >= limit[k] || used[k] < -1)
            return lmt_fail(LMT_ERR_FORMAT, "%s: %s %lld is outside the vocabulary (%s %lld)", src, what[k], (long long)used[k],
                            vocab[k], (long long)limit[k]);
    if (c->layer_norm_eps <= 0 || c->dropout < 0 || c->dropout >= 1 || c->attn_dropout < 0 || c->attn_dropout >= 1)
        return lmt_fail(LMT_ERR_FORMAT, "%s: layer norm epsilon or dropout out of range", src);
    return LMT_OK;
}

/* An id that may be a list (Llama 3's eos_token_id): its first entry. */
static lmt_status get_id(const lmt_json *j, const char *key, int64_t def, const char *src, int64_t *out) {
    const lmt_json *v = lmt_json_get(j, key);
    if (v && v->type == LMT_JSON_ARRAY) {
        if (v->len == 0) { *out = def; return LMT_OK; }
        if (v->items[0].type != LMT_JSON_NUMBER || !v->items[0].is_int)
            return lmt_fail(LMT_ERR_FORMAT, "%s: %s must hold integers", src, key);
        *out = v->items[0].i64;
        return LMT_OK;
    }
    return lmt_json_get_int(j, key, def, src, out);
}

/* rope_parameters (transformers 5) or rope_theta + rope_scaling (older files). */
static lmt_status parse_rope(const lmt_json *j, const char *src, lmt_config *c) {
    lmt_rope *r = &c->rope;
    const lmt_json *rp = lmt_json_get(j, "rope_parameters");
    if (rp && rp->type == LMT_JSON_NULL) rp = NULL;
    const lmt_json *rs = lmt_json_get(j, "rope_scaling");
    if (rs && rs->type == LMT_JSON_NULL) rs = NULL;
    if (rp && rp->type == LMT_JSON_OBJECT && lmt_json_get(rp, "rope_type") == NULL && lmt_json_get(rp, "type") == NULL &&
        lmt_json_get(rp, "rope_theta") == NULL) rp = NULL;   // an empty or foreign object: as absent
    const lmt_json *p = rp ? rp : rs;
    if (p && p->type != LMT_JSON_OBJECT)
        return lmt_fail(LMT_ERR_FORMAT, "%s: %s must be an object", src, rp ? "rope_parameters" : "rope_scaling");
    LMT_TRY(lmt_json_get_num(j, "rope_theta", 10000.0, src, &r->theta));
    if (rp) LMT_TRY(lmt_json_get_num(rp, "rope_theta", r->theta, src, &r->theta));
    const char *type = "default";
    if (p) {
        LMT_TRY(lmt_json_get_str(p, "type", "default", src, &type));
        LMT_TRY(lmt_json_get_str(p, "rope_type", type, src, &type));
        LMT_TRY(lmt_json_get_num(p, "factor", 1.0, src, &r->factor));
        LMT_TRY(lmt_json_get_num(p, "low_freq_factor", 1.0, src, &r->low_freq_factor));
        LMT_TRY(lmt_json_get_num(p, "high_freq_factor", 4.0, src, &r->high_freq_factor));
        LMT_TRY(lmt_json_get_int(p, "original_max_position_embeddings", c->max_positions, src, &r->original_max_positions));
        double prf = 1.0;
        LMT_TRY(lmt_json_get_num(p, "partial_rotary_factor", 1.0, src, &prf));
        if (prf != 1.0) return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: partial_rotary_factor %g is not supported (1.0)", src, prf);
    }
    double prf = 1.0;
    LMT_TRY(lmt_json_get_num(j, "partial_rotary_factor", 1.0, src, &prf));
    if (prf != 1.0) return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: partial_rotary_factor %g is not supported (1.0)", src, prf);
    if (!strcmp(type, "default")) r->type = LMT_ROPE_DEFAULT;
    else if (!strcmp(type, "linear")) r->type = LMT_ROPE_LINEAR;
    else if (!strcmp(type, "dynamic")) r->type = LMT_ROPE_DYNAMIC;
    else if (!strcmp(type, "llama3")) r->type = LMT_ROPE_LLAMA3;
    else return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: rope type \"%s\" is not supported (default, linear, dynamic, llama3)", src, type);
    if (!(r->theta > 0) || (r->type != LMT_ROPE_DEFAULT && !(r->factor > 0)))
        return lmt_fail(LMT_ERR_FORMAT, "%s: rope_theta %g or rope factor %g out of range", src, r->theta, r->factor);
    if (r->type == LMT_ROPE_LLAMA3 && (!(r->high_freq_factor > r->low_freq_factor) || !(r->low_freq_factor > 0) ||
                                        r->original_max_positions <= 0))
        return lmt_fail(LMT_ERR_FORMAT, "%s: llama3 rope needs high_freq_factor > low_freq_factor > 0 and original_max_position_embeddings > 0", src);
    return LMT_OK;
}

/* LlamaConfig, MistralConfig, Qwen2Config */
static lmt_status parse_llama(const lmt_json *j, const char *src, lmt_config *c) {
    bool mistral = c->arch == LMT_ARCH_MISTRAL, qwen = c->arch == LMT_ARCH_QWEN2;
    const char *act = NULL;
    GET_INT("vocab_size", qwen ? 151936 : 32000, c->vocab_size);
    GET_INT("hidden_size", 4096, c->d_model);
    GET_INT("intermediate_size", mistral ? 14336 : qwen ? 22016 : 11008, c->d_ff);
    GET_INT("num_hidden_layers", 32, c->n_layer);
    GET_INT("num_attention_heads", 32, c->n_head);
    GET_INT("num_key_value_heads", mistral ? 8 : c->n_head, c->n_kv_head);
    if (c->n_head <= 0 || c->n_head > 1024)
        return lmt_fail(LMT_ERR_FORMAT, "%s: num_attention_heads %lld is out of range (1..1024)", src, (long long)c->n_head);
    GET_INT("head_dim", c->d_model / c->n_head, c->head_dim);
    GET_INT("max_position_embeddings", mistral ? 4096 * 32 : qwen ? 32768 : 2048, c->max_positions);
    LMT_TRY(lmt_json_get_str(j, "hidden_act", "silu", src, &act));
    if (strcmp(act, "silu") && strcmp(act, "swish"))
        return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: hidden_act \"%s\" is not supported for %s (silu)", src, act, arch_classes[c->arch]);
    GET_NUM("initializer_range", 0.02, c->initializer_range);
    GET_NUM("rms_norm_eps", 1e-6, c->layer_norm_eps);
    GET_NUM("attention_dropout", 0.0, c->attn_dropout);
    LMT_TRY(get_id(j, "pad_token_id", -1, src, &c->pad_token_id));
    LMT_TRY(get_id(j, "bos_token_id", qwen ? -1 : 1, src, &c->bos_token_id));
    LMT_TRY(get_id(j, "eos_token_id", qwen ? -1 : 2, src, &c->eos_token_id));
    bool ab = false;
    if (c->arch == LMT_ARCH_LLAMA) {
        GET_BOOL("attention_bias", false, ab);
        GET_BOOL("mlp_bias", false, c->mlp_bias);
    }
    c->qkv_bias = ab || qwen;
    c->o_bias = ab;
    if (c->n_kv_head <= 0 || c->n_kv_head > c->n_head || c->n_head % c->n_kv_head)
        return lmt_fail(LMT_ERR_FORMAT, "%s: num_attention_heads %lld is not a multiple of num_key_value_heads %lld", src,
                        (long long)c->n_head, (long long)c->n_kv_head);
    if (c->head_dim <= 0 || c->head_dim > 4096 || c->head_dim % 2)
        return lmt_fail(LMT_ERR_FORMAT, "%s: head_dim %lld must be even and in 2..4096%s", src, (long long)c->head_dim,
                        lmt_json_get(j, "head_dim") ? "" : " (hidden_size / num_attention_heads)");
    LMT_TRY(parse_rope(j, src, c));
    /* sliding_window: Mistral whenever set (every layer: MistralConfig ignores
     * layer_types); Qwen2 with use_sliding_window, on the layers of
     * lmt_config_layer_window */
    int64_t sw = 0;
    GET_INT("sliding_window", 0, sw);
    bool use_sw = mistral;
    if (qwen) GET_BOOL("use_sliding_window", false, use_sw);
    c->sliding_window = use_sw && sw > 0 ? sw : 0;
    if (sw < 0 || sw > INT32_MAX) return lmt_fail(LMT_ERR_FORMAT, "%s: sliding_window %lld is out of range", src, (long long)sw);
    if (qwen) {
        GET_INT("max_window_layers", 28, c->max_window_layers);
        const lmt_json *lt = lmt_json_get(j, "layer_types");
        if (lt && lt->type != LMT_JSON_NULL) {
            if (lt->type != LMT_JSON_ARRAY || (int64_t)lt->len != c->n_layer)
                return lmt_fail(LMT_ERR_FORMAT, "%s: layer_types must list num_hidden_layers (%lld) entries", src, (long long)c->n_layer);
            for (size_t i = 0; i < lt->len; i++) {
                const lmt_json *e = &lt->items[i];
                if (e->type != LMT_JSON_STRING || (strcmp(e->str, "full_attention") && strcmp(e->str, "sliding_attention")))
                    return lmt_fail(LMT_ERR_FORMAT, "%s: layer_types[%zu] must be \"full_attention\" or \"sliding_attention\"", src, i);
            }
        }
    }
    return LMT_OK;
}

int64_t lmt_config_layer_window(const lmt_config *c, int64_t layer) {
    if (c->sliding_window <= 0 || c->arch == LMT_ARCH_MISTRAL) return c->sliding_window;
    if (c->arch != LMT_ARCH_QWEN2) return 0;
    const lmt_json *lt = c->raw ? lmt_json_get(c->raw, "layer_types") : NULL;
    if (lt && lt->type == LMT_JSON_ARRAY && layer >= 0 && (size_t)layer < lt->len)   // checked when parsed
        return !strcmp(lt->items[layer].str, "sliding_attention") ? c->sliding_window : 0;
    return layer >= c->max_window_layers ? c->sliding_window : 0;
}

lmt_status lmt_config_from_json(lmt_json *j, const char *source, lmt_config *c) {
    memset(c, 0, sizeof *c);
    c->pad_token_id = c->bos_token_id = c->eos_token_id = c->decoder_start_token_id = -1;
    c->source = lmt_strdup(source ? source : "config.json");
    c->raw = j;
    if (!c->source) { lmt_config_free(c); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    char src[1024];
    snprintf(src, sizeof src, "%s", c->source);
    if (!j || j->type != LMT_JSON_OBJECT) {
        lmt_config_free(c);
        return lmt_fail(LMT_ERR_FORMAT, "%s: must hold a JSON object", src);
    }
    const char *mt = NULL;
    lmt_status s = lmt_json_get_str(j, "model_type", NULL, src, &mt);
    if (s != LMT_OK) { lmt_config_free(c); return s; }
    int arch = -1;
    if (mt) {
        for (int a = 0; a < LMT_ARCH_COUNT; a++)
            if (!strcmp(mt, arch_names[a])) arch = a;
        if (arch < 0) {
            lmt_status e = lmt_fail(LMT_ERR_UNSUPPORTED, "%s: model_type \"%s\" is not supported (gpt2, bert, roberta, distilbert, marian, llama, mistral, qwen2)", src, mt);
            lmt_config_free(c);
            return e;
        }
    } else {
        /* As AutoConfig falls back to pattern matching, use the class name. */
        const lmt_json *archs = lmt_json_get(j, "architectures");
        if (archs && archs->type == LMT_JSON_ARRAY && archs->len > 0 && archs->items[0].type == LMT_JSON_STRING)
            arch = arch_from_class(archs->items[0].str);
        if (arch < 0) {
            lmt_config_free(c);
            return lmt_fail(LMT_ERR_FORMAT, "%s: missing \"model_type\" (and no known class in \"architectures\")", src);
        }
    }
    c->arch = (lmt_arch)arch;
    s = parse_fields(j, src, c);
    if (s != LMT_OK) {
        char msg[2048];
        snprintf(msg, sizeof msg, "%s", lmt_last_error());
        lmt_config_free(c);
        return lmt_fail(s, "%s", msg);
    }
    return LMT_OK;
}

lmt_status lmt_config_load(const char *path, lmt_config *cfg) {
    lmt_json *j;
    memset(cfg, 0, sizeof *cfg);
    LMT_TRY(lmt_json_parse_file(path, &j));
    return lmt_config_from_json(j, path, cfg);
}

void lmt_config_free(lmt_config *c) {
    if (!c) return;
    free(c->source);
    lmt_json_free(c->raw);
    memset(c, 0, sizeof *c);
}

char *lmt_config_to_json(const lmt_config *c) {
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_json_write_py(&b, c->raw, 2, true);
    lmt_sb_putc(&b, '\n');
    return lmt_sb_take(&b);
}
