#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/hub_flags.h"
#include "cli/train_common.h"
#include "core/error.h"
#include "core/util.h"
#include "hub/dataset_files.h"
#include "models/lora.h"
#include "train/dist.h"

const char *const lmt_cli_tasks[] = {"clm", "mlm", "translation", "sft", NULL};
bool lmt_cli_eval_mode;

static const char eval_header[] =
    "usage: lmtune eval [--task clm | mlm | translation] --model_name_or_path DIR --validation_file F [options]\n\n"
    "Evaluates a model as Trainer.evaluate() does, without training: eval_loss and perplexity (clm, mlm), or\n"
    "eval_loss and, with --predict_with_generate, eval_bleu (translation). The flags are train's (below), without\n"
    "--train_file. Logs are JSON lines on stdout.\n";


lmt_status lmt_cli_load_args_json(void *args, const char *path) { return lmt_training_args_load_json(args, path); }

static lmt_status training_arg(void *args, const char *name, const char *value) {
    if (!lmt_training_args_known(name)) return LMT_ERR_NOT_FOUND;   /* the parser suggests a name from both tables */
    return lmt_training_args_set(args, name, value, "command line");
}

/* --dataset_name: the repo's train and validation files (one each: our
 * loaders read one file per split) as --train_file / --validation_file,
 * unless those are given */
static int hub_dataset(lmt_cli_train *c) {
    lmt_hub_data_files d;
    lmt_hub_options o = *lmt_cli_hub_options();   /* --cache_dir, --token, --local_files_only, --force_download */
    o.revision = NULL;                             /* --revision is the model's (run_clm.py's model_revision) */
    if (lmt_hub_dataset_download(c->dataset_name, c->dataset_config, &o, &d) != LMT_OK) return lmt_cli_fail("--dataset_name");
    const char *split[2] = {"train", "validation"};
    const char **dst[2] = {&c->train_file, &c->eval_file};
    int rc = 0;
    for (int k = 0; k < 2 && !rc; k++) {
        const lmt_hub_names *f = lmt_hub_data_files_split(&d, split[k]);
        if (!f || *dst[k]) continue;
        if (f->n > 1) {
            fprintf(stderr, "lmtune: error: --dataset_name %s: the %s split has %zu files (%s, ...); lmtune reads one file per split: "
                    "pass --%s with one of them\n", c->dataset_name, split[k], f->n, f->v[0], k ? "validation_file" : "train_file");
            rc = 1;
            break;
        }
        if (!(*dst[k] = lmt_cli_keep(lmt_strdup(f->v[0])))) { fprintf(stderr, "lmtune: error: out of memory\n"); rc = 1; break; }
        fprintf(stderr, "lmtune: --dataset_name %s: %s split from %s\n", c->dataset_name, split[k], f->v[0]);
    }
    if (!rc && !c->train_file && !c->eval_file) {
        fprintf(stderr, "lmtune: error: --dataset_name %s: no train or validation split found (splits:", c->dataset_name);
        for (size_t i = 0; i < d.n; i++) fprintf(stderr, " %s", d.splits[i].name);
        fprintf(stderr, ")\n");
        rc = 1;
    }
    lmt_hub_data_files_free(&d);
    return rc;
}

