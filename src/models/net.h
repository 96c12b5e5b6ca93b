/* What every model (GPT-2, the BERT family, Marian) has around its layers:
 * the activation arena with its two-pass plan, the gradient buffer, the
 * dropout seeds of a training forward, the input loaders with their range
 * errors, binding tensors by layout slot, and the step context the blocks
 * (models/blocks/) share. A model embeds one lmt_net. */
#ifndef LMT_MODELS_NET_H
#define LMT_MODELS_NET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/rng.h"
#include "models/model.h"

/* Bump allocator over one block; every array starts on a 64-byte boundary.
 * A plan runs twice: with base NULL (sizes only), then over the allocation. */
typedef struct lmt_arena { float *base; size_t used; } lmt_arena;
float *lmt_arena_take(lmt_arena *a, size_t n);
int32_t *lmt_arena_take_i32(lmt_arena *a, size_t n);

/* The step's batch and mode, and the scratch every block's forward and
 * backward share (the backward part NULL without gradients). */
typedef struct lmt_block_ctx {
    int B;                       /* sequences in the step */
    bool training;               /* dropout on */
    float *att_scratch;          /* lmt_attention_scratch_floats for the longest sequence */
    int att_threads;
    int attn_width, kv_width;    /* set before the plan when the attention is not C wide: q / output
                                    (NH * head_dim) and k / v (grouped-query); 0: C and attn_width */
    const float *rope_cos, *rope_sin;  /* (T, head_dim / 2) rotary tables of the step (attention with rope) */
    bool rope_per_token;         /* packed sequences: the tables are (B * T, head_dim / 2), one row per token */
    const int32_t *seg_start;    /* packed sequences: (B, T) the first key each query sees (attention.h); NULL: none */
    float *dx, *dalt;            /* (Nmax, C) the residual stream's gradient and its spare: a
                                    post-LN block's LayerNorm backward writes the spare, and they swap */
    float *dbuf, *dtmp;          /* (Nmax, max(C, attn_width)) a sublayer's gradients; (Nmax, C) dropout backward */
    float *dqkv;                 /* the attention's q / k / v gradients: (Nmax, 3 max(C, attn_width) + 2 kv_width) */
    float *dF1, *dF2;            /* (Nmax, Fmax) */
    float *bias_scratch;         /* lmt_activation_bias_backward's (Nmax, Fmax) */
    float *pad_rows;             /* (2, C) embedding rows kept across a lookup's backward */
    /* called by a stack's backward when one layer's parameter gradients are final (the
     * overlapped all-reduce starts on them); NULL: none */
    void (*layer_backward_done)(void *user, int stack, int layer);
    void *layer_backward_user;
} lmt_block_ctx;

/* Plans ctx's scratch for Nmax rows of width C, FFN width Fmax, sequences up
 * to Tmax (ctx->att_threads set before). */
void lmt_block_ctx_plan(lmt_block_ctx *ctx, lmt_arena *a, size_t Nmax, int C, int Fmax, int Tmax, bool with_grads);
/* d(x) -> d(dropout input) in scratch; d itself when p = 0. */
const float *lmt_drop_back(float *scratch, const float *d, size_t n, float p, uint64_t seed);

typedef struct lmt_net {
    lmt_model *model;            /* not owned */
    const char *name;            /* model class: the start of its error messages */
    float *grads;                /* flat, as the parameters; NULL without gradients */
    size_t grad_floats;          /* its size: the layout's, or 0 when LoRA leaves no base tensor
                                    trainable (then a token allocation: nothing binds into it) */
    float *act_mem;              /* one allocation: activations and scratch */
    lmt_block_ctx ctx;
    lmt_rng rng;                 /* dropout seeds */
    uint64_t *seeds;             /* (n_seeds) drawn by each training forward, 0 otherwise */
    int n_seeds;
    bool has_labels;             /* the last forward had labels and no backward consumed them */
    long n_targets;              /* counted labels of the last forward */
    float loss;                  /* their mean loss (NaN without labels) */
    float label_smoothing;       /* TrainingArguments.label_smoothing_factor: the loss head's LabelSmoother (0: none) */
    void *owned[8];              /* the model's per-layer arrays (lmt_net_calloc) */
    int n_owned;
    bool oom;                    /* an lmt_net_calloc failed: lmt_net_setup reports it */
    /* LoRA (models/lora.h), per layout parameter: the adapter on that weight
     * (NULL: none) and whether it is trainable (frozen: no gradient slot).
     * Both NULL without adapters: every parameter trains. */
    struct lmt_adapter **adapters;
    const bool *trainable;
    float *const *copies;        /* per layout parameter: the trained copy the net computes with (LoRA's
                                    bias / modules_to_save), or NULL: the model's own */
    float *const *gcopies;       /* their gradients, or NULL */
    void (*bind)(void *model, float *base, bool grads);   /* lmt_net_setup's, for lmt_net_rebind */
    void *bind_model;
    float *extra_grads;          /* the adapters' gradients, zeroed with the net's (lmt_net_zero_grad) */
    size_t n_extra;
    size_t max_rows;             /* max_B * max_T of lmt_net_setup */
    size_t act_floats;           /* act_mem's size */
    bool checkpoint;             /* gradient checkpointing (models/blocks/stack.h): the model's
                                    gradient_checkpointing, with gradients */
} lmt_net;

