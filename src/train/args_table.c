/* The TrainingArguments registry: every field of transformers 5.23's
 * Seq2SeqTrainingArguments, in the sections of its docs, and the transformers
 * 4 (4.44) names that scripts, seeds and the course still pass. Each row says
 * whether lmtune does what transformers does with it, accepts it with nothing
 * to do on a CPU (and why), or refuses it unless given its default (and why).
 * Parsing and checking are train/args.c's; docs/ARGUMENTS.md is printed from
 * this table (lmtune train --list_arguments markdown). */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "train/args.h"

#define OFF(f) offsetof(lmt_training_args, f), sizeof(((lmt_training_args *)0)->f)
#define NOSTORE 0, 0
#define ANY -INFINITY, INFINITY, 0
#define MIN(x) (x), INFINITY, 0
#define MINX(x) (x), INFINITY, 1

#define B LMT_ARG_BOOL
#define I LMT_ARG_INT
#define F LMT_ARG_FLOAT
#define E LMT_ARG_ENUM
#define S LMT_ARG_STRING
#define L LMT_ARG_LIST
#define D LMT_ARG_DICT
#define IMPL LMT_ARG_IMPLEMENTED
#define NOEFF LMT_ARG_NO_EFFECT
#define REFUSE LMT_ARG_REFUSED
#define PLANNED LMT_ARG_PLANNED

static const char G_OUT[] = "Output", G_DUR[] = "Training Duration and Batch Size", G_LR[] = "Learning Rate & Scheduler",
                  G_OPT[] = "Optimizer", G_REG[] = "Regularization & Training Stability", G_MP[] = "Mixed Precision Training",
                  G_AC[] = "Activation Checkpointing", G_COMP[] = "Compilation", G_KER[] = "Kernels",
                  G_ADD[] = "Additional Optimizations", G_LOGM[] = "Logging & Monitoring Training", G_LOG[] = "Logging",
                  G_TRACK[] = "Experiment Tracking Integration", G_EVAL[] = "Evaluation", G_MET[] = "Metrics Computation",
                  G_SAVE[] = "Checkpointing & Saving", G_HUB[] = "Hugging Face Hub Integration", G_BEST[] = "Best Model Tracking",
                  G_RES[] = "Resuming Training", G_REP[] = "Reproducibility", G_HW[] = "Hardware Configuration",
                  G_ACC[] = "Accelerate Configuration", G_DL[] = "Dataloader", G_DDP[] = "DDP (DistributedDataParallel)",
                  G_FSDP[] = "FSDP (Fully Sharded Data Parallel)", G_DS[] = "DeepSpeed", G_DBG[] = "Debugging & Profiling (Experimental)",
                  G_EXT[] = "External Script Flags (not used by Trainer)", G_S2S[] = "Seq2SeqTrainingArguments",
                  G_MODEL[] = "ModelArguments (run_clm.py, run_mlm.py, run_translation.py)",
                  G_DATA[] = "DataTrainingArguments (run_clm.py, run_mlm.py, run_translation.py)";

static const char ONE_PROCESS[] = "torch.distributed setting: lmtune's data parallelism is mpirun (docs/DISTRIBUTED.md), with nothing to set here";
static const char NO_TORCH_DL[] = "lmtune's batches are built in memory, in the training thread: there is no torch DataLoader";

/* ---- the setters of rows that do more than store ---- */

static lmt_status set_adafactor(lmt_training_args *a, const char *v, const char *src) {
    (void)src;
    if (!strcmp(v, "true")) snprintf(a->optim, sizeof a->optim, "adafactor");
    return LMT_OK;
}

static lmt_status set_group_by_length(lmt_training_args *a, const char *v, const char *src) {
    (void)src;
    a->group_by_length = !strcmp(v, "true");
    if (a->group_by_length) snprintf(a->train_sampling_strategy, sizeof a->train_sampling_strategy, "group_by_length");
    return LMT_OK;
}

/* transformers 5: warmup_steps below 1 is a ratio of the total steps (4's warmup_ratio) */
static lmt_status set_warmup_steps(lmt_training_args *a, const char *v, const char *src) {
    double x = strtod(v, NULL);
    if (x > 0 && x < 1) {
        a->warmup_ratio = x;
        a->warmup_steps = 0;
    } else if (x != floor(x)) {
        return lmt_fail(LMT_ERR_ARG, "%s: expected a whole number of steps or a ratio in [0, 1), got \"%s\"", src, v);
    } else {
        a->warmup_steps = (int64_t)x;
    }
    return LMT_OK;
}

static lmt_status set_save_safetensors(lmt_training_args *a, const char *v, const char *src) {
    (void)a;
    if (!strcmp(v, "false"))
        return lmt_fail(LMT_ERR_ARG, "%s false is refused: lmtune saves safetensors only (transformers 5 "
                        "removed the option and always saves them)", src);
    return LMT_OK;
}

static lmt_status set_half_precision_backend(lmt_training_args *a, const char *v, const char *src) {
    (void)a;
    if (!strcmp(v, "apex")) return lmt_fail(LMT_ERR_ARG, "%s apex is refused: NVIDIA apex is GPU-only", src);
    return LMT_OK;
}

static lmt_status set_dtype(lmt_training_args *a, const char *v, const char *src) {
    (void)a;
    if (!strcmp(v, "bfloat16") || !strcmp(v, "float16"))
        return lmt_fail(LMT_ERR_ARG, "%s %s is refused: lmtune keeps fp32 master weights (pure %s training is not "
                        "implemented); --bf16 gives bf16 mixed precision", src, v, v);
    return LMT_OK;
}

