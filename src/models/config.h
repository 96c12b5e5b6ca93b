/* config.json of the supported architectures, normalised to one struct.
 * Field names of each architecture (n_embd, hidden_size, dim, d_model, ...)
 * map onto the same members; HF's defaults fill what a file leaves out. */
#ifndef LMT_MODELS_CONFIG_H
#define LMT_MODELS_CONFIG_H
#include <stdbool.h>
#include <stdint.h>
#include "lmtune/lmtune.h"
#include "core/json.h"
#include "core/util.h"
#include "kernels/activation.h"

/* The transformers release whose files lmtune writes (transformers_version
 * in config.json and generation_config.json, the model card). */
#define LMT_TRANSFORMERS_VERSION "5.23.0"

/* config.json's hidden_act names: lmt_activation is the kernels' enum */
const char *lmt_activation_name(lmt_activation a);

/* Rotary position embeddings (rope_parameters, or rope_theta + rope_scaling) */
typedef enum { LMT_ROPE_DEFAULT, LMT_ROPE_LINEAR, LMT_ROPE_DYNAMIC, LMT_ROPE_LLAMA3 } lmt_rope_type;
typedef struct lmt_rope {
    lmt_rope_type type;
    double theta;                /* rope_theta */
    double factor;               /* linear, dynamic, llama3 */
    double low_freq_factor, high_freq_factor;   /* llama3 */
    int64_t original_max_positions;             /* llama3: original_max_position_embeddings */
} lmt_rope;

typedef struct lmt_config {
    lmt_arch arch;
    int64_t vocab_size;
    int64_t max_positions;       /* n_positions / max_position_embeddings */
    int64_t d_model;             /* n_embd / hidden_size / dim / d_model */
    int64_t n_layer;             /* encoder layers for Marian */
    int64_t n_head;
    int64_t d_ff;                /* n_inner (4*n_embd) / intermediate_size / hidden_dim / encoder_ffn_dim */
    int64_t dec_layers, dec_heads, dec_ffn;  /* Marian decoder */
    int64_t dec_vocab_size;      /* Marian decoder_vocab_size (= vocab_size when shared) */
    int64_t type_vocab_size;     /* BERT/RoBERTa token types; 0 otherwise */
    double layer_norm_eps;
    double dropout;              /* resid_pdrop / hidden_dropout_prob / dropout */
    double attn_dropout;
    double embd_dropout;         /* GPT-2 embd_pdrop; = dropout elsewhere */
    double activation_dropout;   /* Marian */
    double initializer_range;    /* initializer_range / init_std */
    lmt_activation act;
    int64_t pad_token_id, bos_token_id, eos_token_id, decoder_start_token_id; /* -1 = none */
    bool tie_word_embeddings;
    bool scale_embedding;        /* Marian: embeddings * sqrt(d_model) */
    bool share_encoder_decoder_embeddings; /* Marian */
    bool sinusoidal_positions;   /* DistilBERT sinusoidal_pos_embds; Marian always static */
    bool scale_attn_weights;     /* GPT-2 */
    /* Llama family (Llama, Mistral, Qwen2) */
    int64_t n_kv_head;           /* num_key_value_heads (grouped-query attention); = n_head elsewhere */
    int64_t head_dim;            /* head_dim (explicit, or d_model / n_head) */
    lmt_rope rope;
    bool qkv_bias, o_bias;       /* attention_bias: q/k/v (Qwen2: always) and o_proj (Llama only) */
    bool mlp_bias;               /* gate/up/down_proj biases */
    int64_t sliding_window;      /* keys this far back or further are masked; 0 = none (Mistral: every
                                    layer; Qwen2 use_sliding_window: the layers lmt_config_layer_window says) */
    int64_t max_window_layers;   /* Qwen2: without layer_types, the first layer with the window */
    char *source;                /* path of config.json (for messages) */
    lmt_json *raw;               /* the file as read, written back on save */
} lmt_config;

lmt_status lmt_config_load(const char *path, lmt_config *cfg);
/* Takes ownership of j. */
lmt_status lmt_config_from_json(lmt_json *j, const char *source, lmt_config *cfg);
void lmt_config_free(lmt_config *cfg);
/* config.json as save_pretrained writes it: keys sorted, indent 2, "\n" at the end. */
char *lmt_config_to_json(const lmt_config *cfg);
/* The sliding window of layer l's self-attention, 0 for full attention:
 * Mistral's on every layer; Qwen2's (use_sliding_window) on the layers
 * layer_types marks "sliding_attention" - by default, as Qwen2Config
 * derives it, those from max_window_layers on. */
int64_t lmt_config_layer_window(const lmt_config *c, int64_t layer);
/* Whether the architecture has an encoder-decoder structure. */
bool lmt_arch_is_encoder_decoder(lmt_arch a);
/* Whether the architecture is a Llama-family decoder (Llama, Mistral, Qwen2). */
bool lmt_arch_is_llama(lmt_arch a);
/* PreTrainedModel.can_generate(): the causal LMs and Marian (not the MLMs). */
bool lmt_arch_can_generate(lmt_arch a);
#endif