/* The model's plan: lays out (base NULL: only sizes) every activation array. */
typedef void (*lmt_plan_fn)(void *model, lmt_arena *a, bool with_grads);
/* The model's binding: its tensors (grads: their gradients) in base, by layout slot. */
typedef void (*lmt_bind_fn)(void *model, float *base, bool grads);

/* Binds n to m (seed 42, n_seeds seeds), with a zeroed gradient buffer when with_grads. */
lmt_status lmt_net_init(lmt_net *n, lmt_model *m, const char *name, int n_seeds, bool with_grads);
/* count zeroed elements of size bytes, freed with the net. */
void *lmt_net_calloc(lmt_net *n, size_t count, size_t size);
/* Binds the parameters and gradients, sizes the plan, allocates it in one
 * block and lays it out. */
lmt_status lmt_net_setup(lmt_net *n, lmt_bind_fn bind, lmt_plan_fn plan, void *model, int max_B, int max_T);
void lmt_net_release(lmt_net *n);
void lmt_net_set_seed(lmt_net *n, uint64_t seed);
void lmt_net_zero_grad(lmt_net *n);
/* The gradient of the parameter with this HF name (aliases resolved), or NULL. */
float *lmt_net_grad(lmt_net *n, const char *hf_name);

/* Before a forward: nothing a backward could use; dtype must be int32/int64. */
lmt_status lmt_net_forward_begin(lmt_net *n, lmt_dtype dtype, const void *input_ids);
/* After the inputs loaded: the step's batch and mode; draws the seeds. */
void lmt_net_step(lmt_net *n, int B, bool training, bool has_labels);
/* The mean loss of losses (M) over n->n_targets. */
void lmt_net_set_loss(lmt_net *n, const float *losses, int M);
/* Why a backward cannot run now, or LMT_OK. */
lmt_status lmt_net_backward_check(const lmt_net *n);
/* The scale of the mean loss: 1 / n_targets (0 with none). */
float lmt_net_mean_scale(const lmt_net *n);

/* Element i of an int32 / int64 array. */
int64_t lmt_get_int(lmt_dtype t, const void *p, size_t i);
/* ids (N) of T-token rows into dst, each in 0..V-1: else "<name>: <what>[b][t] = v is outside the vocabulary". */
lmt_status lmt_net_load_ids(const lmt_net *n, lmt_dtype t, const void *src, int32_t *dst, size_t N, int T, int V,
                            const char *what);
/* labels (N) into dst, each -100 or in 0..V-1 ("outside the <vocab> ... and not -100"). */
lmt_status lmt_net_load_labels(const lmt_net *n, lmt_dtype t, const void *src, int32_t *dst, size_t N, int T, int V,
                               const char *vocab);
/* mask (N) as 0/1 into dst (NULL: all 1); returns whether anything is padded. */
bool lmt_net_load_mask(lmt_dtype t, const void *src, int32_t *dst, size_t N);

/* The tensor in layout slot (stack, layer, role) inside base (the
 * parameters or the gradients), or NULL when the layout has none. In the
 * gradients, computed and buffer tensors (no gradient) are NULL too. */
float *lmt_net_slot(const lmt_net *n, float *base, int stack, int layer, int role);
/* The adapter on the weight in slot (stack, layer, role) when base is the
 * parameters, else (the gradients' binding) NULL. */
struct lmt_adapter *lmt_net_adapter(const lmt_net *n, const float *base, int stack, int layer, int role);
/* Binds the parameters and gradients again (after adapters were attached). */
void lmt_net_rebind(lmt_net *n);
#endif
