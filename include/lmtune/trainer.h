/* lmtune's Trainer: transformers' Trainer (Seq2SeqTrainer for Marian) over
 * a model and collators (lmtune/data.h). The task follows the model: GPT-2
 * causal LM, BERT / RoBERTa / DistilBERT masked LM, Marian translation.
 * TrainingArguments are set by their transformers names. */
#ifndef LMTUNE_TRAINER_H
#define LMTUNE_TRAINER_H
#include "lmtune/data.h"
#include "lmtune/lmtune.h"
#include "lmtune/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- TrainingArguments --------------------------------------------------- */

typedef struct lmt_args lmt_args;

/* TrainingArguments with transformers' defaults (output_dir
 * "trainer_output", 3 epochs, batch 8, learning_rate 5e-5, seed 42, ...).
 * *out is the caller's (lmt_args_free). */
LMT_API lmt_status lmt_args_create(lmt_args **out);
LMT_API void lmt_args_free(lmt_args *a);
/* Set one argument by its TrainingArguments name (evaluation_strategy is
 * accepted for eval_strategy). Each fails with LMT_ERR_ARG and a message
 * naming the argument when the name is unknown or the value does not fit
 * its type (2.5 for max_steps, "often" for eval_strategy). _str parses the
 * text as the command line does ("true", "epoch", "2e-5"). */
LMT_API lmt_status lmt_args_set_str(lmt_args *a, const char *name, const char *value);
LMT_API lmt_status lmt_args_set_int(lmt_args *a, const char *name, int64_t value);
LMT_API lmt_status lmt_args_set_float(lmt_args *a, const char *name, double value);
LMT_API lmt_status lmt_args_set_bool(lmt_args *a, const char *name, bool value);
/* Sets every {name: value} of a JSON object file (as to_json_string writes);
 * null keeps the default. Fails naming the file and the argument. */
LMT_API lmt_status lmt_args_load_json(lmt_args *a, const char *path);
/* The arguments as a JSON object (training_args.json); the caller frees it.
 * NULL when out of memory. */
LMT_API char *lmt_args_to_json(const lmt_args *a);

/* ---- results -------------------------------------------------------------- */

/* trainer.train()'s TrainOutput and metrics. */
typedef struct lmt_train_result {
    int64_t global_step;
    double training_loss;
    double train_runtime, train_samples_per_second, train_steps_per_second;
    double total_flos, epoch;
} lmt_train_result;

#define LMT_EVAL_MAX_METRICS 8
/* trainer.evaluate()'s metrics. perplexity = exp(loss) (inf past exp's
 * range); metrics holds compute_metrics' values with their logged names
 * ("eval_bleu", "eval_gen_len" for translation with predict_with_generate). */
typedef struct lmt_eval_result {
    double loss, perplexity;
    double runtime, samples_per_second, steps_per_second;
    int64_t samples;
    double epoch;
    int32_t n_metrics;
    char metric_names[LMT_EVAL_MAX_METRICS][48];
    double metric_values[LMT_EVAL_MAX_METRICS];
} lmt_eval_result;

/* The live progress after each optimizer step. */
typedef struct lmt_progress {
    int64_t step, max_steps;
    double epoch, loss, tokens_per_second, seconds_left;
} lmt_progress;

/* Callbacks, all optional; called on the training thread. on_log gets every
 * log entry as one JSON object ({"loss": ..., "grad_norm": ..., "step": ...},
 * evaluations, the final summary); on_evaluate every evaluation (in the
 * training loop and from lmt_tuner_evaluate). */
typedef struct lmt_tuner_callbacks {
    void (*on_log)(void *user, const char *json);
    void (*on_progress)(void *user, const lmt_progress *p);
    void (*on_evaluate)(void *user, const lmt_eval_result *r);
    void *user;
    /* after every evaluation batch: what ("evaluation", or "evaluation +
     * generation" with predict_with_generate), batches done of total */
    void (*on_eval_progress)(void *user, const char *what, int64_t done, int64_t total);
} lmt_tuner_callbacks;

