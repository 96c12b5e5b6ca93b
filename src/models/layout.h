/* Each architecture's parameters: their HF names, shapes and places in the
 * one flat fp32 buffer, in HF's own orientation (GPT-2 Conv1D weights are
 * (in, out); nn.Linear weights are (out, in)) so loading and saving are
 * plain copies. Tied weights appear once; their other HF names are aliases. */
#ifndef LMT_MODELS_LAYOUT_H
#define LMT_MODELS_LAYOUT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lmtune/lmtune.h"
#include "models/config.h"

enum {
    LMT_PARAM_NO_DECAY = 1 << 0,  /* bias / LayerNorm weight: no weight decay */
    LMT_PARAM_HEAD = 1 << 1,      /* part of the task head: freshly initialised when missing */
    LMT_PARAM_BUFFER = 1 << 2,    /* persistent buffer, not trained (final_logits_bias) */
    LMT_PARAM_STATIC = 1 << 3,    /* computed, not trained (sinusoidal positions) */
};

typedef enum { LMT_INIT_NORMAL, LMT_INIT_ZEROS, LMT_INIT_ONES, LMT_INIT_SINUSOIDAL_MARIAN,
               LMT_INIT_SINUSOIDAL_DISTILBERT } lmt_init_kind;

typedef struct lmt_param_spec {
    char name[128];          /* HF state_dict key */
    int ndim;
    int64_t shape[4];
    size_t offset, numel;    /* in floats, in the flat buffer */
    unsigned flags;
    lmt_init_kind init;
} lmt_param_spec;

typedef struct lmt_alias {
    char name[128];          /* HF key that shares storage with `target` */
    char target[128];
} lmt_alias;

typedef struct lmt_layout {
    lmt_param_spec *params;
    size_t n_params;
    lmt_alias *aliases;
    size_t n_aliases;
    size_t num_floats;       /* size of the flat buffer */
    const char *base_prefix; /* "transformer.", "bert.", ... (checkpoints of the bare model lack it) */
} lmt_layout;

lmt_status lmt_layout_build(const lmt_config *cfg, lmt_layout *out);
void lmt_layout_free(lmt_layout *l);
/* Index of the parameter with this HF name (aliases resolved), or -1. */
long lmt_layout_find(const lmt_layout *l, const char *name);
/* HF keys that transformers ignores when present in a checkpoint
 * (attention-mask buffers, position_ids). */
bool lmt_layout_is_ignored_key(const lmt_layout *l, const char *name);
#endif
