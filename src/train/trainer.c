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
#include "train/dist.h"
#include "train/dist_shard.h"
#include "train/grad_buckets.h"
#include "train/hub_push.h"
#include "models/net.h"
#include "train/tensorboard.h"
#include "train/tokenizer_files.h"
#include "train/trainer_features.h"
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
    /* LabelSmoother: the model's loss head smooths (training and evaluation) */
    if (t->args.label_smoothing_factor > 0) {
        if (!model->net) return lmt_fail(LMT_ERR_UNSUPPORTED, "label_smoothing_factor: this task's model has no loss head to smooth");
        model->net->label_smoothing = (float)t->args.label_smoothing_factor;
    }
    /* torch's RandomSampler order (mt19937 randperm, seed + epoch), as the HF Trainer draws it */
    t->sampler = lmt_sampler_torch;
    LMT_TRY(lmt_trainer_state_init(&t->state));
    /* HF's floating_point_ops: 6 * tokens * num_parameters(exclude_embeddings=True) */
    const lmt_layout *l = &model->model->layout;
    for (size_t i = 0; i < l->n_params; i++) {
        const lmt_param_spec *p = &l->params[i];
        if (p->flags & LMT_PARAM_BUFFER) continue;
        /* nn.Embedding weights only (an embeddings LayerNorm still counts) */
        static const char *const emb[] = {"_embeddings.weight", "wte.weight", "wpe.weight", "shared.weight", "embed_positions.weight",
                                          "embed_tokens.weight"};
        bool is_emb = false;
        size_t nl = strlen(p->name);
        for (size_t k = 0; k < sizeof emb / sizeof emb[0]; k++) {
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
    if (t->opt_ready) lmt_optimizer_free(&t->opt);
    free(t->lengths);
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

/* Trainer.log's additions when include_num_input_tokens_seen is on:
 * num_input_tokens_seen after the epoch, and for the training loss logs
 * (start_time given) speed_metrics("train", start_time, num_tokens) - all
 * before "step". */
static void add_tokens_seen(lmt_trainer *t, lmt_json *e, bool speed) {
    if (!strcmp(t->args.include_num_input_tokens_seen, "no") || e->type != LMT_JSON_OBJECT || e->len == 0) return;
    /* "step" (an int, last) comes off and goes back after the additions */
    int64_t step = e->items[e->len - 1].i64;
    free(e->keys[e->len - 1]);
    e->len--;
    lmt_status s = lmt_json_object_set(e, "num_input_tokens_seen", lmt_json_new_int(t->state.num_input_tokens_seen));
    if (speed && s == LMT_OK) {
        double runtime = lmt_time_s() - t->train_start;
        double toks = (double)(t->state.num_input_tokens_seen - t->initial_tokens_seen);
        s = lmt_json_object_set(e, "train_runtime", lmt_json_new_num(lmt_round_metric(runtime, 4)));
        if (s == LMT_OK)
            s = lmt_json_object_set(e, "train_tokens_per_second",
                                    lmt_json_new_num(lmt_round_metric(toks / (runtime > 0 ? runtime : 1e-9), 3)));
    }
    if (lmt_json_object_set(e, "step", lmt_json_new_int(step)) != LMT_OK || s != LMT_OK)
        lmt_warn("out of memory adding num_input_tokens_seen to the log");
}

static lmt_status emit_log_entry(lmt_trainer *t, const char *const *keys, const double *vals, size_t n, bool speed) {
    lmt_trainer_state_log(&t->state, keys, vals, n);
    add_tokens_seen(t, &t->state.log_history->items[t->state.log_history->len - 1], speed);
    if (lmt_dist_rank() != 0) return LMT_OK;   // every rank keeps the history; rank 0 alone writes and reports it
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

static lmt_status emit_log(lmt_trainer *t, const char *const *keys, const double *vals, size_t n) {
    return emit_log_entry(t, keys, vals, n, false);
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
    const char *k[LMT_EVAL_LOG_MAX + LMT_MAX_LOG_EXTRAS];
    double v[LMT_EVAL_LOG_MAX + LMT_MAX_LOG_EXTRAS];
    size_t n = lmt_eval_log_entry(e, k, v);
    if (t->model->log_extras) n += (size_t)t->model->log_extras(t->model->self, true, k + n, v + n);   // SFTTrainer's eval_entropy ...
    return emit_log(t, k, v, n);
}

static lmt_status evaluate(lmt_trainer *t, lmt_eval_output *out);
static lmt_status example_lengths(lmt_train_data *d, int64_t **out);
static void torch_rng_iterator(lmt_trainer *t);

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
    if (t->model->log_extras) t->model->log_extras(t->model->self, true, NULL, NULL);   // this evaluation's alone
    double t0 = lmt_time_s();
    int64_t bs = t->args.per_device_eval_batch_size, n = t->eval->n, steps = 0;
    torch_rng_iterator(t);
    /* under mpirun each rank evaluates (and generates for) its shard; the
     * batch losses are gathered here (evaluation_loop), the generations by
     * compute_metrics */
    int W = lmt_dist_world_size(), rank = W > 1 ? lmt_dist_rank() : 0;
    int64_t nb = lmt_shard_num_batches(n, bs, W);
    int64_t *idx = malloc((size_t)bs * sizeof *idx), *order = NULL;
    double *sums = malloc((size_t)nb * 2 * (size_t)(W + 1) * sizeof *sums);   /* (loss sum, items) per batch, then everyone's */
    if (!idx || !sums) { free(idx); free(sums); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    lmt_status s = LMT_OK;
    /* group_by_length: the evaluation set in LengthGroupedSampler's order too
     * (a generator seeded with data_seed or seed each time); the batches'
     * mean losses then weigh as transformers'. Generation (prediction_step)
     * keeps the set's order, which its metrics pair with the references. */
    if (!strcmp(t->args.train_sampling_strategy, "group_by_length") && !t->prediction_step) {
        int64_t *len = NULL;
        s = example_lengths(t->eval, &len);
        order = s == LMT_OK ? malloc((size_t)n * sizeof *order) : NULL;
        if (s == LMT_OK && !order) s = lmt_fail(LMT_ERR_NOMEM, "out of memory");
        if (s == LMT_OK) {
            lmt_mt19937 g;
            lmt_mt_seed(&g, (uint64_t)lmt_sampler_seed(&t->args));
            lmt_length_grouped_indices(len, n, bs, &g, order);
        }
        free(len);
    }
    for (int64_t sb = 0; sb < nb && s == LMT_OK; sb++) {
        int cnt = lmt_shard_batch(order, n, bs, W, rank, sb, idx);
        int64_t start = sb * bs;
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
        /* the batch's loss (over num_items_in_batch), repeated batch-size times (dist_shard.h) */
        sums[2 * sb] = loss_sum;
        sums[2 * sb + 1] = (double)items;
        steps++;
        if (t->on_eval_progress && rank == 0) {
            double el = lmt_time_s() - t0;
            t->on_eval_progress(t->log_user, t->prediction_step ? "evaluation + generation" : "evaluation", sb + 1, nb,
                                el / (double)(sb + 1) * (double)(nb - sb - 1));
        }
    }
    free(idx);
    free(order);
    if (s == LMT_OK && W > 1) s = lmt_dist_allgather_f64(sums, (size_t)nb * 2, sums + 2 * nb, "the evaluation gather");
    if (W == 1) memcpy(sums + 2 * nb, sums, (size_t)nb * 2 * sizeof *sums);
    if (s == LMT_OK) out->loss = lmt_shard_eval_loss(sums + 2 * nb, nb, n, bs, W);
    free(sums);
    if (s != LMT_OK) return s;
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
    lmt_status s = lmt_optimizer_save(&t->opt, p);
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
    /* save_only_model: the model (and tokenizer) alone, no optimizer, scheduler or rng state */
    if (!t->args.save_only_model) {
        if ((s = save_optimizer(t, tmp)) != LMT_OK) goto done;
        char buf[512];
        snprintf(buf, sizeof buf, "{\"lr_scheduler_type\": \"%s\", \"base_lr\": %.17g, \"warmup_steps\": %lld, \"total_steps\": %lld, \"last_epoch\": %lld}\n",
                 lmt_scheduler_kind_name(t->sched.kind), t->sched.base_lr, (long long)t->sched.warmup_steps,
                 (long long)t->sched.total_steps, (long long)t->state.global_step);
        if ((s = lmt_write_file_in(tmp, "scheduler.json", buf, strlen(buf))) != LMT_OK) goto done;
        lmt_strbuf rb;
        lmt_sb_init(&rb);
        lmt_sb_printf(&rb, "{\"seed\": %lld, \"global_step\": %lld", (long long)t->args.seed, (long long)t->state.global_step);
        if (t->torch_rng_on) lmt_rng_state_append(&rb, &t->torch_rng, &t->torch_rng_epoch);
        lmt_sb_puts(&rb, "}\n");
        s = rb.oom ? lmt_fail(LMT_ERR_NOMEM, "out of memory") : lmt_write_file_in(tmp, "rng_state.json", rb.data, rb.len);
        lmt_sb_free(&rb);
        if (s != LMT_OK) goto done;
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
    /* a full disk names the temporary file: say which checkpoint failed */
    if (s != LMT_OK && final) lmt_fail_wrap(s, "cannot save %s", final);
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
    if (!p) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    /* transformers would go on with a fresh optimizer; a resumed run would then differ silently */
    if (!lmt_file_exists(p))
        s = lmt_fail(LMT_ERR_NOT_FOUND, "%s: no optimizer.safetensors: the checkpoint holds the model alone (saved with "
                     "save_only_model, or damaged), so training cannot resume from it; start a new run from it with "
                     "--model_name_or_path %s instead", ckpt, ckpt);
    else
        s = lmt_optimizer_load(&t->opt, p);
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
        const char *k[3 + LMT_MAX_LOG_EXTRAS] = {"loss", "grad_norm", "learning_rate"};
        double v[3 + LMT_MAX_LOG_EXTRAS] = {*tr_loss / (double)(t->state.global_step - *last_logged), grad_norm, lr};
        size_t n = 3;
        if (t->model->log_extras) n += (size_t)t->model->log_extras(t->model->self, false, k + 3, v + 3);
        *total_loss += *tr_loss;
        *tr_loss = 0;
        *last_logged = t->state.global_step;
        LMT_TRY(emit_log_entry(t, k, v, n, true));
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
        /* rank 0 alone writes; the others wait for it and take its best checkpoint */
        if (lmt_dist_rank() == 0) LMT_TRY(save_checkpoint(t));
        c->save = false;
        if (lmt_dist_rank() == 0) push_checkpoint(t);
        LMT_TRY(lmt_dist_bcast(t->state.best_model_checkpoint, sizeof t->state.best_model_checkpoint, 0, "the checkpoint barrier"));
    }
    return LMT_OK;
}

/* stop_flag was set: this step's checkpoint (unless it was just saved), then
 * LMT_ERR_INTERRUPTED naming it */
static lmt_status stop_requested(lmt_trainer *t, bool saved) {
    if (!saved && lmt_dist_rank() == 0) LMT_TRY(save_checkpoint(t));   // under mpirun rank 0 alone writes
    return lmt_fail(LMT_ERR_INTERRUPTED, "interrupted after step %lld of %lld: checkpoint saved in %s/checkpoint-%lld",
                    (long long)t->state.global_step, (long long)t->state.max_steps, t->args.output_dir,
                    (long long)t->state.global_step);
}

static int64_t steps_value(double v, int64_t max_steps) {
    /* values < 1 are ratios of the total steps, as TrainingArguments */
    if (v > 0 && v < 1) return (int64_t)ceil(v * (double)max_steps);
    return (int64_t)v;
}

static lmt_status train(lmt_trainer *t, lmt_train_output *out);

/* Each example's length as LengthGroupedSampler takes it (len(input_ids)):
 * the data's length callback, else the example collated alone, its
 * attention mask's ones (or its padded length without a mask). */
static lmt_status example_lengths(lmt_train_data *d, int64_t **out) {
    int64_t *len = malloc((size_t)(d->n ? d->n : 1) * sizeof *len);
    if (!len) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < d->n && d->length; i++) len[i] = d->length(d->ctx, i);
    for (int64_t i = 0; i < d->n && !d->length; i++) {
        lmt_batch b;
        lmt_status s = d->collate(d->ctx, &i, 1, &b);
        if (s != LMT_OK) { free(len); return s; }
        len[i] = b.T;
        if (b.attention_mask) {
            len[i] = 0;
            for (int k = 0; k < b.T; k++) len[i] += b.attention_mask[k] != 0;
        }
        lmt_batch_free(&b);
    }
    *out = len;
    return LMT_OK;
}

/* group_by_length's training sampler: megabatches drawn from the trainer's torch_rng. */
static void sampler_length_grouped(void *ctx, int64_t seed, int64_t epoch, int64_t n, int64_t *order) {
    (void)seed; (void)epoch;
    lmt_trainer *t = ctx;
    lmt_length_grouped_indices(t->lengths, n, t->args.per_device_train_batch_size * t->args.gradient_accumulation_steps,
                               &t->torch_rng, order);
}

/* A DataLoader iterator's base seed: torch.empty((), dtype=torch.int64).random_() (two 32-bit draws). */
static void torch_rng_iterator(lmt_trainer *t) {
    if (!t->torch_rng_on) return;
    lmt_mt_next(&t->torch_rng);
    lmt_mt_next(&t->torch_rng);
}

/* train_sampling_strategy over the default sampler (a caller's own stays):
 * random is torch's RandomSampler (seed: data_seed or seed), sequential
 * SequentialSampler, group_by_length LengthGroupedSampler. */
static lmt_status choose_sampler(lmt_trainer *t) {
    if (t->sampler != lmt_sampler_torch) return LMT_OK;
    const char *st = t->args.train_sampling_strategy;
    if (!strcmp(st, "sequential")) t->sampler = lmt_sampler_sequential;
    if (strcmp(st, "group_by_length")) return LMT_OK;
    free(t->lengths);
    t->lengths = NULL;
    LMT_TRY(example_lengths(t->train, &t->lengths));
    t->sampler = sampler_length_grouped;
    t->sampler_ctx = t;
    t->torch_rng_on = true;
    lmt_mt_seed(&t->torch_rng, (uint64_t)t->args.seed);   /* set_seed(args.seed) */
    return LMT_OK;
}

/* Mixed precision (bf16, or fp16 taken as bf16 on a CPU) holds for the run:
 * every matrix product rounds its inputs to bf16 and accumulates in fp32;
 * weights, gradients, optimizer state and all other kernels stay fp32. */
lmt_status lmt_trainer_train(lmt_trainer *t, lmt_train_output *out) {
    lmt_matmul_precision before = lmt_matmul_get_precision();
    lmt_matmul_set_precision(lmt_training_args_matmul_precision(&t->args));
    /* log_level for the run ("passive": leave the library's as it is) */
    int level = lmt_log_level_threshold(t->args.log_level), old_level = level >= 0 ? lmt_log_threshold(level) : -1;
    lmt_status s = train(t, out);
    if (old_level >= 0) lmt_log_threshold(old_level);
    lmt_matmul_set_precision(before);
    return s;
}

static lmt_status train(lmt_trainer *t, lmt_train_output *out) {
    memset(out, 0, sizeof *out);
    const lmt_training_args *a = &t->args;
    if (!t->train || t->train->n == 0) return lmt_fail(LMT_ERR_ARG, "the training dataset is empty");
    if (!t->model->grads) return lmt_fail(LMT_ERR_ARG, "the model was set up for evaluation only (no gradient buffers)");
    int64_t bs = a->per_device_train_batch_size, ga = a->gradient_accumulation_steps, n = t->train->n;
    /* data parallelism (mpirun): this rank's share of every global batch of bs * world (dist_shard.h) */
    const int W = lmt_dist_world_size(), rank = lmt_dist_rank();
    int64_t len_dl = lmt_shard_num_batches(n, bs, W);
    int64_t upe = len_dl / ga + (len_dl % ga > 0);
    if (upe < 1) upe = 1;
    int64_t max_steps = a->max_steps > 0 ? a->max_steps : (int64_t)ceil(a->num_train_epochs * (double)upe);
    int64_t n_epochs = a->max_steps > 0 ? max_steps / upe + (max_steps % upe > 0) : (int64_t)ceil(a->num_train_epochs);
    double num_train_samples = a->max_steps > 0 ? (double)(max_steps * bs * ga * W) : (double)n * a->num_train_epochs;
    lmt_sched_kind kind;
    LMT_TRY(lmt_scheduler_kind_parse(a->lr_scheduler_type, &kind));
    LMT_TRY(lmt_scheduler_init(&t->sched, kind, a->learning_rate, lmt_warmup_steps(a->warmup_steps, a->warmup_ratio, max_steps), max_steps));
    if (!t->opt_ready) {
        lmt_optim_settings os;
        LMT_TRY(lmt_optim_settings_from_args(a, &os));
        LMT_TRY(lmt_optimizer_init(&t->opt, &os, lmt_task_layout(t->model)));
        t->opt_ready = true;
    }
    LMT_TRY(choose_sampler(t));
    t->state.max_steps = max_steps;
    t->state.num_train_epochs = n_epochs;
    t->state.train_batch_size = bs;
    t->state.logging_steps = steps_value(a->logging_steps, max_steps);
    t->state.eval_steps = a->eval_steps > 0 ? steps_value(a->eval_steps, max_steps) : t->state.logging_steps;
    t->state.save_steps = steps_value(a->save_steps, max_steps);
    if (t->state.logging_steps <= 0) t->state.logging_steps = 500;

    int64_t epochs_trained = 0, steps_trained_in_epoch = 0;
    bool resumed_rng = false;
    lmt_mt19937 resumed_now;
    if (a->resume_from_checkpoint[0]) {
        char *ck = !strcmp(a->resume_from_checkpoint, "latest") || !strcmp(a->resume_from_checkpoint, "true")
                       ? lmt_trainer_last_checkpoint(a->output_dir) : lmt_strdup(a->resume_from_checkpoint);
        if (!ck) return lmt_fail(LMT_ERR_NOT_FOUND, "%s: no checkpoint-<step> folder to resume from", a->output_dir);
        lmt_status s = load_checkpoint(t, ck);
        if (s == LMT_OK && t->torch_rng_on) {   /* group_by_length: the generator as it was */
            char *rp = lmt_path_join(ck, "rng_state.json");
            s = rp ? lmt_rng_state_read(rp, &resumed_now, &t->torch_rng) : lmt_fail(LMT_ERR_NOMEM, "out of memory");
            free(rp);
            resumed_rng = true;
        }
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
    if (rank == 0) {   /* under mpirun rank 0 alone writes output_dir */
        LMT_TRY(lmt_mkdirs(a->output_dir));
        LMT_TRY(remove_stale_checkpoint_dirs(a->output_dir));
        LMT_TRY(tb_open(t, true));
    }

    /* under mpirun: the gradient all-reduce overlaps the last micro-batch's backward (grad_buckets.h) */
    lmt_grad_buckets buckets = {0};
    bool overlap = W > 1 && lmt_dist_overlap_on() && t->model->net;
    if (overlap) {
        double cap_mb = a->ddp_bucket_cap_mb > 0 ? (double)a->ddp_bucket_cap_mb : 25.0;
        const char *bytes = getenv("LMT_DIST_BUCKET_BYTES");   /* tests: buckets smaller than a MB */
        if (bytes && *bytes) cap_mb = atof(bytes) / (1024.0 * 1024.0);
        LMT_TRY(lmt_grad_buckets_plan(lmt_task_layout(t->model), cap_mb, &buckets));
    }
    int64_t *order = malloc((size_t)(n + bs) * sizeof *order), *bidx = order ? order + n : NULL;
    /* one accumulation group's batches, collated together (num_items_in_batch counts all of them) */
    lmt_batch *group = calloc((size_t)ga, sizeof *group);
    if (!order || !group) {
        free(order);
        free(group);
        lmt_grad_buckets_free(&buckets);
        return lmt_fail(LMT_ERR_NOMEM, "out of memory for %lld gradient accumulation batches", (long long)ga);
    }
    double start = lmt_time_s(), tr_loss = 0, total_loss = 0, grad_norm = 0, lr = 0, last_step_loss = 0;
    double tr_loss_rank = 0;   /* this rank's share of tr_loss since the last log (train_loss's remainder) */
    int64_t initial_step = t->state.global_step, last_logged = t->state.global_step, tokens_seen = 0;
    control c = {false, false, false, false};
    bool interrupted = false;
    lmt_status s = LMT_OK;
    t->train_start = start;
    t->initial_tokens_seen = t->state.num_input_tokens_seen;
    t->model->zero_grad(t->model->self);
    if (a->eval_on_start) {   /* before the first step; the best metric is not tracked for it */
        lmt_eval_output e;
        s = lmt_trainer_evaluate(t, &e);
        if (s == LMT_OK) s = lmt_trainer_log_eval(t, &e);
    }
    for (int64_t epoch = epochs_trained; epoch < n_epochs && s == LMT_OK && !c.stop; epoch++) {
        /* the epoch's DataLoader iterator (torch_rng: see trainer.h), then its sampler */
        t->torch_rng_epoch = t->torch_rng;
        torch_rng_iterator(t);
        t->sampler(t->sampler_ctx, lmt_sampler_seed(a), epoch, n, order);
        if (resumed_rng && epoch == epochs_trained) t->torch_rng = resumed_now;   /* the draws since, as the straight run made them */
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
            int64_t items = 0, got_batches = 0;
            int64_t toks_group = 0;
            for (int64_t k = 0; k < nb && s == LMT_OK; k++) {
                int cnt = lmt_shard_batch(order, n, bs, W, rank, step + 1 + k, bidx);
                if (cnt == 0) break;
                memset(&group[k], 0, sizeof group[k]);
                if ((s = t->train->collate(t->train->ctx, bidx, cnt, &group[k])) != LMT_OK) break;
                got_batches++;
                items += t->model->count_items(t->model->self, &group[k]);
                t->state.num_input_tokens_seen += lmt_batch_input_tokens(a, &group[k]);
                toks_group += t->model->count_tokens(t->model->self, &group[k]);
            }
            nb = got_batches;
            /* ---- data parallelism: num_items_in_batch and the tokens of the whole global batch
             * (average_tokens_across_devices), exchanged point to point so that a lost rank is named ---- */
            if (W > 1 && s == LMT_OK) {
                double mine[2] = {(double)items, (double)toks_group}, all[2];
                s = lmt_dist_checkin(mine, 2, all, t->state.global_step + 1, "the step's item count");
                items = (int64_t)all[0];
                toks_group = (int64_t)all[1];
            }
            t->state.total_flos += 6.0 * (double)toks_group * t->non_embedding_params;
            double loss_rank = 0;
            double group_loss = 0;
            for (int64_t k = 0; k < nb && s == LMT_OK; k++) {
                step++;
                lmt_batch *b = &group[k];
                double loss_sum;
                int64_t got;
                /* dropout masks depend only on (seed, step, micro-batch, rank): a resumed run draws the same ones */
                uint64_t seed = (uint64_t)a->seed * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)t->state.global_step << 20) ^ (uint64_t)k ^
                                ((uint64_t)rank << 44);
                if ((s = t->model->forward(t->model->self, b, true, seed, &loss_sum, &got)) != LMT_OK) break;
                double denom = items > 0 ? (double)items : 1.0;
                bool overlapped = overlap && k == nb - 1;
                if (overlapped) {
                    if ((s = lmt_dist_overlap_begin(t->model->grads, "the gradient all-reduce")) != LMT_OK) break;
                    lmt_grad_buckets_reset(&buckets);
                    t->model->net->ctx.layer_backward_done = lmt_grad_buckets_layer_done;
                    t->model->net->ctx.layer_backward_user = &buckets;
                }
                s = t->model->backward(t->model->self, (float)(1.0 / denom));
                if (overlapped) {
                    t->model->net->ctx.layer_backward_done = NULL;
                    /* the rest goes even after a failed backward: every rank pushes the same spans */
                    lmt_grad_buckets_finish(&buckets);
                    double busy = 0;
                    lmt_status ws;
                    LMT_PROFILE("dist/gradient all-reduce", 0, ws = lmt_dist_overlap_end(&busy));
                    if (lmt_profile_on) lmt_profile_add_background("dist/all-reduce thread", busy);
                    if (s == LMT_OK) s = ws;
                    if (s == LMT_OK && buckets.pushed != lmt_task_layout(t->model)->num_floats)
                        s = lmt_fail(LMT_ERR_INTERNAL, "the overlapped all-reduce covered %zu of %zu gradients", buckets.pushed,
                                     lmt_task_layout(t->model)->num_floats);
                }
                if (s != LMT_OK) break;
                double step_loss = loss_sum / denom;
                if (isfinite(step_loss)) loss_rank += step_loss;
                else loss_rank += (tr_loss_rank + loss_rank) / (double)(1 + t->state.global_step - last_logged);
                group_loss += step_loss;
                tokens_seen += t->model->count_tokens(t->model->self, b);
            }
            for (int64_t k = 0; k < got_batches; k++) lmt_batch_free(&group[k]);
            if (s == LMT_OK && nb == 0) break;
            if (s != LMT_OK) break;
            /* ---- data parallelism: the logged loss is the sum of the ranks' (HF: the mean of
             * num_processes * loss), then the gradients are summed (DDP's mean of num_processes * grad) ---- */
            tr_loss_rank += loss_rank;
            double step_sum[2] = {loss_rank, group_loss};
            if (W > 1) LMT_PROFILE("dist/check-in", 0, s = lmt_dist_checkin(step_sum, 2, step_sum, t->state.global_step + 1, "the gradient all-reduce check-in"));
            if (s == LMT_OK && W > 1 && !overlap)
                LMT_PROFILE("dist/gradient all-reduce", 0, s = lmt_dist_allreduce_f32(t->model->grads, lmt_task_layout(t->model)->num_floats, "the gradient all-reduce"));
            if (s != LMT_OK) break;
            tr_loss += step_sum[0];
            group_loss = step_sum[1];
            LMT_PROFILE("optimizer/grad norm", 0, grad_norm = lmt_grad_norm(t->model->grads, lmt_task_layout(t->model)));
            lr = lmt_scheduler_lr(&t->sched, t->state.global_step);
            float coef = lmt_clip_coef(grad_norm, a->max_grad_norm);   // clipping happens inside the AdamW pass
            LMT_PROFILE(lmt_optim_profile_name(t->opt.set.kind), 0, lmt_optimizer_step(&t->opt, lmt_task_params(t->model), t->model->grads, lr, coef));
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
            if (t->on_progress && rank == 0) {
                double el = lmt_time_s() - start;
                double done = (double)(gs - initial_step);
                t->on_progress(t->log_user, gs, max_steps, t->state.epoch, last_step_loss, tokens_seen / (el > 0 ? el : 1e-9),
                               done > 0 ? el / done * (double)(max_steps - gs) : 0);
            }
            bool saving = c.save;
            s = log_save_evaluate(t, &c, &tr_loss, &last_logged, &total_loss, grad_norm, lr);
            if (last_logged == gs) tr_loss_rank = 0;
            if (s == LMT_OK && t->stop_flag && *t->stop_flag) s = stop_requested(t, saving);
            if (s == LMT_OK && t->interrupt_at_step > 0 && gs >= t->interrupt_at_step) { c.stop = true; interrupted = true; }
        }
        if (s != LMT_OK || interrupted) break;
        /* DefaultFlowCallback.on_epoch_end */
        if (a->logging_strategy == LMT_STRATEGY_EPOCH) c.log = true;
        if (a->eval_strategy == LMT_STRATEGY_EPOCH) c.evaluate = true;
        if (a->save_strategy == LMT_STRATEGY_EPOCH) c.save = true;
        s = log_save_evaluate(t, &c, &tr_loss, &last_logged, &total_loss, grad_norm, lr);
        if (last_logged == t->state.global_step) tr_loss_rank = 0;
    }
    free(order);
    free(group);
    lmt_grad_buckets_free(&buckets);
    if (s != LMT_OK) return s;
    /* the unlogged remainder: HF adds this process's own tr_loss (num_processes times its share) */
    total_loss += W > 1 ? W * tr_loss_rank : tr_loss;
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