/* lmt_training_args_set has checked the names; here the integrations */
static lmt_status set_report_to(lmt_training_args *a, const char *v, const char *src) {
    static const char *const known[] = {"azure_ml", "comet_ml", "mlflow", "neptune", "trackio", "wandb", "codecarbon", "clearml",
                                        "dagshub", "flyte", "dvclive", "swanlab", "kubeflow", NULL};
    char buf[256];
    snprintf(buf, sizeof buf, "%s", v);
    size_t used = 0;
    char out[64] = "";
    for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        if (strcmp(t, "none") && strcmp(t, "all") && strcmp(t, "tensorboard")) {
            for (size_t k = 0; known[k]; k++)
                if (!strcmp(t, known[k]))
                    return lmt_fail(LMT_ERR_ARG, "%s %s is refused: lmtune has no %s integration (it reports to "
                                    "tensorboard; none turns reporting off)", src, t, t);
            return lmt_fail(LMT_ERR_ARG, "%s: unknown integration \"%s\" (transformers knows azure_ml, clearml, "
                            "codecarbon, comet_ml, dagshub, dvclive, flyte, kubeflow, mlflow, neptune, swanlab, tensorboard, "
                            "trackio, wandb; lmtune: tensorboard, all, none)", src, t);
        }
        /* all: every integration installed, which for lmtune is tensorboard */
        const char *name = !strcmp(t, "all") ? "tensorboard" : t;
        if (!strcmp(name, "none") || strstr(out, name)) continue;
        used += (size_t)snprintf(out + used, sizeof out - used, "%s%s", used ? "," : "", name);
    }
    snprintf(a->report_to, sizeof a->report_to, "%s", used ? out : "none");
    return LMT_OK;
}

static lmt_status set_lr_scheduler_type(lmt_training_args *a, const char *v, const char *src) {
    static const char *const later[] = {"reduce_lr_on_plateau", "cosine_with_min_lr", "cosine_warmup_with_min_lr",
                                        "warmup_stable_decay", "greedy", NULL};
    for (size_t k = 0; later[k]; k++)
        if (!strcmp(v, later[k]))
            return lmt_fail(LMT_ERR_ARG, "%s %s is refused: not implemented in lmtune (linear, cosine, "
                            "cosine_with_restarts, polynomial, constant, constant_with_warmup, inverse_sqrt are)", src, v);
    snprintf(a->lr_scheduler_type, sizeof a->lr_scheduler_type, "%s", v);
    return LMT_OK;
}

/* The optimizers the trainer runs; the rest of OptimizerNames are refused
 * with the reason. trainer-features adds its optimizers here. */
static const char *const optim_implemented[] = {"adamw_torch", "adamw_torch_fused", "adafactor", "sgd", "adagrad", "rmsprop", NULL};

static lmt_status set_optim(lmt_training_args *a, const char *v, const char *src) {
    for (size_t k = 0; optim_implemented[k]; k++)
        if (!strcmp(v, optim_implemented[k])) {
            snprintf(a->optim, sizeof a->optim, "%s", v);
            return LMT_OK;
        }
    const char *why = strstr(v, "8bit") || strstr(v, "bnb") || strstr(v, "paged") || strstr(v, "4bit")
                          ? "it needs bitsandbytes / torchao quantized GPU kernels"
                      : strstr(v, "xla") || strstr(v, "npu") ? "it needs an XLA / Ascend NPU device"
                                                              : "not implemented in lmtune";
    return lmt_fail(LMT_ERR_ARG, "%s %s is refused: %s (implemented: adamw_torch, adamw_torch_fused, adafactor, sgd, adagrad, rmsprop)", src, v, why);
}

static lmt_status set_save_strategy(lmt_training_args *a, const char *v, const char *src) {
    if (!strcmp(v, "best"))
        return lmt_fail(LMT_ERR_ARG, "%s best is refused: not implemented in lmtune (use steps or epoch with "
                        "load_best_model_at_end)", src);
    a->save_strategy = !strcmp(v, "no") ? LMT_STRATEGY_NO : !strcmp(v, "steps") ? LMT_STRATEGY_STEPS : LMT_STRATEGY_EPOCH;
    return LMT_OK;
}

static const char OPTIMIZERS[] =
    "adamw_torch|adamw_torch_fused|adamw_torch_xla|adamw_torch_npu_fused|adafactor|adamw_anyprecision|adamw_torch_4bit|"
    "adamw_torch_8bit|ademamix|sgd|adagrad|adamw_bnb_8bit|adamw_8bit|ademamix_8bit|lion_8bit|lion_32bit|paged_adamw_32bit|"
    "paged_adamw_8bit|paged_ademamix_32bit|paged_ademamix_8bit|paged_lion_32bit|paged_lion_8bit|rmsprop|rmsprop_bnb|"
    "rmsprop_bnb_8bit|rmsprop_bnb_32bit|galore_adamw|galore_adamw_8bit|galore_adafactor|galore_adamw_layerwise|"
    "galore_adamw_8bit_layerwise|galore_adafactor_layerwise|lomo|adalomo|grokadamw|schedule_free_radam|schedule_free_adamw|"
    "schedule_free_sgd|apollo_adamw|apollo_adamw_layerwise|stable_adamw";
static const char SCHEDULERS[] = "linear|cosine|cosine_with_restarts|polynomial|constant|constant_with_warmup|inverse_sqrt|"
                                 "reduce_lr_on_plateau|cosine_with_min_lr|cosine_warmup_with_min_lr|warmup_stable_decay|greedy";
static const char LOG_LEVELS[] = "detail|debug|info|warning|error|critical|passive";
static const char INTEGRATIONS[] = "none|all|tensorboard|azure_ml|comet_ml|mlflow|neptune|trackio|wandb|codecarbon|clearml|"
                                   "dagshub|flyte|dvclive|swanlab|kubeflow";

/* {name, aliases, type, lo, hi, open, choices, default, group, status, note, help, storage, setter, since} */

