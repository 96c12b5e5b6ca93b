/* TrainingArguments / Seq2SeqTrainingArguments: the options of SPEC §4 with
 * transformers' defaults, set from command-line flags (--name value or
 * --name=value) or a JSON file. Unknown names and wrong types are errors. */
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
    /* memory (models/blocks/stack.h): each layer's activations recomputed in the backward */
    bool gradient_checkpointing;
} lmt_training_args;

void lmt_training_args_default(lmt_training_args *a);
/* Sets one option by its TrainingArguments name (aliases: evaluation_strategy
 * for eval_strategy). `source` names where it came from for messages. */
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
/* True if name is a TrainingArguments option this struct holds. */
bool lmt_training_args_known(const char *name);
#endif
