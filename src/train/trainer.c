/* The training loop of transformers 5's Trainer (_inner_training_loop,
 * DefaultFlowCallback, _maybe_log_save_evaluate, _save_checkpoint,
 * _rotate_checkpoints) over an lmt_task_model. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/error.h"
#include "core/fs.h"
#include "core/profile.h"
#include "kernels/matmul.h"
#include "core/json.h"
#include "core/util.h"
#include "data/dataset.h"
#include "models/config.h"
#include "io/tensor_file.h"
#include "train/hub_push.h"
#include "train/tensorboard.h"
#include "train/tokenizer_files.h"
#include "train/trainer.h"

void lmt_sampler_sequential(void *ctx, int64_t seed, int64_t epoch, int64_t n, int64_t *order) {
    (void)ctx; (void)seed; (void)epoch;
    for (int64_t i = 0; i < n; i++) order[i] = i;
}

double lmt_round_metric(double x, int digits) {
    double f = pow(10.0, digits);
    return nearbyint(x * f) / f;
}

lmt_status lmt_trainer_init(lmt_trainer *t, const lmt_training_args *args, lmt_task_model *model, lmt_train_data *train,
                            lmt_train_data *eval) {
    memset(t, 0, sizeof *t);
    t->args = *args;
    LMT_TRY(lmt_training_args_validate(&t->args));
    if (t->args.eval_strategy != LMT_STRATEGY_NO && (!eval || eval->n == 0))
        return lmt_fail(LMT_ERR_ARG, "eval_strategy %s needs an evaluation dataset", t->args.eval_strategy == LMT_STRATEGY_EPOCH ? "epoch" : "steps");
    if (train && train->n == 0) return lmt_fail(LMT_ERR_ARG, "the training dataset is empty");
    t->model = model;
    t->train = train;
    t->eval = eval;
    /* torch's RandomSampler order (mt19937 randperm, seed + epoch), as the HF Trainer draws it */
    t->sampler = lmt_sampler_torch;
    LMT_TRY(lmt_trainer_state_init(&t->state));
    /* HF's floating_point_ops: 6 * tokens * num_parameters(exclude_embeddings=True) */
    const lmt_layout *l = &model->model->layout;
    for (size_t i = 0; i < l->n_params; i++) {
        const lmt_param_spec *p = &l->params[i];
        if (p->flags & LMT_PARAM_BUFFER) continue;
        /* nn.Embedding weights only (an embeddings LayerNorm still counts) */
        static const char *const emb[] = {"_embeddings.weight", "wte.weight", "wpe.weight", "shared.weight", "embed_positions.weight"};
        bool is_emb = false;
        size_t nl = strlen(p->name);
        for (size_t k = 0; k < 5; k++) {
            size_t el = strlen(emb[k]);
            if (nl >= el && !strcmp(p->name + nl - el, emb[k])) is_emb = true;
        }
        if (is_emb) continue;
        t->non_embedding_params += (double)p->numel;
    }
    return LMT_OK;
}

void lmt_trainer_free(lmt_trainer *t) {
    lmt_trainer_state_free(&t->state);
    free(t->tokenizer_config);
    lmt_tb_writer_close(t->tb);
    free(t->tb_logdir);
    if (t->opt_ready) lmt_adamw_free(&t->opt);
    memset(t, 0, sizeof *t);
}

/* report_to tensorboard: a writer opened at the start of training, or at a
 * log entry outside it (TensorBoardCallback.on_train_begin / on_log) */