static const lmt_arg_spec specs[] = {
    {"output_dir", NULL, S, ANY, NULL, "trainer_output", G_OUT, IMPL, NULL, "where the model, checkpoints and logs are written",
      OFF(output_dir), NULL, NULL},
    {"overwrite_output_dir", NULL, B, ANY, NULL, "false", G_OUT, IMPL,
      "transformers 5 removed it and writes into a non-empty folder; lmtune keeps 4's check (run_clm.py's)",
      "train into an output_dir that already holds files", OFF(overwrite_output_dir), NULL, "4"},

    {"per_device_train_batch_size", "per_gpu_train_batch_size", I, MIN(1), NULL, "8", G_DUR, IMPL,
      "per_gpu_train_batch_size: transformers 4's deprecated name", "examples per training batch", OFF(per_device_train_batch_size),
      NULL, NULL},
    {"num_train_epochs", NULL, F, MINX(0), NULL, "3.0", G_DUR, IMPL, NULL, "passes over the training set (fractions allowed)",
      OFF(num_train_epochs), NULL, NULL},
    {"max_steps", NULL, I, MIN(-1), NULL, "-1", G_DUR, IMPL, NULL, "optimizer steps; overrides num_train_epochs when > 0",
      OFF(max_steps), NULL, NULL},

    {"learning_rate", NULL, F, MIN(0), NULL, "5e-05", G_LR, IMPL, NULL, "the initial learning rate", OFF(learning_rate), NULL, NULL},
    {"lr_scheduler_type", NULL, E, ANY, SCHEDULERS, "linear", G_LR, IMPL,
      "reduce_lr_on_plateau, cosine_with_min_lr, cosine_warmup_with_min_lr, warmup_stable_decay and greedy are refused: not implemented",
      "the schedule, as get_scheduler()", OFF(lr_scheduler_type), set_lr_scheduler_type, NULL},
    {"lr_scheduler_kwargs", NULL, D, ANY, NULL, "{}", G_LR, REFUSE,
      "not implemented: lmtune's schedules use get_scheduler()'s defaults (num_cycles, power, lr_end)",
      "extra arguments of the scheduler", NOSTORE, NULL, NULL},
    {"warmup_steps", NULL, F, MIN(0), NULL, "0", G_LR, IMPL,
      "a value in (0, 1) is a ratio of the total steps (transformers 5; 4 took warmup_ratio)",
      "linear warmup steps from 0 to learning_rate", NOSTORE, set_warmup_steps, NULL},
    {"warmup_ratio", NULL, F, 0, 1, 0, NULL, "0.0", G_LR, IMPL, "transformers 5 folds it into warmup_steps < 1",
      "warmup as a share of the total steps", OFF(warmup_ratio), NULL, "4"},

    {"optim", NULL, E, ANY, OPTIMIZERS, "adamw_torch_fused", G_OPT, IMPL,
      "adamw_torch and adamw_torch_fused (the same AdamW), adafactor, sgd, adagrad and rmsprop are implemented (docs/TRAINER.md); bitsandbytes / XLA / NPU optimizers need those devices",
      "the optimizer (OptimizerNames)", OFF(optim), set_optim, NULL},
    {"optim_args", NULL, S, ANY, NULL, "None", G_OPT, IMPL, "the arguments of sgd, adagrad, rmsprop and adafactor (docs/TRAINER.md)",
      "\"k=v,k=v\" arguments of the optimizer", OFF(optim_args), NULL, NULL},
    {"weight_decay", NULL, F, MIN(0), NULL, "0.0", G_OPT, IMPL, NULL, "AdamW's decoupled weight decay (not on biases and norms)",
      OFF(weight_decay), NULL, NULL},
    {"adam_beta1", NULL, F, 0, 1, 2, NULL, "0.9", G_OPT, IMPL, NULL, "AdamW's beta1", OFF(adam_beta1), NULL, NULL},
    {"adam_beta2", NULL, F, 0, 1, 2, NULL, "0.999", G_OPT, IMPL, NULL, "AdamW's beta2", OFF(adam_beta2), NULL, NULL},
    {"adam_epsilon", NULL, F, MIN(0), NULL, "1e-08", G_OPT, IMPL, NULL, "AdamW's epsilon", OFF(adam_epsilon), NULL, NULL},
    {"optim_target_modules", NULL, L, ANY, NULL, "None", G_OPT, REFUSE, "for GaLore / APOLLO optimizers, which lmtune does not implement",
      "modules the optimizer targets", NOSTORE, NULL, NULL},
    {"adafactor", NULL, B, ANY, NULL, "false", G_OPT, IMPL, "transformers 4's flag for optim adafactor",
      "use Adafactor", NOSTORE, set_adafactor, "4"},

    {"gradient_accumulation_steps", NULL, I, MIN(1), NULL, "1", G_REG, IMPL, NULL, "micro-batches per optimizer step",
      OFF(gradient_accumulation_steps), NULL, NULL},
    {"average_tokens_across_devices", NULL, B, ANY, NULL, "true", G_REG, NOEFF, ONE_PROCESS,
      "all_reduce of the token count across devices", NOSTORE, NULL, NULL},
    {"max_grad_norm", NULL, F, MIN(0), NULL, "1.0", G_REG, IMPL, NULL, "gradient clipping norm (0: off)", OFF(max_grad_norm), NULL, NULL},
    {"label_smoothing_factor", NULL, F, 0, 1, 2, NULL, "0.0", G_REG, IMPL, "the Trainer's LabelSmoother (causal LM labels shifted)",
      "label smoothing of the loss", OFF(label_smoothing_factor), NULL, NULL},

    {"bf16", NULL, B, ANY, NULL, "false", G_MP, IMPL, NULL, "bf16 mixed precision (fp32 master weights)", OFF(bf16), NULL, NULL},
    {"fp16", NULL, B, ANY, NULL, "false", G_MP, IMPL, "on a CPU it runs bf16 mixed precision, as torch's CPU autocast (a note says so)",
      "fp16 mixed precision", OFF(fp16), NULL, NULL},
    {"bf16_full_eval", NULL, B, ANY, NULL, "false", G_MP, REFUSE, "not implemented: evaluation runs with the training precision",
      "evaluate in pure bf16", NOSTORE, NULL, NULL},
    {"fp16_full_eval", NULL, B, ANY, NULL, "false", G_MP, REFUSE, "not implemented: evaluation runs with the training precision",
      "evaluate in pure fp16", NOSTORE, NULL, NULL},
    {"tf32", NULL, B, ANY, NULL, "None", G_MP, REFUSE, "TF32 needs an NVIDIA Ampere GPU (transformers refuses it on a CPU too)",
      "TF32 matrix products", NOSTORE, NULL, NULL},
    {"fp16_opt_level", NULL, S, ANY, NULL, "O1", G_MP, NOEFF, "NVIDIA apex AMP's level: apex is GPU-only (transformers 4 used it only with apex)",
      "apex AMP optimization level", NOSTORE, NULL, "4"},
    {"half_precision_backend", "fp16_backend", E, ANY, "auto|apex|cpu_amp", "auto", G_MP, NOEFF,
      "lmtune's mixed precision is CPU bf16 autocast (cpu_amp); apex is refused (GPU-only)", "the mixed-precision backend",
      NOSTORE, set_half_precision_backend, "4"},

    {"gradient_checkpointing", "activation_checkpointing", B, ANY, NULL, "false", G_AC, IMPL,
      "activation_checkpointing is transformers 5's name; recomputation changes memory and time, not results",
      "recompute each layer's activations in the backward", OFF(gradient_checkpointing), NULL, NULL},
    {"gradient_checkpointing_kwargs", "activation_checkpointing_kwargs", D, ANY, NULL, "None", G_AC, NOEFF,
      "use_reentrant and the like steer torch.utils.checkpoint, which lmtune does not use", "arguments of the checkpointing",
      NOSTORE, NULL, NULL},

    {"torch_compile", NULL, B, ANY, NULL, "false", G_COMP, NOEFF, "lmtune's kernels are compiled C: there is no graph to compile",
      "compile the model with torch.compile", NOSTORE, NULL, NULL},
    {"torch_compile_backend", NULL, S, ANY, NULL, "None", G_COMP, NOEFF, "lmtune's kernels are compiled C: there is no graph to compile",
      "torch.compile backend", NOSTORE, NULL, NULL},
    {"torch_compile_mode", NULL, S, ANY, NULL, "None", G_COMP, NOEFF, "lmtune's kernels are compiled C: there is no graph to compile",
      "torch.compile mode", NOSTORE, NULL, NULL},
    {"torchdynamo", NULL, S, ANY, NULL, "None", G_COMP, NOEFF, "transformers 4's torch_compile_backend: lmtune compiles nothing",
      "TorchDynamo backend", NOSTORE, NULL, "4"},

    {"use_liger_kernel", NULL, B, ANY, NULL, "false", G_KER, REFUSE, "Liger kernels are Triton GPU kernels", "use Liger kernels",
      NOSTORE, NULL, NULL},
    {"liger_kernel_config", NULL, D, ANY, NULL, "None", G_KER, REFUSE, "Liger kernels are Triton GPU kernels", "Liger kernel options",
      NOSTORE, NULL, NULL},

    {"use_cache", NULL, B, ANY, NULL, "false", G_ADD, NOEFF, "lmtune keeps no key/value cache in training; generation uses one always",
      "use the model's key/value cache in training", NOSTORE, NULL, NULL},
    {"neftune_noise_alpha", NULL, F, MIN(0), NULL, "None", G_ADD, REFUSE, "NEFTune embedding noise is not implemented",
      "NEFTune noise", NOSTORE, NULL, NULL},
    {"torch_empty_cache_steps", NULL, I, MIN(1), NULL, "None", G_ADD, NOEFF, "empties torch's CUDA cache: lmtune has none",
      "steps between torch.cuda.empty_cache()", NOSTORE, NULL, NULL},
    {"auto_find_batch_size", NULL, B, ANY, NULL, "false", G_ADD, REFUSE,
      "not implemented: lmtune allocates its buffers before the first step; lower per_device_train_batch_size instead",
      "halve the batch size after an out-of-memory error", NOSTORE, NULL, NULL},

    {"logging_strategy", NULL, E, ANY, "no|steps|epoch", "steps", G_LOGM, IMPL, NULL, "when to log", OFF(logging_strategy), NULL, NULL},
    {"logging_steps", NULL, F, MINX(0), NULL, "500", G_LOGM, IMPL, NULL, "steps between logs (< 1: ratio of the total)",
      OFF(logging_steps), NULL, NULL},
    {"logging_first_step", NULL, B, ANY, NULL, "false", G_LOGM, IMPL, NULL, "log the first step too", OFF(logging_first_step), NULL, NULL},
    {"log_on_each_node", NULL, B, ANY, NULL, "true", G_LOGM, NOEFF, ONE_PROCESS, "log on every node", NOSTORE, NULL, NULL},
    {"logging_nan_inf_filter", NULL, B, ANY, NULL, "true", G_LOGM, REFUSE,
      "lmtune always leaves non-finite losses out of the logged loss; false is not implemented", "filter nan / inf losses from the logs",
      NOSTORE, NULL, NULL},
    {"include_num_input_tokens_seen", NULL, E, ANY, "no|all|non_padding", "no", G_LOGM, IMPL,
      NULL, "log the number of input tokens seen", OFF(include_num_input_tokens_seen), NULL, NULL},
    {"include_tokens_per_second", NULL, B, ANY, NULL, "false", G_LOGM, IMPL, "transformers 4: train_tokens_per_second, as include_num_input_tokens_seen all in 5",
      "add train_tokens_per_second to the metrics", OFF(include_tokens_per_second), NULL, "4"},

    {"log_level", NULL, E, ANY, LOG_LEVELS, "passive", G_LOG, IMPL, "filters lmtune's notes and warnings", "the main process's log level",
      OFF(log_level), NULL, NULL},
    {"log_level_replica", NULL, E, ANY, LOG_LEVELS, "warning", G_LOG, NOEFF, "one process: there are no replicas",
      "the replicas' log level", OFF(log_level_replica), NULL, NULL},
    {"disable_tqdm", NULL, B, ANY, NULL, "None", G_LOG, IMPL, NULL, "no progress line", OFF(disable_tqdm), NULL, NULL},

    {"report_to", NULL, L, ANY, INTEGRATIONS, "none", G_TRACK, IMPL,
      "tensorboard (all = every integration installed = tensorboard) and none; the other integrations are refused",
      "where the logs go", OFF(report_to), set_report_to, NULL},
    {"logging_dir", NULL, S, ANY, NULL, "None", G_TRACK, IMPL,
      "transformers 5 removed it (TENSORBOARD_LOGGING_DIR instead); default output_dir/runs/<date>_<host>",
      "the TensorBoard folder", OFF(logging_dir), NULL, "4"},
    {"run_name", NULL, S, ANY, NULL, "None", G_TRACK, IMPL, NULL, "the run's name (default output_dir)", OFF(run_name), NULL, NULL},
    {"project", NULL, S, ANY, NULL, "huggingface", G_TRACK, NOEFF, "the trackio / wandb project: those integrations are refused",
      "the tracking project", NOSTORE, NULL, NULL},
    {"trackio_space_id", NULL, S, ANY, NULL, "None", G_TRACK, NOEFF, "trackio is refused in report_to", "trackio Space", NOSTORE, NULL, NULL},
    {"trackio_bucket_id", NULL, S, ANY, NULL, "None", G_TRACK, NOEFF, "trackio is refused in report_to", "trackio bucket", NOSTORE, NULL,
      NULL},
    {"trackio_static_space_id", NULL, S, ANY, NULL, "None", G_TRACK, NOEFF, "trackio is refused in report_to", "trackio static Space",
      NOSTORE, NULL, NULL},
    {"ray_scope", NULL, S, ANY, NULL, "last", G_TRACK, NOEFF, "Ray Tune hyperparameter search: lmtune runs no search",
      "Ray Tune scope", NOSTORE, NULL, "4"},

    {"eval_strategy", "evaluation_strategy", E, ANY, "no|steps|epoch", "no", G_EVAL, IMPL,
      "evaluation_strategy: the name before transformers 4.41", "when to evaluate", OFF(eval_strategy), NULL, NULL},
    {"eval_steps", NULL, F, MIN(0), NULL, "None", G_EVAL, IMPL, NULL, "steps between evaluations (default logging_steps)",
      OFF(eval_steps), NULL, NULL},
    {"eval_delay", NULL, F, MIN(0), NULL, "0", G_EVAL, REFUSE, "not implemented: evaluations start at the first eval_steps",
      "epochs or steps to wait before the first evaluation", NOSTORE, NULL, NULL},
    {"per_device_eval_batch_size", "per_gpu_eval_batch_size", I, MIN(1), NULL, "8", G_EVAL, IMPL,
      "per_gpu_eval_batch_size: transformers 4's deprecated name", "examples per evaluation batch", OFF(per_device_eval_batch_size),
      NULL, NULL},
    {"prediction_loss_only", NULL, B, ANY, NULL, "false", G_EVAL, REFUSE, "not implemented: evaluations compute the task's metrics",
      "evaluate the loss only", NOSTORE, NULL, NULL},
    {"eval_on_start", NULL, B, ANY, NULL, "false", G_EVAL, IMPL, NULL, "evaluate before the first step",
      OFF(eval_on_start), NULL, NULL},
    {"eval_do_concat_batches", NULL, B, ANY, NULL, "true", G_EVAL, NOEFF, "lmtune's metrics accumulate per batch: nothing is concatenated",
      "concatenate the predictions of the batches", NOSTORE, NULL, NULL},
    {"eval_use_gather_object", NULL, B, ANY, NULL, "false", G_EVAL, NOEFF, ONE_PROCESS, "gather objects across devices", NOSTORE, NULL,
      NULL},
    {"eval_accumulation_steps", NULL, I, MIN(1), NULL, "None", G_EVAL, NOEFF, "the evaluation keeps only batch losses in memory: nothing to move to a CPU",
      "prediction steps before moving outputs off the device", OFF(eval_accumulation_steps), NULL, NULL},
    {"use_legacy_prediction_loop", NULL, B, ANY, NULL, "false", G_EVAL, NOEFF, "one evaluation loop: the results are the same",
      "transformers 4's old prediction loop", NOSTORE, NULL, "4"},
    {"past_index", NULL, I, ANY, NULL, "-1", G_EVAL, REFUSE, "TransformerXL / XLNet memories: lmtune has no such model",
      "the output holding past states", NOSTORE, NULL, "4"},
    {"jit_mode_eval", NULL, B, ANY, NULL, "false", G_EVAL, NOEFF, "TorchScript tracing: lmtune's evaluation is compiled C already",
      "evaluate with TorchScript", NOSTORE, NULL, "4"},

    {"include_for_metrics", NULL, L, ANY, "inputs|loss", "[]", G_MET, REFUSE,
      "not implemented: compute_metrics gets predictions and labels", "extra inputs of compute_metrics", NOSTORE, NULL, NULL},
    {"batch_eval_metrics", NULL, B, ANY, NULL, "false", G_MET, NOEFF, "lmtune's metrics accumulate per batch already",
      "compute the metrics batch by batch", NOSTORE, NULL, NULL},
    {"include_inputs_for_metrics", NULL, B, ANY, NULL, "false", G_MET, REFUSE,
      "not implemented: compute_metrics gets predictions and labels (include_for_metrics in transformers 5)",
      "pass the inputs to compute_metrics", NOSTORE, NULL, "4"},

    {"save_only_model", NULL, B, ANY, NULL, "false", G_SAVE, IMPL, "resuming from such a checkpoint is refused", "checkpoints without optimizer state",
      OFF(save_only_model), NULL, NULL},
    {"save_strategy", NULL, E, ANY, "no|steps|epoch|best", "steps", G_SAVE, IMPL, "best is refused: not implemented",
      "when to save checkpoints", OFF(save_strategy), set_save_strategy, NULL},
    {"save_steps", NULL, F, MINX(0), NULL, "500", G_SAVE, IMPL, NULL, "steps between checkpoints (< 1: ratio of the total)",
      OFF(save_steps), NULL, NULL},
    {"save_on_each_node", NULL, B, ANY, NULL, "false", G_SAVE, NOEFF, ONE_PROCESS, "save on every node", NOSTORE, NULL, NULL},
    {"save_total_limit", NULL, I, MIN(-1), NULL, "None", G_SAVE, IMPL, NULL, "checkpoints kept (the oldest deleted)",
      OFF(save_total_limit), NULL, NULL},
    {"enable_jit_checkpoint", NULL, B, ANY, NULL, "false", G_SAVE, REFUSE, "not implemented: no checkpoint on SIGTERM",
      "checkpoint when the job is preempted", NOSTORE, NULL, NULL},
    {"save_safetensors", NULL, B, ANY, NULL, "true", G_SAVE, IMPL, "false is refused: lmtune saves safetensors only (5 always does)",
      "save safetensors", NOSTORE, set_save_safetensors, "4"},

    {"push_to_hub", NULL, B, ANY, NULL, "false", G_HUB, IMPL, NULL, "push the model to the Hub", OFF(push_to_hub), NULL, NULL},
    {"hub_token", "push_to_hub_token", S, ANY, NULL, "None", G_HUB, IMPL, "push_to_hub_token: transformers 4's deprecated name",
      "the Hub token (default HF_TOKEN)", OFF(hub_token), NULL, NULL},
    {"hub_private_repo", NULL, B, ANY, NULL, "None", G_HUB, IMPL, NULL, "create the repo private", OFF(hub_private_repo), NULL, NULL},
    {"hub_model_id", "push_to_hub_model_id", S, ANY, NULL, "None", G_HUB, IMPL, "push_to_hub_model_id: transformers 4's deprecated name",
      "the repo (NAME or ORG/NAME)", OFF(hub_model_id), NULL, NULL},
    {"hub_strategy", NULL, E, ANY, "end|every_save|checkpoint|all_checkpoints", "every_save", G_HUB, IMPL,
      "checkpoint and all_checkpoints are refused: lmtune pushes models, not checkpoint folders", "what to push and when",
      OFF(hub_strategy), NULL, NULL},
    {"hub_always_push", NULL, B, ANY, NULL, "false", G_HUB, NOEFF, "lmtune's pushes are synchronous: none is ever skipped",
      "push even while a push is running", NOSTORE, NULL, NULL},
    {"hub_revision", NULL, S, ANY, NULL, "None", G_HUB, REFUSE, "not implemented: pushes go to main", "the branch to push to",
      NOSTORE, NULL, NULL},
    {"push_to_hub_organization", NULL, S, ANY, NULL, "None", G_HUB, REFUSE,
      "deprecated in transformers 4 and removed in 5: give hub_model_id ORG/NAME", "the organization to push to", NOSTORE, NULL, "4"},

    {"load_best_model_at_end", NULL, B, ANY, NULL, "false", G_BEST, IMPL, NULL, "keep the best checkpoint's weights at the end",
      OFF(load_best_model_at_end), NULL, NULL},
    {"metric_for_best_model", NULL, S, ANY, NULL, "None", G_BEST, IMPL, NULL, "the metric that picks the best checkpoint",
      OFF(metric_for_best_model), NULL, NULL},
    {"greater_is_better", NULL, B, ANY, NULL, "None", G_BEST, IMPL, NULL, "a larger metric is better (default: unless it ends in loss)",
      OFF(greater_is_better), NULL, NULL},

    {"ignore_data_skip", NULL, B, ANY, NULL, "false", G_RES, REFUSE, "not implemented: a resumed run skips the batches already seen",
      "restart the data from the beginning when resuming", NOSTORE, NULL, NULL},
    {"restore_callback_states_from_checkpoint", NULL, B, ANY, NULL, "false", G_RES, NOEFF, "lmtune has no stateful callbacks",
      "restore the callbacks' states", NOSTORE, NULL, NULL},

    {"full_determinism", NULL, B, ANY, NULL, "false", G_REP, NOEFF, "lmtune's kernels are deterministic already", "deterministic algorithms everywhere",
      OFF(full_determinism), NULL, NULL},
    {"seed", NULL, I, MIN(0), NULL, "42", G_REP, IMPL, NULL, "the seed of the weights, dropout and sampler", OFF(seed), NULL, NULL},
    {"data_seed", NULL, I, MIN(0), NULL, "None", G_REP, IMPL, NULL, "the sampler's seed (default seed)",
      OFF(data_seed), NULL, NULL},

    {"use_cpu", "no_cuda", B, ANY, NULL, "false", G_HW, NOEFF, "lmtune always runs on the CPU (no_cuda: transformers 4's name)",
      "train on the CPU", NOSTORE, NULL, NULL},
    {"use_mps_device", NULL, B, ANY, NULL, "false", G_HW, REFUSE, "Apple GPUs (MPS): lmtune runs on the CPU", "use Apple's MPS device",
      NOSTORE, NULL, "4"},
    {"use_ipex", NULL, B, ANY, NULL, "false", G_HW, NOEFF, "Intel Extension for PyTorch: lmtune's own kernels use the CPU's AVX-512 / AMX",
      "use IPEX", NOSTORE, NULL, "4"},
    {"tpu_num_cores", NULL, I, MIN(1), NULL, "None", G_HW, REFUSE, "TPUs: lmtune runs on the CPU", "TPU cores", NOSTORE, NULL, "4"},
    {"tpu_metrics_debug", NULL, B, ANY, NULL, "false", G_HW, REFUSE, "TPUs: lmtune runs on the CPU", "TPU debug metrics", NOSTORE,
      NULL, "4"},

    {"accelerator_config", NULL, D, ANY, NULL, "None", G_ACC, NOEFF, "Accelerate's options: " "one process, no Accelerate",
      "Accelerate's configuration", NOSTORE, NULL, NULL},
    {"parallelism_config", NULL, D, ANY, NULL, "None", G_ACC, REFUSE, "multi-device parallelism: lmtune runs one process",
      "Accelerate's parallelism", NOSTORE, NULL, NULL},
    {"dispatch_batches", NULL, B, ANY, NULL, "None", G_ACC, NOEFF, ONE_PROCESS, "Accelerate's dispatch_batches", NOSTORE, NULL, "4"},
    {"split_batches", NULL, B, ANY, NULL, "None", G_ACC, NOEFF, ONE_PROCESS, "Accelerate's split_batches", NOSTORE, NULL, "4"},

    {"dataloader_drop_last", NULL, B, ANY, NULL, "false", G_DL, REFUSE, "not implemented: the last short batch is trained on",
      "drop the last incomplete batch", NOSTORE, NULL, NULL},
    {"dataloader_num_workers", NULL, I, MIN(0), NULL, "0", G_DL, NOEFF, NO_TORCH_DL, "DataLoader worker processes",
      OFF(dataloader_num_workers), NULL, NULL},
    {"dataloader_pin_memory", NULL, B, ANY, NULL, "true", G_DL, NOEFF, "pinned memory speeds CPU-to-GPU copies: there are none",
      "pin the batches' memory", NOSTORE, NULL, NULL},
    {"dataloader_persistent_workers", NULL, B, ANY, NULL, "false", G_DL, NOEFF, NO_TORCH_DL, "keep the workers alive", NOSTORE, NULL, NULL},
    {"dataloader_prefetch_factor", NULL, I, MIN(1), NULL, "None", G_DL, NOEFF, NO_TORCH_DL, "batches prefetched per worker", NOSTORE,
      NULL, NULL},
    {"dataloader_multiprocessing_context", NULL, E, ANY, "fork|spawn|forkserver", "None", G_DL, NOEFF, NO_TORCH_DL,
      "the workers' start method", NOSTORE, NULL, NULL},
    {"dataloader_in_order", NULL, B, ANY, NULL, "true", G_DL, NOEFF, NO_TORCH_DL, "yield batches in dispatch order", NOSTORE, NULL, NULL},
    {"remove_unused_columns", NULL, B, ANY, NULL, "true", G_DL, NOEFF, "each task's collator takes the columns its model needs",
      "drop the columns the model does not take", OFF(remove_unused_columns), NULL, NULL},
    {"label_names", NULL, L, ANY, NULL, "None", G_DL, REFUSE, "not implemented: each task names its labels (labels)",
      "the keys holding the labels", NOSTORE, NULL, NULL},
    {"train_sampling_strategy", NULL, E, ANY, "random|sequential|group_by_length|batch_rebalance", "random", G_DL, IMPL,
      "random, sequential and group_by_length (LengthGroupedSampler); batch_rebalance is refused", "the order of the training examples", OFF(train_sampling_strategy), NULL, NULL},
    {"group_by_length", NULL, B, ANY, NULL, "false", G_DL, IMPL, "transformers 5: train_sampling_strategy group_by_length",
      "batch examples of similar lengths", OFF(group_by_length), set_group_by_length, "4"},
    {"length_column_name", NULL, S, ANY, NULL, "length", G_DL, PLANNED, "not implemented yet", "the column of precomputed lengths",
      OFF(length_column_name), NULL, NULL},

    {"ddp_find_unused_parameters", NULL, B, ANY, NULL, "None", G_DDP, NOEFF, ONE_PROCESS, "DDP's find_unused_parameters", NOSTORE, NULL, NULL},
    {"ddp_bucket_cap_mb", NULL, I, MIN(1), NULL, "None", G_DDP, IMPL, NULL,
     "under mpirun, gradients are all-reduced in buckets of this many MB while the backward goes on (None: 25, as DDP)",
     OFF(ddp_bucket_cap_mb), NULL, NULL},
    {"ddp_broadcast_buffers", NULL, B, ANY, NULL, "None", G_DDP, NOEFF, ONE_PROCESS, "DDP's broadcast_buffers", NOSTORE, NULL, NULL},
    {"ddp_static_graph", NULL, B, ANY, NULL, "None", G_DDP, NOEFF, ONE_PROCESS, "DDP's static_graph", NOSTORE, NULL, NULL},
    {"ddp_backend", NULL, E, ANY, "nccl|gloo|mpi|xccl|hccl|cncl|mccl", "None", G_DDP, NOEFF, ONE_PROCESS, "the distributed backend",
      NOSTORE, NULL, NULL},
    {"ddp_timeout", NULL, I, MIN(1), NULL, "1800", G_DDP, NOEFF, ONE_PROCESS, "the process group's timeout (s)", NOSTORE, NULL, NULL},
    {"local_rank", NULL, I, ANY, NULL, "-1", G_DDP, NOEFF, ONE_PROCESS, "the process's rank (set by launchers)", NOSTORE, NULL, NULL},

    {"fsdp", NULL, L, ANY, NULL, "None", G_FSDP, REFUSE, "sharding across GPUs: lmtune runs one process", "FSDP options", NOSTORE, NULL,
      NULL},
    {"fsdp_config", NULL, D, ANY, NULL, "None", G_FSDP, NOEFF, "read only with fsdp, which is refused", "FSDP configuration", NOSTORE,
      NULL, NULL},
    {"fsdp_min_num_params", NULL, I, MIN(0), NULL, "0", G_FSDP, NOEFF, "read only with fsdp, which is refused", "FSDP wrap size",
      NOSTORE, NULL, "4"},
    {"fsdp_transformer_layer_cls_to_wrap", NULL, S, ANY, NULL, "None", G_FSDP, NOEFF, "read only with fsdp, which is refused",
      "FSDP layer class", NOSTORE, NULL, "4"},

    {"deepspeed", NULL, S, ANY, NULL, "None", G_DS, REFUSE, "DeepSpeed (ZeRO sharding, offload) is not part of lmtune",
      "a DeepSpeed config", NOSTORE, NULL, NULL},

    {"debug", NULL, L, ANY, "underflow_overflow|tpu_metrics_debug", "", G_DBG, REFUSE, "not implemented (lmtune --profile times kernels)",
      "debug modes", NOSTORE, NULL, NULL},
    {"skip_memory_metrics", NULL, B, ANY, NULL, "true", G_DBG, REFUSE, "not implemented: no memory metrics are gathered",
      "leave out the memory metrics", NOSTORE, NULL, NULL},
    {"mp_parameters", NULL, S, ANY, NULL, "", G_DBG, NOEFF, "SageMaker model parallelism: lmtune runs one process",
      "SageMaker options", NOSTORE, NULL, "4"},

    {"do_train", NULL, B, ANY, NULL, "false", G_EXT, IMPL, "lmtune trains when given --train_file", "train", OFF(do_train), NULL, NULL},
    {"do_eval", NULL, B, ANY, NULL, "false", G_EXT, IMPL, NULL, "evaluate", OFF(do_eval), NULL, NULL},
    {"do_predict", NULL, B, ANY, NULL, "false", G_EXT, REFUSE, "not implemented: there is no test_file prediction run",
      "predict on the test set", NOSTORE, NULL, NULL},
    {"resume_from_checkpoint", NULL, S, ANY, NULL, "None", G_EXT, IMPL, NULL, "a checkpoint folder, or latest / true",
      OFF(resume_from_checkpoint), NULL, NULL},

    {"sortish_sampler", NULL, B, ANY, NULL, "false", G_S2S, REFUSE, "not implemented", "sort-ish batches by length", NOSTORE, NULL, NULL},
    {"predict_with_generate", NULL, B, ANY, NULL, "false", G_S2S, IMPL, NULL, "evaluate with generation (BLEU)",
      OFF(predict_with_generate), NULL, NULL},
    {"generation_max_length", NULL, I, MIN(1), NULL, "None", G_S2S, IMPL, NULL, "max_length of the evaluation's generation",
      OFF(generation_max_length), NULL, NULL},
    {"generation_num_beams", NULL, I, MIN(1), NULL, "None", G_S2S, IMPL, NULL, "beams of the evaluation's generation",
      OFF(generation_num_beams), NULL, NULL},
    {"generation_config", NULL, S, ANY, NULL, "None", G_S2S, REFUSE,
      "not implemented: give generation_max_length / generation_num_beams (the model's generation_config.json is read)",
      "a GenerationConfig for the evaluation", NOSTORE, NULL, NULL},

    /* run_clm.py / run_mlm.py / run_translation.py's ModelArguments and
     * DataTrainingArguments that the train commands' own tables do not hold
     * (model_name_or_path, config_name, train_file, block_size, ... are theirs) */
    {"dtype", "torch_dtype", E, ANY, "auto|bfloat16|float16|float32", "None", G_MODEL, NOEFF,
      "auto and float32 load fp32 weights as lmtune always does; bfloat16 / float16 (pure half training) are refused",
      "the dtype the model is loaded in", NOSTORE, set_dtype, NULL},
    {"model_type", NULL, S, ANY, NULL, "None", G_MODEL, IMPL, "transformers' default configs (src/models/config_defaults.inc)",
      "train from scratch from this model type's default config", NOSTORE, NULL, NULL},
    {"config_overrides", NULL, S, ANY, NULL, "None", G_MODEL, IMPL, "run_clm.py's override rules",
      "\"n_embd=10,resid_pdrop=0.2\" over the --model_type config", NOSTORE, NULL, NULL},
    {"use_fast_tokenizer", NULL, B, ANY, NULL, "true", G_MODEL, REFUSE,
      "lmtune's tokenizers are the fast (tokenizers library) ones; the slow Python tokenizers are not reimplemented",
      "use the fast tokenizer", NOSTORE, NULL, NULL},
    {"trust_remote_code", NULL, B, ANY, NULL, "false", G_MODEL, NOEFF,
      "lmtune runs no code from the Hub: the architectures it implements load the same either way", "run the repo's Python code",
      NOSTORE, NULL, NULL},
    {"low_cpu_mem_usage", NULL, B, ANY, NULL, "false", G_MODEL, NOEFF, "lmtune loads the weights once, into their final place",
      "load the weights without a first random init", NOSTORE, NULL, NULL},
    {"use_auth_token", NULL, B, ANY, NULL, "false", G_MODEL, NOEFF, "transformers 4's flag: the token is --token (or HF_TOKEN) either way",
      "use the saved Hub token", NOSTORE, NULL, "4"},
    {"keep_linebreaks", NULL, B, ANY, NULL, "true", G_DATA, IMPL, "--task clm",
      "text files keep each line's newline", NOSTORE, NULL, NULL},
    {"overwrite_cache", NULL, B, ANY, NULL, "false", G_DATA, NOEFF, "lmtune caches no preprocessed datasets: each run tokenizes afresh",
      "recompute the cached preprocessing", NOSTORE, NULL, NULL},
    {"preprocessing_num_workers", NULL, I, MIN(1), NULL, "None", G_DATA, NOEFF, "tokenization runs on lmtune's own threads",
      "processes for datasets.map", NOSTORE, NULL, NULL},
    {"streaming", NULL, B, ANY, NULL, "false", G_DATA, REFUSE, "not implemented: the data files are read whole", "stream the dataset",
      NOSTORE, NULL, NULL},
    {"test_file", NULL, S, ANY, NULL, "None", G_DATA, REFUSE, "not implemented: there is no predict run (do_predict)",
      "the test examples", NOSTORE, NULL, NULL},
    {"max_predict_samples", NULL, I, MIN(1), NULL, "None", G_DATA, NOEFF, "read only by the predict run, which is refused",
      "keep the first N test examples", NOSTORE, NULL, NULL},
    {"ignore_pad_token_for_loss", NULL, B, ANY, NULL, "true", G_DATA, REFUSE,
      "labels' padding is always -100, left out of the loss; false is not implemented", "pad labels with -100", NOSTORE, NULL, NULL},
    {"forced_bos_token", NULL, S, ANY, NULL, "None", G_DATA, NOEFF, "run_translation.py reads it for mBART / M2M100 only; Marian ignores it",
      "the target language token forced first", NOSTORE, NULL, NULL},
};

/* dtype sits among the script flags but is handled here so that every
 * command's table need not list it */

const lmt_arg_spec *lmt_training_args_specs(size_t *n) {
    *n = sizeof specs / sizeof specs[0];
    return specs;
}
