/* The in-memory model: config, parameter layout and one flat fp32 buffer.
 * The model code (gpt2.c, encoder_mlm.c, marian.c) binds pointers into
 * `params` by layout slot (lmt_net_slot); lmt_model_tensor() finds one by HF
 * name. */
#ifndef LMT_MODELS_MODEL_H
#define LMT_MODELS_MODEL_H
#include "lmtune/lmtune.h"
#include "core/json.h"
#include "models/config.h"
#include "models/layout.h"

typedef struct lmt_load_report {
    char *weights_file;        /* file the weights came from, NULL if none */
    char **missing;            /* HF names initialised fresh (not in the checkpoint) */
    size_t n_missing;
    char **unused;             /* checkpoint keys the model does not use */
    size_t n_unused;
    lmt_dtype *src_dtype;      /* per parameter: dtype in the file (LMT_F32 if missing) */
    bool added_prefix;         /* checkpoint of the bare model: base prefix added */
} lmt_load_report;

struct lmt_model {
    lmt_config cfg;
    lmt_layout layout;
    float *params;             /* layout.num_floats, 64-byte aligned */
    lmt_json *generation_config; /* generation_config.json as read, or NULL */
    lmt_load_report report;
    char *dir;
    /* lmt_model_set_save_options: the dtype model files are written in
     * (-1: auto, the checkpoint's own) and the shard size (0: transformers'
     * default "50GB") */
    int save_dtype;
    uint64_t max_shard_size;
    /* Set before the nets are set up when LoRA adapters will train instead
     * (lmt_finetune_run with an adapter): a net with gradients then gets no
     * buffer for the base's (its peak memory), only what lmt_lora_attach gives it. */
    bool frozen;
    /* transformers' gradient_checkpointing_enable(): models set up for
     * training from now on recompute each layer's activations in the
     * backward (models/blocks/stack.h) */
    bool gradient_checkpointing;
};

/* A model with this config and freshly initialised weights (HF's init:
 * normal(0, initializer_range) matrices, zero biases, unit LayerNorm). */
lmt_status lmt_model_init(lmt_config *cfg_moved, uint64_t seed, lmt_model **out);
/* Pointer to a parameter by HF name (aliases resolved), or NULL. */
float *lmt_model_tensor(lmt_model *m, const char *hf_name);
/* GenerationConfig.from_model_config: what save_pretrained writes as
 * generation_config.json for a model without one (lmt_model_save). NULL
 * when out of memory. Caller frees. */
lmt_json *lmt_model_generation_config_default(const lmt_model *m);
/* Initialises parameter i as its spec says. */
void lmt_model_init_param(lmt_model *m, size_t i, uint64_t seed);
#endif
