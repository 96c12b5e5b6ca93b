/* lmtune/trainer.h over src/train: lmt_args is lmt_training_args, lmt_tuner
 * an lmt_trainer bound to the task its model calls for. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lmtune/trainer.h"
#include "api/api.h"
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "train/dist.h"
#include "train/args.h"
#include "train/seq2seq_metrics.h"
#include "train/task_mlm.h"
#include "train/task_seq2seq.h"
#include "train/hub_push.h"
#include "train/trainer.h"

struct lmt_args {
    lmt_training_args a;
};

lmt_status lmt_args_create(lmt_args **out) {
    *out = calloc(1, sizeof **out);
    if (!*out) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_training_args_default(&(*out)->a);
    return LMT_OK;
}

void lmt_args_free(lmt_args *a) { free(a); }

lmt_status lmt_args_set_str(lmt_args *a, const char *name, const char *value) {
    return lmt_training_args_set(&a->a, name, value, "training arguments");
}

lmt_status lmt_args_set_int(lmt_args *a, const char *name, int64_t value) {
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)value);
    return lmt_args_set_str(a, name, buf);
}

lmt_status lmt_args_set_float(lmt_args *a, const char *name, double value) {
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", value);
    return lmt_args_set_str(a, name, buf);
}

lmt_status lmt_args_set_bool(lmt_args *a, const char *name, bool value) {
    return lmt_args_set_str(a, name, value ? "true" : "false");
}

lmt_status lmt_args_load_json(lmt_args *a, const char *path) { return lmt_training_args_load_json(&a->a, path); }
char *lmt_args_to_json(const lmt_args *a) { return lmt_training_args_to_json(&a->a); }

/* ---- the Trainer ------------------------------------------------------------ */

struct lmt_tuner {
    lmt_model *m;
    lmt_trainer t;
    bool t_ready;
    lmt_clm_task *clm;
    lmt_mlm_task *mlm;
    lmt_seq2seq_task *s2s;
    lmt_seq2seq_metrics metrics;
    bool metrics_ready;
    lmt_tuner_callbacks cb;
    char *tok_dir;
};

static double perplexity(double loss) { return loss < 700 ? exp(loss) : INFINITY; }

/* An evaluation log entry (it has eval_loss) as a result: the Trainer's
 * on_log is the one place every evaluation passes through. */
static bool eval_from_log(const char *json, lmt_eval_result *r) {
    lmt_json *j;
    if (!strstr(json, "\"eval_loss\"") || lmt_json_parse(json, strlen(json), "log", &j) != LMT_OK) return false;
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < j->len; i++) {
        const char *k = j->keys[i];
        double v = j->items[i].num;
        if (j->items[i].type != LMT_JSON_NUMBER) continue;
        if (!strcmp(k, "eval_loss")) r->loss = v;
        else if (!strcmp(k, "eval_runtime")) r->runtime = v;
        else if (!strcmp(k, "eval_samples_per_second")) r->samples_per_second = v;
        else if (!strcmp(k, "eval_steps_per_second")) r->steps_per_second = v;
        else if (!strcmp(k, "epoch")) r->epoch = v;
        else if (!strncmp(k, "eval_", 5) && r->n_metrics < LMT_EVAL_MAX_METRICS && strlen(k) < sizeof r->metric_names[0]) {
            strcpy(r->metric_names[r->n_metrics], k);
            r->metric_values[r->n_metrics++] = v;
        }
    }
    r->perplexity = perplexity(r->loss);
    lmt_json_free(j);
    return true;
}

static void tuner_on_log(void *user, const char *json) {
    lmt_tuner *t = user;
    if (t->cb.on_log) t->cb.on_log(t->cb.user, json);
    lmt_eval_result r;
    if (t->cb.on_evaluate && eval_from_log(json, &r)) t->cb.on_evaluate(t->cb.user, &r);
}

static void tuner_on_progress(void *user, int64_t step, int64_t max_steps, double epoch, double loss, double tps,
                              double left) {
    lmt_tuner *t = user;
    lmt_progress p = {step, max_steps, epoch, loss, tps, left};
    if (t->cb.on_progress) t->cb.on_progress(t->cb.user, &p);
}

static void tuner_on_eval_progress(void *user, const char *what, int64_t done, int64_t total, double left) {
    (void)left;
    lmt_tuner *t = user;
    if (t->cb.on_eval_progress) t->cb.on_eval_progress(t->cb.user, what, done, total);
}