static lmt_status tb_open(lmt_trainer *t, bool train_begin) {
    if (!lmt_tb_wanted(&t->args)) return LMT_OK;
    lmt_status s;
    if (!t->tb) {
        /* the callback keeps its logging_dir: a file opened after training goes beside the first */
        if (!t->tb_logdir && !(t->tb_logdir = lmt_tb_logging_dir(&t->args))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
        if ((s = lmt_tb_writer_open(t->tb_logdir, &t->tb)) != LMT_OK) return lmt_fail_wrap(s, "report_to tensorboard");
    }
    /* on_train_begin adds the texts also to a writer an earlier evaluation opened */
    if (!train_begin) return LMT_OK;
    char *args = lmt_training_args_to_json(&t->args);
    char *cfg = lmt_config_to_json(&t->model->model->cfg);
    s = args && cfg ? lmt_tb_add_text(t->tb, "args", args, 0) : lmt_fail(LMT_ERR_NOMEM, "out of memory");
    if (s == LMT_OK) s = lmt_tb_add_text(t->tb, "model_config", cfg, 0);
    free(args);
    free(cfg);
    return s;
}

static lmt_status emit_log(lmt_trainer *t, const char *const *keys, const double *vals, size_t n) {
    lmt_trainer_state_log(&t->state, keys, vals, n);
    const lmt_json *last = &t->state.log_history->items[t->state.log_history->len - 1];
    LMT_TRY(tb_open(t, false));
    if (t->tb) LMT_TRY(lmt_tb_log(t->tb, last, t->state.global_step));
    if (!t->on_log) return LMT_OK;
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_json_write_py(&b, last, 0, false);
    if (!b.oom) t->on_log(t->log_user, b.data);
    lmt_sb_free(&b);
    return LMT_OK;
}

lmt_status lmt_eval_add_metric(lmt_eval_output *out, const char *name, double value) {
    if (out->n_metrics >= LMT_MAX_EVAL_METRICS) return lmt_fail(LMT_ERR_ARG, "too many evaluation metrics (at most %d)", LMT_MAX_EVAL_METRICS);
    int n = snprintf(out->metric_keys[out->n_metrics], sizeof out->metric_keys[0], "%s%s", strncmp(name, "eval_", 5) ? "eval_" : "", name);
    if (n < 0 || (size_t)n >= sizeof out->metric_keys[0]) return lmt_fail(LMT_ERR_ARG, "metric name \"%s\" is too long", name);
    out->metric_values[out->n_metrics++] = value;
    return LMT_OK;
}

bool lmt_eval_metric(const lmt_eval_output *e, const char *name, double *value) {
    if (!strncmp(name, "eval_", 5)) name += 5;
    if (!strcmp(name, "loss")) { *value = e->loss; return true; }
    for (int i = 0; i < e->n_metrics; i++)
        if (!strcmp(e->metric_keys[i] + 5, name)) { *value = e->metric_values[i]; return true; }
    /* run_clm.py / run_mlm.py's perplexity = exp(eval_loss) */
    if (!strcmp(name, "perplexity")) { *value = e->loss < 700 ? exp(e->loss) : INFINITY; return true; }
    return false;
}

size_t lmt_eval_log_entry(const lmt_eval_output *e, const char **k, double *v) {
    size_t n = 0;
    k[n] = "eval_loss"; v[n++] = e->loss;
    for (int i = 0; i < e->n_metrics; i++) { k[n] = e->metric_keys[i]; v[n++] = e->metric_values[i]; }
    k[n] = "eval_runtime"; v[n++] = e->runtime;
    k[n] = "eval_samples_per_second"; v[n++] = e->samples_per_second;
    k[n] = "eval_steps_per_second"; v[n++] = e->steps_per_second;
    return n;
}

lmt_status lmt_trainer_log_eval(lmt_trainer *t, const lmt_eval_output *e) {
    const char *k[LMT_EVAL_LOG_MAX];
    double v[LMT_EVAL_LOG_MAX];
    return emit_log(t, k, v, lmt_eval_log_entry(e, k, v));
}

static lmt_status evaluate(lmt_trainer *t, lmt_eval_output *out);

/* The profiler times an evaluation as one section: its forward passes would
 * otherwise mix with the training step's. */
lmt_status lmt_trainer_evaluate(lmt_trainer *t, lmt_eval_output *out) {
    bool prof = lmt_profile_on;
    lmt_profile_on = false;
    double t0 = lmt_profile_now();
    lmt_matmul_precision before = lmt_matmul_get_precision();
    lmt_matmul_set_precision(lmt_training_args_matmul_precision(&t->args));   // autocast covers evaluation too
    lmt_status s = evaluate(t, out);
    lmt_matmul_set_precision(before);
    lmt_profile_on = prof;
    if (prof) lmt_profile_add("evaluation/evaluate (whole)", lmt_profile_now() - t0, 0);
    return s;
}

static lmt_status evaluate(lmt_trainer *t, lmt_eval_output *out) {
    memset(out, 0, sizeof *out);
    if (!t->eval || t->eval->n == 0) return lmt_fail(LMT_ERR_ARG, "no evaluation dataset");
    double t0 = lmt_time_s(), total = 0;
    int64_t bs = t->args.per_device_eval_batch_size, n = t->eval->n, steps = 0;
    int64_t *idx = malloc((size_t)bs * sizeof *idx);
    if (!idx) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_status s = LMT_OK;
    for (int64_t start = 0; start < n && s == LMT_OK; start += bs) {
        int cnt = (int)(n - start < bs ? n - start : bs);
        for (int k = 0; k < cnt; k++) idx[k] = start + k;
        lmt_batch b;
        if ((s = t->eval->collate(t->eval->ctx, idx, cnt, &b)) != LMT_OK) break;
        double loss_sum;
        int64_t items;
        s = t->model->forward(t->model->self, &b, false, 0, &loss_sum, &items);
        /* prediction_step divides by num_items_in_batch as training does */
        if (s == LMT_OK) items = t->model->count_items(t->model->self, &b);
        if (s == LMT_OK && t->prediction_step) s = t->prediction_step(t->metrics_ctx, t, &b, start);
        lmt_batch_free(&b);
        if (s != LMT_OK) break;
        /* the model's mean loss for the batch, repeated batch-size times */
        total += (items > 0 ? loss_sum / (double)items : NAN) * cnt;
        steps++;
    }
    free(idx);
    if (s != LMT_OK) return s;
    out->loss = total / (double)n;
    /* Seq2SeqTrainer: generation and its metrics belong to the evaluation (and its runtime) */
    if (t->compute_metrics) LMT_TRY(t->compute_metrics(t->metrics_ctx, t, out));
    double dt = lmt_time_s() - t0;
    out->samples = n;
    out->runtime = lmt_round_metric(dt, 4);
    out->samples_per_second = lmt_round_metric(n / (dt > 0 ? dt : 1e-9), 3);
    out->steps_per_second = lmt_round_metric(steps / (dt > 0 ? dt : 1e-9), 3);
    return LMT_OK;
}

/* ---- checkpoints ---- */
lmt_status lmt_trainer_set_tokenizer(lmt_trainer *t, const char *dir, const lmt_tokenizer *tok) {
    free(t->tokenizer_config);
    t->tokenizer_config = NULL;
    t->tokenizer_dir = dir;
    return dir && tok ? lmt_tokenizer_config_text(dir, tok, &t->tokenizer_config) : LMT_OK;
}

lmt_status lmt_trainer_save_tokenizer(const lmt_trainer *t, const char *dst) {
    return t->tokenizer_dir ? lmt_tokenizer_files_save(t->tokenizer_dir, t->tokenizer_config, dst) : LMT_OK;
}

/* checkpoint-<N> folders of dir, sorted by N. */
static size_t list_checkpoints(const char *dir, int64_t **steps) {
    *steps = NULL;
    DIR *d = opendir(dir);
    if (!d) return 0;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        if (strncmp(e->d_name, "checkpoint-", 11)) continue;
        long long v = strtoll(e->d_name + 11, &end, 10);
        if (*end || end == e->d_name + 11) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            int64_t *ns = realloc(*steps, cap * sizeof *ns);
            if (!ns) break;
            *steps = ns;
        }
        (*steps)[n++] = v;
    }
    closedir(d);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && (*steps)[j - 1] > (*steps)[j]; j--) {
            int64_t tmp = (*steps)[j];
            (*steps)[j] = (*steps)[j - 1];
            (*steps)[j - 1] = tmp;
        }
    return n;
}

