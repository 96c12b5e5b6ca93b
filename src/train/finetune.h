/* One fine-tuning run, as run_clm.py / run_mlm.py / run_translation.py do it
 * around the Trainer: load the model (an HF folder, or a config.json with
 * fresh weights drawn from the seed) and the tokenizer, let the task prepare
 * its datasets and task model, set up the Trainer, evaluate before training,
 * train (resuming when asked), save the model + tokenizer, trainer_state.json
 * and train/eval/all_results.json (save_metrics), evaluate after.
 *
 * The task (causal LM, masked LM, translation) plugs in through a few
 * callbacks: the data preparation is the task's, the run is the same. The
 * flow never prints: log entries, progress, evaluations and "saved" reach the
 * caller through lmt_finetune_callbacks. Errors carry their stage
 * ("evaluation: ...", "training: ..."). */
#ifndef LMT_TRAIN_FINETUNE_H
#define LMT_TRAIN_FINETUNE_H
#include <stdbool.h>
#include <stdint.h>
#include "lmtune/lmtune.h"
#include "lmtune/tokenizer.h"
#include "models/model.h"
#include "train/args.h"
#include "train/trainer.h"

/* What the task's prepare hands over; all of it stays the task's. */
typedef struct lmt_finetune_data {
    lmt_task_model *model;     /* the model with its task's forward / backward */
    lmt_train_data *train;     /* NULL or empty: no training */
    lmt_train_data *eval;      /* NULL or empty: no evaluation */
} lmt_finetune_data;

typedef struct lmt_finetune_task {
    void *ctx;
    /* Optional: refuses a model that does not suit the task (its
     * architecture, lengths beyond its positions) before the tokenizer is
     * loaded and any data is read. */
    lmt_status (*check_model)(void *ctx, const lmt_model *m);
    /* Reads and prepares the datasets and creates the task model, once the
     * model and a tokenizer that fits its vocabulary are loaded. */
    lmt_status (*prepare)(void *ctx, lmt_model *m, const lmt_tokenizer *tok, const lmt_training_args *args,
                          lmt_finetune_data *out);
    /* Optional: extra Trainer settings (compute_metrics, prediction_step). */
    lmt_status (*setup_trainer)(void *ctx, lmt_trainer *t, lmt_model *m, const lmt_tokenizer *tok);
    /* Optional: after the final evaluation (e.g. writing its predictions). */
    lmt_status (*evaluated)(void *ctx, const lmt_eval_output *e);
    /* Optional: frees what prepare and setup_trainer made; called once,
     * before the model and tokenizer are freed, whatever happened. */
    void (*release)(void *ctx);
} lmt_finetune_task;

typedef struct lmt_finetune_callbacks {
    void *user;
    /* each Trainer log entry, a JSON object on one line */
    void (*on_log)(void *user, const char *json);
    /* after every optimizer step */
    void (*on_progress)(void *user, int64_t step, int64_t max_steps, double epoch, double last_loss, double tokens_per_second,
                        double seconds_left);
    /* after every evaluation batch (trainer.h's on_eval_progress) */
    void (*on_eval_progress)(void *user, const char *what, int64_t done, int64_t total, double seconds_left);
    /* after an evaluation: the one before training (final false, before
     * NULL) and the final one (before: the first, when there was one) */
    void (*on_evaluate)(void *user, const lmt_eval_output *e, bool final, const lmt_eval_output *before);
    /* the model, tokenizer, trainer_state.json and results are in dir */
    void (*on_saved)(void *user, const char *dir);
    /* LoRA (job->lora): print_trainable_parameters()' numbers, before training */
    void (*on_trainable)(void *user, int64_t trainable, int64_t all);
    /* push_to_hub: output_dir is on the Hub as repo ("ORG/NAME") */
    void (*on_pushed)(void *user, const char *repo);
} lmt_finetune_callbacks;

typedef struct lmt_finetune_job {
    const lmt_training_args *args;   /* validated (lmt_training_args_validate) */
    const char *model_dir;           /* an HF model folder, or */
    const char *model_name;          /* optional: model_name_or_path as given (the model card's base_model); NULL: model_dir */
    const char *config_path;         /* a config.json: fresh weights drawn with args->seed */
    const char *tokenizer_dir;
    bool train;                      /* false: evaluation only */
    /* eval_results.json has perplexity = exp(eval_loss) (run_clm.py, run_mlm.py) */
    bool perplexity;
    /* the final evaluation enters the log history (and on_log) as
     * trainer.evaluate() logs it, before trainer_state.json is written */
    bool log_final_evaluation;
    /* LoRA (TRL's --use_peft): adapters on the task model's linear layers,
     * A drawn with args->seed; the base frozen; checkpoints and the final
     * save hold the adapter alone. NULL: every weight trains. */
    const struct lmt_lora_config *lora;
    lmt_finetune_task task;
    lmt_finetune_callbacks cb;
    const volatile sig_atomic_t *stop_flag;   /* optional: the Trainer's stop_flag (SIGINT) */
} lmt_finetune_job;

struct lmt_lora;
/* Attaches adapters (models/lora.h) to the task model's net and points the
 * Trainer at them: their flat buffers are what it optimises, clips and
 * saves (checkpoints and the final model hold the adapter alone). */
lmt_status lmt_finetune_use_lora(lmt_task_model *tm, struct lmt_lora *l);

typedef struct lmt_finetune_result {
    bool trained, evaluated_before, evaluated;
    lmt_train_output train;
    lmt_eval_output before, after;
    int64_t train_samples, eval_samples;
} lmt_finetune_result;

/* Runs the job. With job->train, an output_dir that is not empty is refused
 * unless overwrite_output_dir or resume_from_checkpoint is set (as
 * run_*.py), and it must be writable, before the model is loaded. */
lmt_status lmt_finetune_run(const lmt_finetune_job *job, lmt_finetune_result *out);

/* The largest batch a run feeds: max(train, eval batch size), for sizing
 * the task model's buffers. */
static inline int lmt_finetune_max_batch(const lmt_training_args *a) {
    return (int)(a->per_device_train_batch_size > a->per_device_eval_batch_size ? a->per_device_train_batch_size
                                                                                 : a->per_device_eval_batch_size);
}
#endif