/* Binds the task of m's architecture, sized for the collators' batches. */
static lmt_status bind_task(lmt_tuner *t, const lmt_training_args *a, const lmt_collator *train, const lmt_collator *eval,
                            lmt_task_model **task) {
    lmt_arch arch = lmt_model_arch(t->m);
    lmt_collate_kind want = arch == LMT_ARCH_GPT2 || lmt_arch_is_llama(arch) ? LMT_COLLATE_CLM : arch == LMT_ARCH_MARIAN ? LMT_COLLATE_SEQ2SEQ : LMT_COLLATE_MLM;
    static const char *const kind_names[] = {"lmt_collator_create_clm", "lmt_collator_create_mlm", "lmt_collator_create_seq2seq"};
    const lmt_collator *cs[2] = {train, eval};
    int max_T = 0, max_T_dec = 0;
    for (int i = 0; i < 2; i++) {
        if (!cs[i]) continue;
        if (cs[i]->kind != want)
            return lmt_fail(LMT_ERR_ARG, "the %s collator does not suit %s: make it with %s", i ? "evaluation" : "training",
                            lmt_arch_class_name(arch), kind_names[want]);
        if (cs[i]->max_T > max_T) max_T = cs[i]->max_T;
        if (cs[i]->max_T_dec > max_T_dec) max_T_dec = cs[i]->max_T_dec;
    }
    int64_t B = a->per_device_train_batch_size > a->per_device_eval_batch_size ? a->per_device_train_batch_size : a->per_device_eval_batch_size;
    if (B < 1 || B > 1 << 20) return lmt_fail(LMT_ERR_ARG, "per_device_train_batch_size / per_device_eval_batch_size %lld: out of range", (long long)B);
    if (max_T < 1) max_T = 1;
    if (max_T_dec < 1) max_T_dec = 1;
    t->m->gradient_checkpointing = a->gradient_checkpointing;
    switch (want) {
    case LMT_COLLATE_CLM:
        LMT_TRY(lmt_clm_task_create(t->m, (int)B, max_T, &t->clm));
        *task = &t->clm->base;
        return LMT_OK;
    case LMT_COLLATE_MLM:
        LMT_TRY(lmt_mlm_task_create(t->m, (int)B, max_T, &t->mlm));
        *task = &t->mlm->base;
        return LMT_OK;
    case LMT_COLLATE_SEQ2SEQ:
        LMT_TRY(lmt_seq2seq_task_create(t->m, (int)B, max_T, max_T_dec, &t->s2s));
        *task = &t->s2s->base;
        return LMT_OK;
    }
    return LMT_ERR_INTERNAL;
}

lmt_status lmt_tuner_create(lmt_model *m, const lmt_args *args, lmt_collator *train, lmt_collator *eval, lmt_tuner **out) {
    *out = NULL;
    if (!train) return lmt_fail(LMT_ERR_ARG, "the Trainer needs a training collator");
    lmt_tuner *t = calloc(1, sizeof *t);
    if (!t) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    t->m = m;
    lmt_training_args a = args->a;
    lmt_task_model *task = NULL;
    lmt_status s = lmt_training_args_validate(&a);
    if (s == LMT_OK) s = bind_task(t, &a, train, eval, &task);
    if (s == LMT_OK) s = lmt_trainer_init(&t->t, &a, task, &train->data, eval ? &eval->data : NULL);
    if (s != LMT_OK) { lmt_tuner_free(t); return s; }
    t->t_ready = true;
    t->t.on_log = tuner_on_log;
    t->t.on_progress = tuner_on_progress;
    t->t.on_eval_progress = tuner_on_eval_progress;
    t->t.log_user = t;
    *out = t;
    return LMT_OK;
}

void lmt_tuner_free(lmt_tuner *t) {
    if (!t) return;
    if (t->t_ready) lmt_trainer_free(&t->t);
    if (t->metrics_ready) lmt_seq2seq_metrics_free(&t->metrics);
    lmt_clm_task_free(t->clm);
    lmt_mlm_task_free(t->mlm);
    lmt_seq2seq_task_free(t->s2s);
    free(t->tok_dir);
    free(t);
}

void lmt_tuner_set_callbacks(lmt_tuner *t, const lmt_tuner_callbacks *cb) {
    if (cb) t->cb = *cb;
    else memset(&t->cb, 0, sizeof t->cb);
}