int lmt_cli_train_parse(int argc, char **argv, lmt_cli_train *c, const lmt_flag *table, size_t n, const char *header) {
    c->task = NULL;
    c->model_dir = c->config = c->tok_dir = c->train_file = c->eval_file = NULL;
    c->dataset_name = c->dataset_config = NULL;
    c->model_type = c->config_overrides = NULL;
    c->rc = 0;
    c->use_peft = false;
    c->lora_r = 0;
    c->lora_alpha = 0;
    c->lora_dropout = -1;   // unset: TRL's 0.05
    c->lora_targets = NULL;
    lmt_training_args_default(&c->args);
    if (c->defaults) c->defaults(&c->args);
    /* --help: the command's flags, then every TrainingArguments name by group */
    char *names = lmt_training_args_describe(false);
    lmt_strbuf footer;
    lmt_sb_init(&footer);
    lmt_sb_printf(&footer, "\nTrainingArguments / Seq2SeqTrainingArguments (transformers 5.23, and transformers 4 names), "
                  "as --name VALUE or --name=VALUE\n(hyphens accepted for underscores; docs/ARGUMENTS.md):\n%s\n%s",
                  names ? names : "", lmt_cli_hub_help);
    free(names);
    int rc = lmt_cli_parse_flags(argc, argv, table, n, training_arg, &c->args, lmt_cli_eval_mode ? eval_header : header, footer.data);
    lmt_sb_free(&footer);
    if (rc) return rc;
    if ((c->model_type || c->config_overrides) && (rc = lmt_cli_model_type_config(c))) return rc;
    if ((!c->model_dir) == (!c->config)) {
        fprintf(stderr, "lmtune: error: give exactly one of --model_name_or_path and --config_name\n");
        return 2;
    }
    if (!c->tok_dir) c->tok_dir = c->model_dir;
    if (!c->tok_dir) { fprintf(stderr, "lmtune: error: --config_name needs --tokenizer_name\n"); return 2; }
    if (lmt_training_args_validate(&c->args) != LMT_OK) {   /* a refused combination: a usage error */
        lmt_cli_fail("training arguments");
        return 2;
    }
    /* --config_name as run_clm.py takes it: a config.json, or a Hub repo whose config.json is fetched */
    if (c->config && !lmt_file_exists(c->config) && !lmt_is_dir(c->config) && lmt_hub_valid_repo_id(c->config)) {
        char *path = NULL;
        if (lmt_hub_download(c->config, "config.json", lmt_cli_hub_options(), &path) != LMT_OK) return lmt_cli_fail("--config_name");
        c->config = lmt_cli_keep(path);
    }
    if (c->dataset_config && !c->dataset_name) { fprintf(stderr, "lmtune: error: --dataset_config_name needs --dataset_name\n"); return 2; }
    if (c->dataset_name && (rc = hub_dataset(c))) return rc;
    const char *note = lmt_training_args_precision_note(&c->args);
    if (note) fprintf(stderr, "lmtune: note: %s\n", note);
    return 0;
}

int lmt_cli_need_eval_source(const lmt_cli_train *c, bool have, const char *sources) {
    if (c->args.eval_strategy == LMT_STRATEGY_NO || have) return 0;
    fprintf(stderr, "lmtune: error: eval_strategy %s needs %s\n", c->args.eval_strategy == LMT_STRATEGY_EPOCH ? "epoch" : "steps", sources);
    return 2;
}

int lmt_cli_files_exist(const char *const *files, size_t n) {
    for (size_t k = 0; k < n; k++)
        if (files[k] && !lmt_file_exists(files[k])) { fprintf(stderr, "lmtune: error: %s: no such file\n", files[k]); return 1; }
    return 0;
}

lmt_status lmt_cli_usage_error(lmt_cli_train *c, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->rc = 2;
    return lmt_fail(LMT_ERR_ARG, "%s", msg);
}

static bool progress_shown;   /* the progress line is on the terminal: a log line clears it first */

static void print_log(void *user, const char *json) {
    (void)user;
    if (progress_shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        progress_shown = false;
    }
    printf("%s\n", json);
    fflush(stdout);
}

static void print_progress(void *user, int64_t step, int64_t max_steps, double epoch, double loss, double tps, double left) {
    const lmt_cli_train *c = user;
    if (c->args.disable_tqdm || !isatty(STDERR_FILENO)) return;
    progress_shown = step != max_steps;
    fprintf(stderr, "\r  step %lld/%lld  epoch %.2f  loss %.4f  %.0f tokens/s  %02d:%02d left   ", (long long)step,
            (long long)max_steps, epoch, loss, tps, (int)(left / 60), (int)fmod(left, 60));
    if (step == max_steps) fputc('\n', stderr);
}

static void print_eval_progress(void *user, const char *what, int64_t done, int64_t total, double left) {
    const lmt_cli_train *c = user;
    if (c->args.disable_tqdm || !isatty(STDERR_FILENO)) return;
    /* a line of its own, cleared when done (or by the next log line) */
    fprintf(stderr, "\r\033[K  %s: batch %lld/%lld  %02d:%02d left", what, (long long)done, (long long)total, (int)(left / 60),
            (int)fmod(left, 60));
    progress_shown = done < total;
    if (done == total) fputs("\r\033[K", stderr);
    fflush(stderr);
}