/* ---- the Trainer ------------------------------------------------------------ */

typedef struct lmt_tuner lmt_tuner;

/* A Trainer for model m (borrowed; trained in place) with the arguments
 * (copied) and collators (borrowed; eval may be NULL). The collators must
 * suit the model: lmt_collator_create_clm for GPT-2, _mlm for the encoders,
 * _seq2seq for Marian. Fails (LMT_ERR_ARG) on a mismatch or invalid
 * arguments, naming them. *out is the caller's (lmt_tuner_free). */
LMT_API lmt_status lmt_tuner_create(lmt_model *m, const lmt_args *args, lmt_collator *train, lmt_collator *eval,
                                    lmt_tuner **out);
LMT_API void lmt_tuner_free(lmt_tuner *t);
LMT_API void lmt_tuner_set_callbacks(lmt_tuner *t, const lmt_tuner_callbacks *cb);
/* The tokenizer (borrowed) and its folder: the folder's tokenizer files go
 * into checkpoints and saved models; for Marian with predict_with_generate
 * the tokenizer decodes the generations scored by eval_bleu (set it before
 * evaluating; without it only eval_loss is computed). tok_dir may be NULL. */
LMT_API lmt_status lmt_tuner_set_tokenizer(lmt_tuner *t, const lmt_tokenizer *tok, const char *tok_dir);
/* trainer.train(): runs to max_steps / num_train_epochs with the logging,
 * evaluation and checkpoint strategies of the arguments (resuming when
 * resume_from_checkpoint is set). *out may be NULL. Fails naming the file or
 * argument (a checkpoint that cannot be written, a non-finite loss). */
LMT_API lmt_status lmt_tuner_train(lmt_tuner *t, lmt_train_result *out);
/* trainer.evaluate() on the evaluation collator; the metrics are logged as
 * transformers logs them. Fails (LMT_ERR_ARG) without an evaluation
 * collator. */
LMT_API lmt_status lmt_tuner_evaluate(lmt_tuner *t, lmt_eval_result *out);
/* trainer.save_model(dir) + save_state(): the model as an HF folder, the
 * tokenizer files (lmt_tuner_set_tokenizer) and trainer_state.json. dir NULL
 * means output_dir. */
LMT_API lmt_status lmt_tuner_save(lmt_tuner *t, const char *dir);
/* With push_to_hub set (lmtune/hub.h for the token and endpoint): the repo
 * (hub_model_id, else output_dir's name) is created when training starts,
 * each checkpoint's model is pushed with hub_strategy every_save (a failed
 * checkpoint push is a warning), lmt_tuner_save pushes dir too ("Model
 * save"), and trainer.push_to_hub() is: */
/* save into output_dir, write a minimal model card (README.md), upload
 * output_dir without "_*" and "checkpoint-*" (commit_message NULL: "End of
 * training"). Works without push_to_hub too (the repo is then created here). */
LMT_API lmt_status lmt_tuner_push_to_hub(lmt_tuner *t, const char *commit_message);

/* Data parallelism (`mpirun -np N app ...`, docs/DISTRIBUTED.md): joins the
 * MPI world when mpirun started the process (otherwise, and in a build
 * without MPI, a world of one). Every lmt_tuner then trains on this
 * process's share of each global batch, as the Trainer under torchrun
 * (every rank calls lmt_tuner_train and lmt_tuner_evaluate, in the same
 * order: they exchange gradients and losses), and lmt_tuner_save /
 * lmt_tuner_push_to_hub write on rank 0 alone. rank and world_size may be
 * NULL. Call once, before creating tuners. */
LMT_API lmt_status lmt_distributed_init(int *rank, int *world_size);
/* At the end of the program: waits for every rank, then leaves the world. */
LMT_API void lmt_distributed_finalize(void);

#ifdef __cplusplus
}
#endif
#endif