char *lmt_trainer_last_checkpoint(const char *dir) {
    int64_t *steps;
    size_t n = list_checkpoints(dir, &steps);
    char *r = NULL;
    if (n) {
        char name[64];
        snprintf(name, sizeof name, "checkpoint-%lld", (long long)steps[n - 1]);
        r = lmt_path_join(dir, name);
    }
    free(steps);
    return r;
}

static lmt_status rotate_checkpoints(lmt_trainer *t) {
    if (t->args.save_total_limit <= 0) return LMT_OK;
    int64_t *steps;
    size_t n = list_checkpoints(t->args.output_dir, &steps);
    if (n == 0) return LMT_OK;
    /* the best checkpoint is moved next to the end so it survives */
    int64_t best = -1;
    if (t->state.best_model_checkpoint[0]) {
        const char *b = strrchr(t->state.best_model_checkpoint, '-');
        if (b) best = strtoll(b + 1, NULL, 10);
    }
    for (size_t i = 0; best >= 0 && i + 2 < n; i++)
        if (steps[i] == best) { steps[i] = steps[i + 1]; steps[i + 1] = best; }
    int64_t limit = t->args.save_total_limit;
    if (best >= 0 && limit == 1 && steps[n - 1] != best) limit = 2;
    lmt_status s = LMT_OK;
    for (size_t i = 0; (int64_t)(n - i) > limit && s == LMT_OK; i++) {
        char name[64];
        snprintf(name, sizeof name, "checkpoint-%lld", (long long)steps[i]);
        char *p = lmt_path_join(t->args.output_dir, name);
        s = p ? lmt_rm_rf(p) : lmt_fail(LMT_ERR_NOMEM, "out of memory");
        free(p);
    }
    free(steps);
    return s;
}