static void print_saved(void *user, const char *dir) {
    (void)user;
    fprintf(stderr, "lmtune: saved the model and tokenizer to %s\n", dir);
}

static void print_pushed(void *user, const char *repo) {
    (void)user;
    fprintf(stderr, "lmtune: pushed the model to the Hub: %s\n", repo);
}

void lmt_cli_print_perplexity(void *user, const lmt_eval_output *e, bool final, const lmt_eval_output *before) {
    (void)user;
    double ppl, ppl0;
    lmt_eval_metric(e, "perplexity", &ppl);
    if (!final) {
        printf("{\"eval_loss_before\": %.10g, \"perplexity_before\": %.10g}\n", e->loss, ppl);
        fflush(stdout);
        return;
    }
    printf("{\"eval_loss\": %.10g, \"perplexity\": %.10g, \"eval_runtime\": %.4f, \"eval_samples_per_second\": %.3f}\n", e->loss,
           ppl, e->runtime, e->samples_per_second);
    fflush(stdout);
    if (before && lmt_eval_metric(before, "perplexity", &ppl0))
        fprintf(stderr, "lmtune: perplexity %.2f before training, %.2f after\n", ppl0, ppl);
}

void lmt_cli_print_metrics(void *user, const lmt_eval_output *e, bool final, const lmt_eval_output *before) {
    (void)user;
    const char *suffix = final ? "" : "_before";
    printf("{\"eval_loss%s\": %.10g", suffix, e->loss);
    for (int i = 0; i < e->n_metrics; i++) printf(", \"%s%s\": %.10g", e->metric_keys[i], suffix, e->metric_values[i]);
    printf(", \"eval_runtime%s\": %.4f}\n", suffix, e->runtime);
    fflush(stdout);
    double b0, b1;
    if (before && lmt_eval_metric(before, "bleu", &b0) && lmt_eval_metric(e, "bleu", &b1))
        fprintf(stderr, "lmtune: BLEU %.2f before training, %.2f after (eval_loss %.4f -> %.4f)\n", b0, b1, before->loss, e->loss);
    else if (before)
        fprintf(stderr, "lmtune: eval_loss %.4f before training, %.4f after\n", before->loss, e->loss);
}

/* n with thousands separators (Python's {:,d}) */
static void thousands(char *buf, size_t size, int64_t n) {
    char d[32];
    int len = snprintf(d, sizeof d, "%lld", (long long)(n < 0 ? -n : n)), o = 0;
    if (n < 0 && o < (int)size - 1) buf[o++] = '-';
    for (int i = 0; i < len && o < (int)size - 1; i++) {
        if (i && (len - i) % 3 == 0 && o < (int)size - 1) buf[o++] = ',';
        if (o < (int)size - 1) buf[o++] = d[i];
    }
    buf[o] = 0;
}

/* peft's print_trainable_parameters() line */
static void print_trainable(void *user, int64_t trainable, int64_t all) {
    (void)user;
    if (lmt_dist_rank() != 0) return;   /* once, not once per rank under mpirun */
    char a[32], b[32];
    thousands(a, sizeof a, trainable);
    thousands(b, sizeof b, all);
    printf("trainable params: %s || all params: %s || trainable%%: %.4f\n", a, b, all ? 100.0 * (double)trainable / (double)all : 0.0);
    fflush(stdout);
}

/* SIGINT (Ctrl-C) during training: the handler only sets the flag; the
 * Trainer sees it after the step, saves a checkpoint and stops. A second
 * SIGINT (SA_RESETHAND) ends the process at once. */
static volatile sig_atomic_t stop_requested;
static void on_sigint(int sig) {
    (void)sig;
    stop_requested = 1;
}

static int train_run(lmt_cli_train *c, lmt_finetune_task task, bool perplexity, bool log_final_evaluation,
                     void (*on_evaluate)(void *user, const lmt_eval_output *e, bool final, const lmt_eval_output *before));

/* Under mpirun every rank runs this; a failure on one takes the job down
 * (MPI_Abort) after printing its error; rank 0 alone prints the logs. */
