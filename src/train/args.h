/* TrainingArguments / Seq2SeqTrainingArguments: the options of SPEC §4 with
 * transformers' defaults, set from command-line flags (--name value or
 * --name=value) or a JSON file. Every field of transformers 5.23's
 * Seq2SeqTrainingArguments, and the transformers 4 names scripts still use, is
 * in the registry (train/args_table.c): implemented, accepted with no effect on
 * a CPU (and why), or refused (and why) unless given its default. Unknown names
 * and wrong types are errors. */
#ifndef LMT_TRAIN_ARGS_H
#define LMT_TRAIN_ARGS_H
#include <stdbool.h>
#include <stdint.h>
#include "lmtune/lmtune.h"
#include "kernels/matmul.h"

typedef enum { LMT_STRATEGY_NO = 0, LMT_STRATEGY_STEPS, LMT_STRATEGY_EPOCH } lmt_strategy;

typedef struct lmt_training_args {
    char output_dir[1024];
    bool overwrite_output_dir;
    bool do_train, do_eval;
    double num_train_epochs;          /* 3.0 */
    int64_t max_steps;                /* -1: from epochs */
    int64_t per_device_train_batch_size, per_device_eval_batch_size;  /* 8, 8 */
    int64_t gradient_accumulation_steps;                              /* 1 */
    double learning_rate;             /* 5e-5 */
    double weight_decay;              /* 0 */
    double adam_beta1, adam_beta2, adam_epsilon;  /* 0.9, 0.999, 1e-8 */
    double max_grad_norm;             /* 1.0 */
    char lr_scheduler_type[48];       /* "linear" */
    int64_t warmup_steps;             /* 0 */
    double warmup_ratio;              /* 0.0 */
    lmt_strategy eval_strategy;       /* no */
    double eval_steps;                /* 0 = logging_steps; < 1 = ratio of total steps */
    lmt_strategy save_strategy;       /* steps */
    double save_steps;                /* 500 */
    int64_t save_total_limit;         /* -1 = unlimited */
    lmt_strategy logging_strategy;    /* steps */
    double logging_steps;             /* 500 */
    bool logging_first_step;
    char logging_dir[1024];
    char run_name[256];
    int64_t seed;                     /* 42 */
    bool fp16, bf16;
    char resume_from_checkpoint[1024];/* "" = no; "latest" or a path */
    bool load_best_model_at_end;
    char metric_for_best_model[64];   /* "loss" when load_best_model_at_end */
    bool greater_is_better;           /* default: !metric.endswith("loss") */
    bool greater_is_better_set;
    bool remove_unused_columns;       /* true */
    bool predict_with_generate;
    int64_t generation_max_length;    /* 0 = model default */
    int64_t generation_num_beams;     /* 0 = model default */
    int64_t dataloader_num_workers;
    bool disable_tqdm;
    char report_to[64];
    /* the Hub (train/hub_push.h): push the saved model to hub_model_id */
    bool push_to_hub;
    char hub_model_id[256];           /* "": output_dir's name, in the token owner's namespace */
    char hub_strategy[24];            /* "every_save" (transformers' default) or "end" */
    bool hub_private_repo;
    char hub_token[256];              /* "": HF_TOKEN or the token file; written as "<HUB_TOKEN>" */
    /* ---- issue 18 item 1 (behaviour: train/optimizer.h, train/trainer_features.h, train/trainer.c) ---- */
    char optim[32];                   /* "adamw_torch_fused" (transformers 5); adamw_torch, adafactor, sgd, adagrad, rmsprop */
    char optim_args[256];             /* "": none; "momentum=0.9,nesterov=True" */
    double label_smoothing_factor;    /* 0 */
    int64_t data_seed;                /* the sampler's seed when data_seed_set (None: seed) */
    bool data_seed_set;
    char train_sampling_strategy[24]; /* "random"; sequential, group_by_length */
    bool group_by_length;             /* transformers 4: train_sampling_strategy group_by_length */
    bool eval_on_start;
    int64_t eval_accumulation_steps;  /* 0: None (no numeric effect: predictions are not gathered) */
    int64_t ddp_bucket_cap_mb;        /* 0: None (25 MB, as DDP): the overlapped all-reduce's buckets under mpirun */
    bool save_only_model;             /* checkpoints without optimizer / scheduler / rng state */
    bool full_determinism;            /* lmtune's runs are deterministic: accepted */
    char include_num_input_tokens_seen[16];  /* "no"; all, non_padding (true / false: all / no) */
    bool include_tokens_per_second;   /* transformers 4: train_tokens_per_second (as num_input_tokens_seen "all") */
    char log_level[16], log_level_replica[16];   /* "passive", "warning" */
    char length_column_name[64];      /* "length" */
    /* memory (models/blocks/stack.h): each layer's activations recomputed in the backward */
    bool gradient_checkpointing;      /* also activation_checkpointing (transformers 5's name) */
} lmt_training_args;

