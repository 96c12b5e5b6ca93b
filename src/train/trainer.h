/* The Trainer: HF Trainer semantics over any model that can compute a loss
 * and its gradient into a flat buffer (GPT-2, the MLM encoders, Marian).
 * Step counting, gradient accumulation with num_items_in_batch
 * normalisation, clipping, the optimizers of train/optimizer.h, label
 * smoothing, samplers (random, data_seed, sequential, group_by_length), schedules, logging / evaluation / saving
 * strategies, checkpoints (atomic), rotation, best model and resume follow
 * transformers 5's Trainer. */
#ifndef LMT_TRAIN_TRAINER_H
#define LMT_TRAIN_TRAINER_H
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include "lmtune/lmtune.h"
#include "lmtune/tokenizer.h"
#include "data/batch.h"
#include "core/rng.h"
#include "data/length_grouped.h"
#include "models/model.h"
#include "train/optimizer.h"
#include "train/args.h"
#include "train/scheduler.h"
#include "train/trainer_state.h"

/* What the Trainer needs from a model. loss_sum is the sum of the per-item
 * losses of the batch and n_items how many items it counted (label tokens
 * after any internal shift). backward adds scale * d(loss_sum)/dparams. */
typedef struct lmt_task_model {
    void *self;
    lmt_model *model;
    float *grads;                    /* same layout as model->params */
    lmt_status (*forward)(void *self, const lmt_batch *b, bool training, uint64_t dropout_seed, double *loss_sum, int64_t *n_items);
    lmt_status (*backward)(void *self, float scale);
    void (*zero_grad)(void *self);
    /* num_items_in_batch contribution of a batch (shifted labels != -100 for causal LM) */
    int64_t (*count_items)(void *self, const lmt_batch *b);
    /* tokens the batch feeds (for total_flos: 6 * tokens * non-embedding parameters) */
    int64_t (*count_tokens)(void *self, const lmt_batch *b);
    struct lmt_net *net;             /* the model's net (adapters plug into it), or NULL */
    /* Optional, LoRA (models/lora.h): the trained tensors when they are not
     * model->params (grads then has train_layout's layout: the optimizer,
     * clipping and its state cover them alone), and how a checkpoint / the
     * final model saves and loads them (the adapter alone). NULL: the model. */
    float *train_params;
    const lmt_layout *train_layout;
    lmt_status (*save)(void *owner, const char *dir);
    lmt_status (*load)(void *owner, const char *dir);
    void *owner;                     /* save / load's */
    /* Optional: extra log entries (SFTTrainer's entropy, mean_token_accuracy,
     * num_tokens) since the last call: up to LMT_MAX_LOG_EXTRAS keys and values
     * for the training log (eval false) or an evaluation's ("eval_" keys);
     * returns how many, and starts over. keys NULL: only starts over. */
    int (*log_extras)(void *self, bool eval, const char **keys, double *vals);
} lmt_task_model;
#define LMT_MAX_LOG_EXTRAS 4

/* The trained tensors and their layout (train_params or the model's). */
float *lmt_task_params(const lmt_task_model *m);
const lmt_layout *lmt_task_layout(const lmt_task_model *m);
/* The model files of a checkpoint / the final model (save hook or lmt_model_save). */
lmt_status lmt_task_save(const lmt_task_model *m, const char *dir);

/* Order of the training examples in an epoch (a permutation of 0..n-1). */
typedef void (*lmt_sampler_fn)(void *ctx, int64_t seed, int64_t epoch, int64_t n, int64_t *order);

struct lmt_trainer;
struct lmt_eval_output;
/* Extra evaluation metrics (compute_metrics; Seq2SeqTrainer's generation +
 * BLEU): called by lmt_trainer_evaluate after eval_loss, it adds its values
 * with lmt_eval_add_metric (names without the "eval_" prefix, which the
 * Trainer adds, as transformers does). Its time counts in eval_runtime. */
typedef lmt_status (*lmt_metrics_fn)(void *ctx, struct lmt_trainer *t, struct lmt_eval_output *out);
/* Per evaluation batch, after its loss (Seq2SeqTrainer.prediction_step's
 * generation): batch b holds rows [start, start + b->B) of this rank's
 * shard of the evaluation set (the whole set, in order, in a world of one;
 * under mpirun the batches of dist_shard.h), from 0. compute_metrics runs
 * after the last batch on every rank (it gathers what it needs). */
typedef lmt_status (*lmt_prediction_fn)(void *ctx, struct lmt_trainer *t, const lmt_batch *b, int64_t start);

