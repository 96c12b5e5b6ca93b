/* What the three `lmtune train` commands (clm, mlm, translation) share: the
 * flags every one takes, the checks made before any file is read, and the
 * printing side of the one training flow (train/finetune.h): errors, JSON log
 * lines, the progress line, evaluations, "saved". */
#ifndef LMT_CLI_TRAIN_COMMON_H
#define LMT_CLI_TRAIN_COMMON_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cli/flags.h"
#include "lmtune/lmtune.h"
#include "train/args.h"
#include "train/finetune.h"

/* The flags of every train command; each command's options struct starts
 * with one. */
typedef struct lmt_cli_train {
    const char *task, *model_dir, *config, *tok_dir, *train_file, *eval_file;
    const char *dataset_name, *dataset_config;   /* a Hub dataset repo: its train / validation files */
    const char *model_type, *config_overrides;   /* run_clm.py: a fresh model of transformers' default config (cli/model_type.c) */
    lmt_training_args args;
    bool use_peft;            /* TRL's ModelConfig: LoRA adapters (docs/LORA.md) */
    int64_t lora_r;
    double lora_alpha, lora_dropout;
    const char *lora_targets; /* comma-separated, or all-linear; NULL: peft's default for the model type */
    int rc;                   /* set by lmt_cli_usage_error: the exit status of a refused setting */
    /* optional, set before parsing: the command's own defaults over
     * TrainingArguments' (SFTConfig's), applied before any flag */
    void (*defaults)(lmt_training_args *a);
} lmt_cli_train;

extern const char *const lmt_cli_tasks[];
/* lmtune eval: the train commands without --train_file (its own --help) */
extern bool lmt_cli_eval_mode;
lmt_status lmt_cli_load_args_json(void *args, const char *path);
/* The rows for lmt_cli_train c (first in each command's table). */
#define LMT_CLI_TRAIN_FLAGS(c)                                                                                         \
    {"task", LMT_FLAG_ENUM, &(c).task, LMT_FLAG_ANY, lmt_cli_tasks, "the task", NULL},                                  \
    {"model_name_or_path|model", LMT_FLAG_PATH, &(c).model_dir, LMT_FLAG_ANY, NULL, "an HF model folder or Hub repo id", NULL},\
    {"config_name", LMT_FLAG_PATH, &(c).config, LMT_FLAG_ANY, NULL, "a config.json: fresh weights drawn with --seed",   \
     NULL},                                                                                                            \
    {"model_type", LMT_FLAG_STRING, &(c).model_type, LMT_FLAG_ANY, NULL,                                               \
     "train from scratch: transformers' default config of this model type (gpt2, llama, ...)", NULL},                  \
    {"config_overrides", LMT_FLAG_STRING, &(c).config_overrides, LMT_FLAG_ANY, NULL,                                   \
     "with --model_type: key=value,... over its defaults (e.g. n_embd=10,n_layer=2)", NULL},                           \
    {"tokenizer_name|tokenizer", LMT_FLAG_PATH, &(c).tok_dir, LMT_FLAG_ANY, NULL,                                       \
     "the tokenizer folder (default: the model's)", NULL},                                                             \
    {"train_file", LMT_FLAG_PATH, &(c).train_file, LMT_FLAG_ANY, NULL, "the training examples", NULL},                 \
    {"validation_file", LMT_FLAG_PATH, &(c).eval_file, LMT_FLAG_ANY, NULL, "the evaluation examples", NULL},           \
    {"dataset_name", LMT_FLAG_STRING, &(c).dataset_name, LMT_FLAG_ANY, NULL,                                            \
     "a Hub dataset repo (ORG/NAME) with json/jsonl/csv/tsv/txt data files: its train and validation splits", NULL},  \
    {"dataset_config_name", LMT_FLAG_STRING, &(c).dataset_config, LMT_FLAG_ANY, NULL,                                  \
     "with --dataset_name: the config, i.e. the repo's folder of that name", NULL},                                   \
    {"args_json|config", LMT_FLAG_PATH, &(c).args, LMT_FLAG_ANY, NULL,                                                 \
     "a JSON object of TrainingArguments (later flags override it)", lmt_cli_load_args_json},                         \
    {"use_peft", LMT_FLAG_BOOL, &(c).use_peft, LMT_FLAG_ANY, NULL, "train LoRA adapters (peft), the base frozen", NULL}, \
    {"lora_r", LMT_FLAG_INT, &(c).lora_r, LMT_FLAG_MIN(1), NULL, "--use_peft: the rank r (default 16)", NULL},          \
    {"lora_alpha", LMT_FLAG_FLOAT, &(c).lora_alpha, 0, INFINITY, LMT_FLAG_LO_OPEN, NULL,                              \
     "--use_peft: lora_alpha; scaling alpha / r (default 32)", NULL},                                                  \
    {"lora_dropout", LMT_FLAG_FLOAT, &(c).lora_dropout, 0, 1, LMT_FLAG_HI_OPEN, NULL,                                 \
     "--use_peft: dropout on the adapters' input (default 0.05)", NULL},                                               \
    {"lora_target_modules", LMT_FLAG_STRING, &(c).lora_targets, LMT_FLAG_ANY, NULL,                                    \
     "--use_peft: module names (separated by commas or spaces) or all-linear (default: peft's for the model type)", NULL}

/* Parses argv against table (TrainingArguments names go to
 * lmt_training_args_set), then makes the checks every train command makes:
 * exactly one of --model_name_or_path / --config_name, a tokenizer, valid
 * TrainingArguments (and the fp16 note). Returns 0, -1 after --help, or the
 * exit status after printing why. */
int lmt_cli_train_parse(int argc, char **argv, lmt_cli_train *c, const lmt_flag *table, size_t n, const char *header);
/* eval_strategy without an evaluation source ("--validation_file"...) is refused: 2. */
int lmt_cli_need_eval_source(const lmt_cli_train *c, bool have, const char *sources);
/* Every non-NULL file must exist: 1 after "FILE: no such file". */
int lmt_cli_files_exist(const char *const *files, size_t n);
/* A refused task setting found by a flow callback: the message, exit status 2. */
lmt_status lmt_cli_usage_error(lmt_cli_train *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Runs the flow for c with the command's task; prints the failure and
 * returns the exit status. */
int lmt_cli_train_run(lmt_cli_train *c, lmt_finetune_task task, bool perplexity, bool log_final_evaluation,
                      void (*on_evaluate)(void *user, const lmt_eval_output *e, bool final, const lmt_eval_output *before));

/* on_evaluate for the language models: eval_loss and perplexity (run_clm.py, run_mlm.py) */
void lmt_cli_print_perplexity(void *user, const lmt_eval_output *e, bool final, const lmt_eval_output *before);
/* on_evaluate for Seq2SeqTrainer: eval_loss, compute_metrics' values (eval_bleu, eval_gen_len) */
void lmt_cli_print_metrics(void *user, const lmt_eval_output *e, bool final, const lmt_eval_output *before);

/* --model_type [--config_overrides]: the config written to a temporary
 * file (removed at exit) that becomes c->config; refuses the combinations
 * run_clm.py refuses. 0 or the exit status after printing why. */
int lmt_cli_model_type_config(lmt_cli_train *c);
#endif