static lmt_status save_optimizer(lmt_trainer *t, const char *dir) {
    char *p = lmt_path_join(dir, "optimizer.safetensors");
    if (!p) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    int64_t step = t->opt.step;
    lmt_tensor_out outs[3] = {
        {"exp_avg", LMT_F32, 1, {(int64_t)t->opt.n}, t->opt.m},
        {"exp_avg_sq", LMT_F32, 1, {(int64_t)t->opt.n}, t->opt.v},
        {"step", LMT_I64, 1, {1}, &step}};
    static const char *const meta[] = {"format", "lmtune-adamw", NULL};
    lmt_status s = lmt_safetensors_write(p, outs, 3, meta);
    free(p);
    return s;
}

static lmt_status save_checkpoint(lmt_trainer *t) {
    char name[64], tmpname[96];
    snprintf(name, sizeof name, "checkpoint-%lld", (long long)t->state.global_step);
    snprintf(tmpname, sizeof tmpname, ".%s.tmp-%ld", name, (long)getpid());
    char *final = lmt_path_join(t->args.output_dir, name), *tmp = lmt_path_join(t->args.output_dir, tmpname);
    lmt_status s = LMT_OK;
    if (!final || !tmp) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory"); goto done; }
    if (lmt_is_dir(tmp)) lmt_rm_rf(tmp);
    /* the best checkpoint is known before the state is written (as HF) */
    if (t->state.has_best && t->state.best_global_step > 0) {
        char bname[64];
        snprintf(bname, sizeof bname, "checkpoint-%lld", (long long)t->state.best_global_step);
        char *bp = lmt_path_join(t->args.output_dir, bname);
        if (bp && (t->state.best_global_step == t->state.global_step || lmt_is_dir(bp)))
            snprintf(t->state.best_model_checkpoint, sizeof t->state.best_model_checkpoint, "%s", bp);
        free(bp);
    }
    if ((s = lmt_task_save(t->model, tmp)) != LMT_OK) goto done;
    if ((s = lmt_trainer_save_tokenizer(t, tmp)) != LMT_OK) goto done;
    if ((s = save_optimizer(t, tmp)) != LMT_OK) goto done;
    {
        char buf[512];
        snprintf(buf, sizeof buf, "{\"lr_scheduler_type\": \"%s\", \"base_lr\": %.17g, \"warmup_steps\": %lld, \"total_steps\": %lld, \"last_epoch\": %lld}\n",
                 lmt_scheduler_kind_name(t->sched.kind), t->sched.base_lr, (long long)t->sched.warmup_steps,
                 (long long)t->sched.total_steps, (long long)t->state.global_step);
        if ((s = lmt_write_file_in(tmp, "scheduler.json", buf, strlen(buf))) != LMT_OK) goto done;
        snprintf(buf, sizeof buf, "{\"seed\": %lld, \"global_step\": %lld}\n", (long long)t->args.seed, (long long)t->state.global_step);
        if ((s = lmt_write_file_in(tmp, "rng_state.json", buf, strlen(buf))) != LMT_OK) goto done;
    }
    {
        char *args = lmt_training_args_to_json(&t->args);
        if (!args) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory"); goto done; }
        s = lmt_write_file_in(tmp, "training_args.json", args, strlen(args));
        free(args);
        if (s != LMT_OK) goto done;
    }
    {
        char *p = lmt_path_join(tmp, "trainer_state.json");
        s = p ? lmt_trainer_state_save(&t->state, p) : lmt_fail(LMT_ERR_NOMEM, "out of memory");
        free(p);
        if (s != LMT_OK) goto done;
    }
    if (lmt_is_dir(final)) lmt_rm_rf(final);
    if (rename(tmp, final) != 0) { s = lmt_fail(LMT_ERR_IO, "%s: cannot rename the checkpoint into place", final); goto done; }
    s = rotate_checkpoints(t);
done:
    if (s != LMT_OK && tmp && lmt_is_dir(tmp)) lmt_rm_rf(tmp);
    free(final);
    free(tmp);
    return s;
}

/* .checkpoint-<N>.tmp-<pid> folders a killed run left (save_checkpoint
 * writes there, then renames): removed when training starts */
static lmt_status remove_stale_checkpoint_dirs(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return LMT_OK;
    struct dirent *e;
    lmt_status s = LMT_OK;
    while (s == LMT_OK && (e = readdir(d))) {
        const char *tmp = strstr(e->d_name, ".tmp-");
        if (strncmp(e->d_name, ".checkpoint-", 12) || !tmp) continue;
        char *p = lmt_path_join(dir, e->d_name);
        s = p ? lmt_rm_rf(p) : lmt_fail(LMT_ERR_NOMEM, "out of memory");
        free(p);
    }
    closedir(d);
    return s;
}