/* The registry: one row per accepted name. */
typedef enum { LMT_ARG_BOOL, LMT_ARG_INT, LMT_ARG_FLOAT, LMT_ARG_ENUM, LMT_ARG_STRING, LMT_ARG_LIST, LMT_ARG_DICT } lmt_arg_type;
typedef enum {
    LMT_ARG_IMPLEMENTED,   /* does what it does in transformers */
    LMT_ARG_NO_EFFECT,     /* accepted; nothing to do on a CPU build (note: why; lmt_note'd when not the default) */
    LMT_ARG_REFUSED,       /* refused unless given its default (note: why) */
    LMT_ARG_PLANNED,       /* stored for the trainer (issue 18); refused unless default until it acts on it */
} lmt_arg_status;

typedef struct lmt_arg_spec {
    const char *name;      /* transformers' name */
    const char *aliases;   /* "evaluation_strategy|..." older or newer names; NULL */
    lmt_arg_type type;
    double lo, hi;         /* INT / FLOAT range (-INFINITY / INFINITY: open) */
    int open;              /* 1: lo excluded, 2: hi excluded */
    const char *choices;   /* ENUM / LIST: "a|b|c" */
    const char *dflt;      /* transformers' default as text ("None": no value) */
    const char *group;     /* the section of TrainingArguments' docs */
    lmt_arg_status status;
    const char *note;      /* NO_EFFECT / REFUSED / PLANNED: why; else a change between transformers 4 and 5 */
    const char *help;
    size_t off, size;      /* in lmt_training_args; size 0: not stored */
    /* instead of storing: applies the checked value (4's adafactor=True -> optim);
     * who: "--name" or "FILE: name", for messages */
    lmt_status (*set)(lmt_training_args *a, const char *value, const char *who);
    const char *since;     /* "4": a transformers 4 name that 5 removed */
} lmt_arg_spec;

/* "name" or "name|alias|..." holds n (hyphens in n read as underscores). */
bool lmt_arg_name_in(const char *list, const char *n);
/* The registry, in the order of transformers' docs. */
const lmt_arg_spec *lmt_training_args_specs(size_t *n);
/* The row for a name or alias (hyphens read as underscores), or NULL. */
const lmt_arg_spec *lmt_training_args_find(const char *name);
/* The known name closest to name (for "did you mean"), or NULL if none is close. */
const char *lmt_training_args_suggest(const char *name);
/* Levenshtein distance of a and b, capped at cap + 1. */
int lmt_edit_distance(const char *a, const char *b, int cap);
/* The registry as docs/ARGUMENTS.md shows it (markdown: tables by group), or
 * grouped for --help (markdown false). Caller frees. */
char *lmt_training_args_describe(bool markdown);

void lmt_training_args_default(lmt_training_args *a);
/* Sets one option by its TrainingArguments name or an alias (hyphens read as
 * underscores): the value checked against the registry row (type, range,
 * choices, status). `source` names where it came from for messages
 * ("command line": "--name"). LMT_ERR_ARG with the reason otherwise (an
 * unknown name with the closest known one). */
lmt_status lmt_training_args_set(lmt_training_args *a, const char *name, const char *value, const char *source);
/* Reads a JSON object of options (as TrainingArguments.to_json_string writes). */
lmt_status lmt_training_args_load_json(lmt_training_args *a, const char *path);
/* Checks combinations as TrainingArguments.__post_init__ does. */
lmt_status lmt_training_args_validate(lmt_training_args *a);
/* The precision of the matrix products: bf16 for bf16 or fp16 (a CPU has no
 * fast fp16 arithmetic; its mixed precision is bf16, as torch's CPU autocast). */
lmt_matmul_precision lmt_training_args_matmul_precision(const lmt_training_args *a);
/* A line for the user when the arguments mean something else on a CPU
 * (fp16), or when bf16 cannot save time at the level in use (no bf16
 * arithmetic: AVX2, AVX-512F, NEON without BF16, portable C), else NULL.
 * Valid until the next call. */
const char *lmt_training_args_precision_note(const lmt_training_args *a);
/* Writes the arguments as a JSON object (for training_args.json). Caller frees. */
char *lmt_training_args_to_json(const lmt_training_args *a);
/* True if name is in the registry. */
bool lmt_training_args_known(const char *name);
#endif