lmt_status lmt_tuner_set_tokenizer(lmt_tuner *t, const lmt_tokenizer *tok, const char *tok_dir) {
    char *dir = NULL;
    if (tok_dir && !(dir = lmt_strdup(tok_dir))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    free(t->tok_dir);
    t->tok_dir = dir;
    LMT_TRY(lmt_trainer_set_tokenizer(&t->t, dir, tok));
    if (t->metrics_ready) { lmt_seq2seq_metrics_free(&t->metrics); t->metrics_ready = false; }
    t->t.prediction_step = NULL;
    t->t.compute_metrics = NULL;
    if (!tok || !t->t.args.predict_with_generate || lmt_model_arch(t->m) != LMT_ARCH_MARIAN) return LMT_OK;
    /* Seq2SeqTrainer with predict_with_generate: generation + sacreBLEU */
    LMT_TRY(lmt_seq2seq_metrics_init(&t->metrics, t->m, tok, (int)t->t.args.generation_num_beams,
                                     (int)t->t.args.generation_max_length));
    t->metrics_ready = true;
    t->metrics.clean_up_tokenization_spaces = dir && lmt_tokenizer_dir_cleans_up(dir);
    t->t.prediction_step = lmt_seq2seq_prediction_step;
    t->t.compute_metrics = lmt_seq2seq_compute_metrics;
    t->t.metrics_ctx = &t->metrics;
    return LMT_OK;
}

/* push_to_hub: the repo, created (exist_ok) the first time it is needed */
static lmt_status hub_repo(lmt_tuner *t) {
    if (!t->t.args.push_to_hub || t->t.hub_repo[0]) return LMT_OK;
    return lmt_push_init(&t->t.args, t->t.hub_repo, sizeof t->t.hub_repo);
}

lmt_status lmt_tuner_train(lmt_tuner *t, lmt_train_result *out) {
    lmt_train_output o;
    LMT_TRY(hub_repo(t));   /* before training, so a bad token or repo fails first */
    LMT_TRY(lmt_trainer_train(&t->t, &o));
    if (out) {
        lmt_train_result r = {o.global_step, o.training_loss, o.train_runtime, o.train_samples_per_second,
                              o.train_steps_per_second, o.total_flos, o.epoch};
        *out = r;
    }
    return LMT_OK;
}

lmt_status lmt_tuner_evaluate(lmt_tuner *t, lmt_eval_result *out) {
    if (!t->t.eval) return lmt_fail(LMT_ERR_ARG, "evaluate: the Trainer has no evaluation collator");
    lmt_eval_output e;
    LMT_TRY(lmt_trainer_evaluate(&t->t, &e));
    /* trainer.evaluate() logs its metrics (and so reaches on_evaluate) */
    LMT_TRY(lmt_trainer_log_eval(&t->t, &e));
    if (out) {
        memset(out, 0, sizeof *out);
        out->loss = e.loss;
        out->perplexity = perplexity(e.loss);
        out->runtime = e.runtime;
        out->samples_per_second = e.samples_per_second;
        out->steps_per_second = e.steps_per_second;
        out->samples = e.samples;
        out->epoch = t->t.state.epoch;
        for (int i = 0; i < e.n_metrics && i < LMT_EVAL_MAX_METRICS; i++) {
            snprintf(out->metric_names[i], sizeof out->metric_names[i], "%s", e.metric_keys[i]);
            out->metric_values[i] = e.metric_values[i];
        }
        out->n_metrics = e.n_metrics < LMT_EVAL_MAX_METRICS ? e.n_metrics : LMT_EVAL_MAX_METRICS;
    }
    return LMT_OK;
}

static lmt_status save(lmt_tuner *t, const char *dir) {
    LMT_TRY(lmt_model_save(t->m, dir));
    LMT_TRY(lmt_trainer_save_tokenizer(&t->t, dir));
    char *p = lmt_path_join(dir, "trainer_state.json");
    if (!p) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_status s = lmt_trainer_state_save(&t->t.state, p);
    free(p);
    return s;
}

lmt_status lmt_tuner_save(lmt_tuner *t, const char *dir) {
    if (lmt_dist_rank() != 0) return LMT_OK;   /* under mpirun rank 0 alone writes (should_save) */
    if (!dir) dir = t->t.args.output_dir;
    LMT_TRY(save(t, dir));
    /* save_model with push_to_hub pushes too ("Model save") */
    if (!t->t.args.push_to_hub) return LMT_OK;
    LMT_TRY(hub_repo(t));
    return lmt_push_output_dir(&t->t.args, t->t.hub_repo, dir, "Model save");
}

lmt_status lmt_tuner_push_to_hub(lmt_tuner *t, const char *commit_message) {
    if (lmt_dist_rank() != 0) return LMT_OK;
    const char *dir = t->t.args.output_dir;
    LMT_TRY(save(t, dir));
    if (!t->t.hub_repo[0]) LMT_TRY(lmt_push_init(&t->t.args, t->t.hub_repo, sizeof t->t.hub_repo));
    return lmt_push_output_dir(&t->t.args, t->t.hub_repo, dir, commit_message);
}