int lmt_cli_train_run(lmt_cli_train *c, lmt_finetune_task task, bool perplexity, bool log_final_evaluation,
                      void (*on_evaluate)(void *user, const lmt_eval_output *e, bool final, const lmt_eval_output *before)) {
    if (lmt_dist_init() != LMT_OK) return lmt_cli_fail(NULL);
    int rc = train_run(c, task, perplexity, log_final_evaluation, on_evaluate);
    if (rc) lmt_dist_abort(rc);
    lmt_dist_finalize();
    return rc;
}

static int train_run(lmt_cli_train *c, lmt_finetune_task task, bool perplexity, bool log_final_evaluation,
                     void (*on_evaluate)(void *user, const lmt_eval_output *e, bool final, const lmt_eval_output *before)) {
    /* Hub names become cache folders: after every argument is checked, before any file is read;
     * under mpirun rank 0 downloads first and the others then find the files in the cache */
    if (lmt_dist_rank() != 0 && lmt_dist_barrier("the download barrier") != LMT_OK) return lmt_cli_fail(NULL);
    bool same = c->tok_dir && c->model_dir && !strcmp(c->tok_dir, c->model_dir);
    const char *model_name = c->model_dir;   /* as given: the model card's base_model */
    if (c->model_dir && !(c->model_dir = lmt_cli_resolve(c->model_dir, true))) return 1;
    if (same) c->tok_dir = c->model_dir;
    else if (c->tok_dir && !(c->tok_dir = lmt_cli_resolve(c->tok_dir, false))) return 1;
    if (lmt_dist_rank() == 0 && lmt_dist_barrier("the download barrier") != LMT_OK) return lmt_cli_fail(NULL);
    /* push_to_hub without --hub_token: the Hub token given with --token */
    const char *token = lmt_cli_hub_options()->token;
    if (c->args.push_to_hub && !c->args.hub_token[0] && token && strlen(token) < sizeof c->args.hub_token)
        snprintf(c->args.hub_token, sizeof c->args.hub_token, "%s", token);
    lmt_finetune_job job = {
        .args = &c->args, .model_dir = c->model_dir, .model_name = model_name, .config_path = c->config, .tokenizer_dir = c->tok_dir,
        .train = c->train_file != NULL, .perplexity = perplexity, .log_final_evaluation = log_final_evaluation, .task = task,
        .cb = {.user = c, .on_log = print_log, .on_progress = print_progress, .on_eval_progress = print_eval_progress,
               .on_evaluate = on_evaluate, .on_saved = print_saved,
               .on_pushed = print_pushed, .on_trainable = print_trainable},
    };
    lmt_lora_config lora;
    lmt_lora_config_default(&lora);
    if (c->use_peft) {   /* TRL's ModelConfig defaults */
        lora.r = c->lora_r ? (int)c->lora_r : 16;
        lora.alpha = c->lora_alpha > 0 ? c->lora_alpha : 32;
        lora.dropout = c->lora_dropout >= 0 ? c->lora_dropout : 0.05;
        lora.task_type = lmt_strdup(!strcmp(c->task ? c->task : "clm", "clm") || !strcmp(c->task, "sft") ? "CAUSAL_LM" : !strcmp(c->task, "mlm") ? "FEATURE_EXTRACTION" : "SEQ_2_SEQ_LM");
        if ((c->lora_targets && lmt_lora_config_set_targets(&lora, c->lora_targets) != LMT_OK) || !lora.task_type) {
            lmt_lora_config_free(&lora);
            return lmt_cli_fail(NULL);
        }
        job.lora = &lora;
    }
    lmt_finetune_result res;
    struct sigaction sa, old_sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    stop_requested = 0;
    job.stop_flag = &stop_requested;
    bool handled = c->train_file && sigaction(SIGINT, &sa, &old_sa) == 0;
    lmt_status st = lmt_finetune_run(&job, &res);
    if (handled) sigaction(SIGINT, &old_sa, NULL);
    lmt_lora_config_free(&lora);
    if (st == LMT_OK) return 0;
    if (st == LMT_ERR_INTERRUPTED) {   /* a clean stop: the shell's status for SIGINT */
        fprintf(stderr, "\nlmtune: %s; resume with --resume_from_checkpoint latest\n", lmt_last_error());
        return 130;
    }
    lmt_cli_fail(NULL);
    return c->rc ? c->rc : 1;
}