/* the trained tensors from a checkpoint (or the best model's folder) */
static lmt_status load_weights(lmt_trainer *t, const char *ckpt) {
    if (t->model->load) return t->model->load(t->model->owner, ckpt);
    lmt_model *m;
    LMT_TRY(lmt_model_load(ckpt, &m));
    lmt_status s = LMT_OK;
    if (m->layout.num_floats != t->model->model->layout.num_floats || m->cfg.arch != t->model->model->cfg.arch)
        s = lmt_fail(LMT_ERR_FORMAT, "%s: the checkpoint's model does not match the model being trained", ckpt);
    else
        memcpy(t->model->model->params, m->params, m->layout.num_floats * sizeof(float));
    lmt_model_free(m);
    return s;
}

float *lmt_task_params(const lmt_task_model *m) { return m->train_params ? m->train_params : m->model->params; }
const lmt_layout *lmt_task_layout(const lmt_task_model *m) { return m->train_layout ? m->train_layout : &m->model->layout; }
lmt_status lmt_task_save(const lmt_task_model *m, const char *dir) {
    return m->save ? m->save(m->owner, dir) : lmt_model_save(m->model, dir);
}

static lmt_status load_checkpoint(lmt_trainer *t, const char *ckpt) {
    lmt_status s;
    LMT_TRY(load_weights(t, ckpt));
    char *p = lmt_path_join(ckpt, "optimizer.safetensors");
    lmt_tensor_file *f = NULL;
    s = p ? lmt_safetensors_open(p, &f) : lmt_fail(LMT_ERR_NOMEM, "out of memory");
    if (s == LMT_OK) {
        const lmt_tensor_entry *m1 = lmt_tensor_file_find(f, "exp_avg"), *v1 = lmt_tensor_file_find(f, "exp_avg_sq"),
                               *st = lmt_tensor_file_find(f, "step");
        if (!m1 || !v1 || !st || m1->dtype != LMT_F32 || v1->dtype != LMT_F32 || st->dtype != LMT_I64 ||
            m1->nbytes != t->opt.n * 4 || v1->nbytes != t->opt.n * 4 || st->nbytes != 8)
            s = lmt_fail(LMT_ERR_FORMAT, "%s: optimizer state does not match the model", p);
        else {
            memcpy(t->opt.m, m1->data, m1->nbytes);
            memcpy(t->opt.v, v1->data, v1->nbytes);
            memcpy(&t->opt.step, st->data, 8);
        }
        lmt_tensor_file_free(f);
    }
    free(p);
    if (s != LMT_OK) return s;
    p = lmt_path_join(ckpt, "trainer_state.json");
    s = p ? lmt_trainer_state_load(&t->state, p) : lmt_fail(LMT_ERR_NOMEM, "out of memory");
    free(p);
    /* the schedule and the dropout / sampler draws are rebuilt from the
     * arguments and the step, so these files are records; a missing one is
     * said aloud (transformers restarts the scheduler without scheduler.pt,
     * and logs that reproducibility is not guaranteed without the RNG file) */
    static const char *const records[][2] = {
        {"scheduler.json", "the learning-rate schedule is rebuilt from the training arguments at step %lld"},
        {"rng_state.json", "the dropout and shuffling draws are rebuilt from the seed at step %lld; if the seed changed, "
                           "reproducibility is not guaranteed"}};
    for (int k = 0; s == LMT_OK && k < 2; k++) {
        char *r = lmt_path_join(ckpt, records[k][0]);
        if (r && !lmt_file_exists(r)) {
            char why[256];
            snprintf(why, sizeof why, records[k][1], (long long)t->state.global_step);
            lmt_warn("%s: no %s in the checkpoint: %s", ckpt, records[k][0], why);
        }
        free(r);
    }
    return s;
}

/* ---- the loop ---- */
/* hub_strategy every_save: the checkpoint's model goes to the Hub. A failed
 * push is a warning (the checkpoint is on disk; the final push follows). */
static void push_checkpoint(lmt_trainer *t) {
    if (!t->args.push_to_hub || !t->hub_repo[0] || strcmp(t->args.hub_strategy, "every_save")) return;
    char name[64];
    snprintf(name, sizeof name, "checkpoint-%lld", (long long)t->state.global_step);
    char *dir = lmt_path_join(t->args.output_dir, name);
    if (dir && lmt_push_checkpoint(&t->args, t->hub_repo, dir, t->state.global_step, t->state.epoch) != LMT_OK)
        lmt_warn("%s", lmt_last_error());
    free(dir);
}

