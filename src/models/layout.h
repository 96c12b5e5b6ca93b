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

/* What a parameter is to the model code: its stack, layer (-1 outside the
 * layers) and role. The models bind their tensors by this slot, never by HF
 * name, so the names live in layout.c alone. Each _B role directly follows
 * its _W role. */
typedef enum {
    LMT_STACK_NONE = 0,      /* the model's own tensors: shared table, LM head */
    LMT_STACK_ENCODER,       /* BERT-family encoder, Marian encoder */
    LMT_STACK_DECODER,       /* GPT-2, Marian decoder (self-attention) */
    LMT_STACK_CROSS,         /* Marian decoder cross-attention */
} lmt_stack_id;

typedef enum {
    LMT_ROLE_NONE = 0,
    LMT_ROLE_TOK_EMB, LMT_ROLE_POS_EMB, LMT_ROLE_TYPE_EMB, LMT_ROLE_SHARED_EMB,
    LMT_ROLE_EMB_LN_W, LMT_ROLE_EMB_LN_B,
    LMT_ROLE_ATTN_QKV_W, LMT_ROLE_ATTN_QKV_B,   /* GPT-2's fused c_attn */
    LMT_ROLE_ATTN_Q_W, LMT_ROLE_ATTN_Q_B, LMT_ROLE_ATTN_K_W, LMT_ROLE_ATTN_K_B,
    LMT_ROLE_ATTN_V_W, LMT_ROLE_ATTN_V_B, LMT_ROLE_ATTN_O_W, LMT_ROLE_ATTN_O_B,
    LMT_ROLE_ATTN_LN_W, LMT_ROLE_ATTN_LN_B,     /* before (pre-LN) or after (post-LN) the attention;
                                                   RMSNorm (Llama family): the weight alone */
    LMT_ROLE_FFN_IN_W, LMT_ROLE_FFN_IN_B, LMT_ROLE_FFN_OUT_W, LMT_ROLE_FFN_OUT_B,
    LMT_ROLE_FFN_LN_W, LMT_ROLE_FFN_LN_B,
    LMT_ROLE_FFN_GATE_W, LMT_ROLE_FFN_GATE_B,   /* SwiGLU's gate_proj (FFN_IN: up_proj, FFN_OUT: down_proj) */
    LMT_ROLE_FINAL_LN_W, LMT_ROLE_FINAL_LN_B,   /* GPT-2's ln_f */
    LMT_ROLE_HEAD_DENSE_W, LMT_ROLE_HEAD_DENSE_B, LMT_ROLE_HEAD_LN_W, LMT_ROLE_HEAD_LN_B,   /* MLM transform */
    LMT_ROLE_HEAD_W, LMT_ROLE_HEAD_B,           /* vocabulary projection and its bias */
} lmt_role;

typedef struct lmt_slot { int stack, layer, role; } lmt_slot;

typedef struct lmt_param_spec {
    char name[128];          /* HF state_dict key */
    int ndim;
    int64_t shape[4];
    size_t offset, numel;    /* in floats, in the flat buffer */
    unsigned flags;
    lmt_init_kind init;
    lmt_slot slot;
} lmt_param_spec;

typedef struct lmt_alias {
    char name[128];          /* HF key that shares storage with `target` */
    char target[128];
    lmt_slot slot;           /* the role the alias plays (a tied head) */
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
/* Index of the parameter in this slot (through an alias when the role is a
 * tie), or -1. */
long lmt_layout_slot(const lmt_layout *l, int stack, int layer, int role);
/* HF keys that transformers ignores when present in a checkpoint
 * (attention-mask buffers, position_ids). */
bool lmt_layout_is_ignored_key(const lmt_layout *l, const char *name);
#endif