typedef struct lmt_trainer {
    lmt_training_args args;
    lmt_task_model *model;
    lmt_train_data *train, *eval;
    lmt_sampler_fn sampler;          /* default: lmt_sampler_torch (the HF Trainer's order) */
    void *sampler_ctx;
    const char *tokenizer_dir;       /* copied into checkpoints and the final model when set */
    char *tokenizer_config;          /* owned: tokenizer_config.json to write there (lmt_trainer_set_tokenizer) */
    struct lmt_tb_writer *tb;        /* owned: report_to tensorboard's event file (train/tensorboard.h) */
    char *tb_logdir;                 /* owned: its folder, chosen once (later files go there too) */
    int64_t interrupt_at_step;       /* > 0: stop after this step (as if interrupted) */
    /* Optional: a stop request (the CLI's SIGINT handler sets it; the library
     * installs no handler). Checked after each optimizer step: when set, the
     * step's checkpoint is saved and training fails with LMT_ERR_INTERRUPTED
     * (the message names the checkpoint), so a resume takes it up there. */
    const volatile sig_atomic_t *stop_flag;
    /* called with each log entry as a JSON object line ({"loss": ..., "step": ...}) */
    void (*on_log)(void *user, const char *json);
    /* called after every optimizer step (for a live progress line) */
    void (*on_progress)(void *user, int64_t step, int64_t max_steps, double epoch, double last_loss,
                        double tokens_per_second, double seconds_left);
    /* called after every evaluation batch (rank 0): what ("evaluation", or "evaluation + generation" with
     * predict_with_generate), batches done of total (this rank's), seconds left */
    void (*on_eval_progress)(void *user, const char *what, int64_t done, int64_t total, double seconds_left);
    void *log_user;
    lmt_prediction_fn prediction_step;   /* NULL: none */
    lmt_metrics_fn compute_metrics;  /* NULL: eval_loss only */
    void *metrics_ctx;               /* both callbacks' */
    char hub_repo[256];              /* push_to_hub: the repo (lmt_push_init); "": no pushes */
    /* run state */
    lmt_trainer_state state;
    lmt_optimizer opt;               /* args.optim's */
    lmt_scheduler sched;
    bool opt_ready;
    double non_embedding_params;
    double train_start;              /* lmt_time_s() when train() began (speed metrics) */
    int64_t initial_tokens_seen;     /* num_input_tokens_seen then */
    int64_t *lengths;                /* group_by_length: the training examples' lengths */
    /* group_by_length: LengthGroupedSampler draws from torch's global
     * generator, which set_seed(seed) seeded and each DataLoader iterator
     * (a training epoch, an evaluation) advances by one int64 base seed:
     * its state now and at the current epoch's start (checkpointed) */
    bool torch_rng_on;
    lmt_mt19937 torch_rng, torch_rng_epoch;
} lmt_trainer;

typedef struct lmt_train_output {
    int64_t global_step;
    double training_loss;
    double train_runtime, train_samples_per_second, train_steps_per_second, total_flos, epoch;
} lmt_train_output;

#define LMT_MAX_EVAL_METRICS 8
typedef struct lmt_eval_output {
    double loss, runtime, samples_per_second, steps_per_second;
    int64_t samples;
    /* compute_metrics' values in its order, keys prefixed "eval_" (eval_bleu, eval_gen_len) */
    int n_metrics;
    char metric_keys[LMT_MAX_EVAL_METRICS][48];
    double metric_values[LMT_MAX_EVAL_METRICS];
} lmt_eval_output;

/* round(x, digits) as the Trainer rounds the metrics it logs. */
double lmt_round_metric(double x, int digits);
/* Adds "eval_<name>" = value to out (for compute_metrics callbacks). */
lmt_status lmt_eval_add_metric(struct lmt_eval_output *out, const char *name, double value);
/* The value of an evaluation metric by name ("loss", "eval_loss",
 * "perplexity", "bleu", "eval_bleu", ...); false if it was not computed. */
bool lmt_eval_metric(const struct lmt_eval_output *e, const char *name, double *value);

lmt_status lmt_trainer_init(lmt_trainer *t, const lmt_training_args *args, lmt_task_model *model,
                            lmt_train_data *train, lmt_train_data *eval);
void lmt_trainer_free(lmt_trainer *t);
lmt_status lmt_trainer_train(lmt_trainer *t, lmt_train_output *out);
lmt_status lmt_trainer_evaluate(lmt_trainer *t, lmt_eval_output *out);
/* Appends an evaluation's metrics to the log history and on_log, as
 * trainer.evaluate() logs them: eval_loss, the compute_metrics values,
 * eval_runtime, eval_samples_per_second, eval_steps_per_second, epoch, step.
 * (Evaluations the training loop runs are logged this way too.) */
lmt_status lmt_trainer_log_eval(lmt_trainer *t, const lmt_eval_output *e);
/* That entry's keys and values (k, v: LMT_EVAL_LOG_MAX each); returns how many. */
#define LMT_EVAL_LOG_MAX (4 + LMT_MAX_EVAL_METRICS)
size_t lmt_eval_log_entry(const lmt_eval_output *e, const char **k, double *v);
void lmt_sampler_sequential(void *ctx, int64_t seed, int64_t epoch, int64_t n, int64_t *order);
/* The tokenizer saved with checkpoints and the final model: dir's files,
 * and a tokenizer_config.json as transformers writes it when dir has none
 * (train/tokenizer_files.h). tok may be NULL (the files are copied as they
 * are). dir must outlive the trainer. */
lmt_status lmt_trainer_set_tokenizer(lmt_trainer *t, const char *dir, const lmt_tokenizer *tok);
/* Writes the tokenizer files into dst (nothing when no tokenizer is set). */
lmt_status lmt_trainer_save_tokenizer(const lmt_trainer *t, const char *dst);
/* checkpoint-<N> folder with the highest N in dir, or NULL (caller frees). */
char *lmt_trainer_last_checkpoint(const char *dir);
#endif