typedef struct { bool log, evaluate, save, stop; } control;

static lmt_status log_save_evaluate(lmt_trainer *t, control *c, double *tr_loss, int64_t *last_logged, double *total_loss,
                                    double grad_norm, double lr) {
    if (c->log && t->state.global_step > *last_logged) {
        const char *k[] = {"loss", "grad_norm", "learning_rate"};
        double v[] = {*tr_loss / (double)(t->state.global_step - *last_logged), grad_norm, lr};
        *total_loss += *tr_loss;
        *tr_loss = 0;
        *last_logged = t->state.global_step;
        LMT_TRY(emit_log(t, k, v, 3));
    }
    c->log = false;
    if (c->evaluate) {
        lmt_eval_output e;
        LMT_TRY(lmt_trainer_evaluate(t, &e));
        LMT_TRY(lmt_trainer_log_eval(t, &e));
        if (t->args.metric_for_best_model[0]) {
            double val;
            if (!lmt_eval_metric(&e, t->args.metric_for_best_model, &val))
                return lmt_fail(LMT_ERR_ARG, "metric_for_best_model \"%s\" is not computed (loss, perplexity%s)",
                                t->args.metric_for_best_model, t->compute_metrics ? ", and the task's metrics" : "");
            bool better = !t->state.has_best || (t->args.greater_is_better ? val > t->state.best_metric : val < t->state.best_metric);
            if (better) {
                t->state.has_best = true;
                t->state.best_metric = val;
                t->state.best_global_step = t->state.global_step;
            }
        }
        c->evaluate = false;
    }
    if (c->save) {
        LMT_TRY(save_checkpoint(t));
        c->save = false;
        push_checkpoint(t);
    }
    return LMT_OK;
}

static int64_t steps_value(double v, int64_t max_steps) {
    /* values < 1 are ratios of the total steps, as TrainingArguments */
    if (v > 0 && v < 1) return (int64_t)ceil(v * (double)max_steps);
    return (int64_t)v;
}

static lmt_status train(lmt_trainer *t, lmt_train_output *out);

/* Mixed precision (bf16, or fp16 taken as bf16 on a CPU) holds for the run:
 * every matrix product rounds its inputs to bf16 and accumulates in fp32;
 * weights, gradients, optimizer state and all other kernels stay fp32. */
lmt_status lmt_trainer_train(lmt_trainer *t, lmt_train_output *out) {
    lmt_matmul_precision before = lmt_matmul_get_precision();
    lmt_matmul_set_precision(lmt_training_args_matmul_precision(&t->args));
    lmt_status s = train(t, out);
    lmt_matmul_set_precision(before);
    return s;
}

static lmt_status train(lmt_trainer *t, lmt_train_output *out) {
    memset(out, 0, sizeof *out);
    const lmt_training_args *a = &t->args;
    if (!t->train || t->train->n == 0) return lmt_fail(LMT_ERR_ARG, "the training dataset is empty");
    if (!t->model->grads) return lmt_fail(LMT_ERR_ARG, "the model was set up for evaluation only (no gradient buffers)");
    int64_t bs = a->per_device_train_batch_size, ga = a->gradient_accumulation_steps, n = t->train->n;
    int64_t len_dl = (n + bs - 1) / bs;
    int64_t upe = len_dl / ga + (len_dl % ga > 0);
    if (upe < 1) upe = 1;
    int64_t max_steps = a->max_steps > 0 ? a->max_steps : (int64_t)ceil(a->num_train_epochs * (double)upe);
    int64_t n_epochs = a->max_steps > 0 ? max_steps / upe + (max_steps % upe > 0) : (int64_t)ceil(a->num_train_epochs);
    double num_train_samples = a->max_steps > 0 ? (double)(max_steps * bs * ga) : (double)n * a->num_train_epochs;
    lmt_sched_kind kind;
    LMT_TRY(lmt_scheduler_kind_parse(a->lr_scheduler_type, &kind));
    LMT_TRY(lmt_scheduler_init(&t->sched, kind, a->learning_rate, lmt_warmup_steps(a->warmup_steps, a->warmup_ratio, max_steps), max_steps));
    if (!t->opt_ready) {
        LMT_TRY(lmt_adamw_init(&t->opt, lmt_task_layout(t->model), a->adam_beta1, a->adam_beta2, a->adam_epsilon, a->weight_decay));
        t->opt_ready = true;
    }
    t->state.max_steps = max_steps;
    t->state.num_train_epochs = n_epochs;
    t->state.train_batch_size = bs;
    t->state.logging_steps = steps_value(a->logging_steps, max_steps);
    t->state.eval_steps = a->eval_steps > 0 ? steps_value(a->eval_steps, max_steps) : t->state.logging_steps;
    t->state.save_steps = steps_value(a->save_steps, max_steps);
    if (t->state.logging_steps <= 0) t->state.logging_steps = 500;

    int64_t epochs_trained = 0, steps_trained_in_epoch = 0;
    if (a->resume_from_checkpoint[0]) {
        char *ck = !strcmp(a->resume_from_checkpoint, "latest") || !strcmp(a->resume_from_checkpoint, "true")
                       ? lmt_trainer_last_checkpoint(a->output_dir) : lmt_strdup(a->resume_from_checkpoint);
        if (!ck) return lmt_fail(LMT_ERR_NOT_FOUND, "%s: no checkpoint-<step> folder to resume from", a->output_dir);
        lmt_status s = load_checkpoint(t, ck);
        free(ck);
        LMT_TRY(s);
        t->state.max_steps = max_steps;
        epochs_trained = t->state.global_step / upe;
        steps_trained_in_epoch = (t->state.global_step % upe) * ga;
    } else if (!a->overwrite_output_dir && lmt_is_dir(a->output_dir)) {
        char *ck = lmt_trainer_last_checkpoint(a->output_dir);
        if (ck) {
            lmt_status s = lmt_fail(LMT_ERR_ARG, "%s: holds checkpoints; resume with resume_from_checkpoint or set overwrite_output_dir", a->output_dir);
            free(ck);
            return s;
        }
    }
    LMT_TRY(lmt_mkdirs(a->output_dir));
    LMT_TRY(remove_stale_checkpoint_dirs(a->output_dir));
    LMT_TRY(tb_open(t, true));

    int64_t *order = malloc((size_t)n * sizeof *order);
    if (!order) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    double start = lmt_time_s(), tr_loss = 0, total_loss = 0, grad_norm = 0, lr = 0, last_step_loss = 0;
    int64_t initial_step = t->state.global_step, last_logged = t->state.global_step, tokens_seen = 0;
    control c = {false, false, false, false};
    bool interrupted = false;
    lmt_status s = LMT_OK;
    t->model->zero_grad(t->model->self);
    for (int64_t epoch = epochs_trained; epoch < n_epochs && s == LMT_OK && !c.stop; epoch++) {
        t->sampler(t->sampler_ctx, a->seed, epoch, n, order);
        int64_t remainder = len_dl % ga ? len_dl % ga : ga;
        int64_t step = -1;
        int64_t first_update = 0;
        if (epoch == epochs_trained && steps_trained_in_epoch > 0) {
            step = steps_trained_in_epoch - 1;
            first_update = steps_trained_in_epoch / ga;
        }
        for (int64_t update = first_update; update < upe && s == LMT_OK && !c.stop; update++) {
            int64_t nb = update != upe - 1 ? ga : remainder;
            /* collate the accumulation group once; num_items_in_batch counts all of it */
            lmt_batch group[64];
            if (nb > 64) { s = lmt_fail(LMT_ERR_ARG, "gradient_accumulation_steps above 64 is not supported"); break; }
            int64_t items = 0, got_batches = 0;
            for (int64_t k = 0; k < nb && s == LMT_OK; k++) {
                int64_t b0 = (step + 1 + k) * bs;
                if (b0 >= n) break;
                int cnt = (int)(n - b0 < bs ? n - b0 : bs);
                memset(&group[k], 0, sizeof group[k]);
                if ((s = t->train->collate(t->train->ctx, order + b0, cnt, &group[k])) != LMT_OK) break;
                got_batches++;
                items += t->model->count_items(t->model->self, &group[k]);
            }
            nb = got_batches;
            double group_loss = 0;
            for (int64_t k = 0; k < nb && s == LMT_OK; k++) {
                step++;
                lmt_batch *b = &group[k];
                double loss_sum;
                int64_t got;
                /* dropout masks depend only on (seed, step, micro-batch): a resumed run draws the same ones */
                uint64_t seed = (uint64_t)a->seed * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)t->state.global_step << 20) ^ (uint64_t)k;
                if ((s = t->model->forward(t->model->self, b, true, seed, &loss_sum, &got)) != LMT_OK) break;
                double denom = items > 0 ? (double)items : 1.0;
                if ((s = t->model->backward(t->model->self, (float)(1.0 / denom))) != LMT_OK) break;
                double step_loss = loss_sum / denom;
                if (isfinite(step_loss)) tr_loss += step_loss;
                else tr_loss += tr_loss / (double)(1 + t->state.global_step - last_logged);
                group_loss += step_loss;
                int64_t toks = t->model->count_tokens(t->model->self, b);
                tokens_seen += toks;
                t->state.total_flos += 6.0 * (double)toks * t->non_embedding_params;
            }
            for (int64_t k = 0; k < got_batches; k++) lmt_batch_free(&group[k]);
            if (s == LMT_OK && nb == 0) break;
            if (s != LMT_OK) break;
            LMT_PROFILE("optimizer/grad norm", 0, grad_norm = lmt_grad_norm(t->model->grads, lmt_task_layout(t->model)));
            lr = lmt_scheduler_lr(&t->sched, t->state.global_step);
            float coef = lmt_clip_coef(grad_norm, a->max_grad_norm);   // clipping happens inside the AdamW pass
            LMT_PROFILE("optimizer/adamw", 0, lmt_adamw_step_scaled(&t->opt, lmt_task_params(t->model), t->model->grads, lr, coef));
            LMT_PROFILE("optimizer/zero grad", 0, t->model->zero_grad(t->model->self));
            lmt_profile_count_step();
            t->state.global_step++;
            t->state.epoch = (double)epoch + (double)(step + 1) / (double)len_dl;
            last_step_loss = group_loss;
            /* DefaultFlowCallback.on_step_end */
            int64_t gs = t->state.global_step;
            if (gs == 1 && a->logging_first_step) c.log = true;
            if (a->logging_strategy == LMT_STRATEGY_STEPS && gs % t->state.logging_steps == 0) c.log = true;
            if (a->eval_strategy == LMT_STRATEGY_STEPS && gs % t->state.eval_steps == 0) c.evaluate = true;
            if (a->save_strategy == LMT_STRATEGY_STEPS && t->state.save_steps > 0 && gs % t->state.save_steps == 0) c.save = true;
            if (gs >= max_steps) {
                c.stop = true;
                t->state.should_training_stop = true;
                if (a->eval_strategy == LMT_STRATEGY_STEPS && gs % t->state.eval_steps != 0) c.evaluate = true;
                if (a->save_strategy == LMT_STRATEGY_STEPS) c.save = true;
            }
            if (t->on_progress) {
                double el = lmt_time_s() - start;
                double done = (double)(gs - initial_step);
                t->on_progress(t->log_user, gs, max_steps, t->state.epoch, last_step_loss, tokens_seen / (el > 0 ? el : 1e-9),
                               done > 0 ? el / done * (double)(max_steps - gs) : 0);
            }
            s = log_save_evaluate(t, &c, &tr_loss, &last_logged, &total_loss, grad_norm, lr);
            if (s == LMT_OK && t->interrupt_at_step > 0 && gs >= t->interrupt_at_step) { c.stop = true; interrupted = true; }
        }
        if (s != LMT_OK || interrupted) break;
        /* DefaultFlowCallback.on_epoch_end */
        if (a->logging_strategy == LMT_STRATEGY_EPOCH) c.log = true;
        if (a->eval_strategy == LMT_STRATEGY_EPOCH) c.evaluate = true;
        if (a->save_strategy == LMT_STRATEGY_EPOCH) c.save = true;
        s = log_save_evaluate(t, &c, &tr_loss, &last_logged, &total_loss, grad_norm, lr);
    }
    free(order);
    if (s != LMT_OK) return s;
    total_loss += tr_loss;
    int64_t trained = t->state.global_step - initial_step;
    double runtime = lmt_time_s() - start;
    double samples = num_train_samples * (double)trained / (double)(max_steps > 0 ? max_steps : 1);
    out->global_step = t->state.global_step;
    out->training_loss = total_loss / (trained > 0 ? (double)trained : 0.001);
    out->train_runtime = lmt_round_metric(runtime, 4);
    out->train_samples_per_second = lmt_round_metric(samples / (runtime > 0 ? runtime : 1e-9), 3);
    out->train_steps_per_second = lmt_round_metric((double)trained / (runtime > 0 ? runtime : 1e-9), 3);
    out->total_flos = t->state.total_flos;
    out->epoch = t->state.epoch;
    const char *k[] = {"train_runtime", "train_samples_per_second", "train_steps_per_second", "total_flos", "train_loss"};
    double v[] = {out->train_runtime, out->train_samples_per_second, out->train_steps_per_second, out->total_flos, out->training_loss};
    LMT_TRY(emit_log(t, k, v, 5));
    /* on_train_end: the callback closes its writer (a later log opens another file) */
    lmt_tb_writer_close(t->tb);
    t->tb = NULL;
    if (a->load_best_model_at_end && t->state.best_model_checkpoint[0]) {
        LMT_TRY(load_weights(t, t->state.best_model_checkpoint));
    }
    return LMT_OK;
}
