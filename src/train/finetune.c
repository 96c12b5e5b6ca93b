/* The run of run_clm.py / run_mlm.py / run_translation.py around the Trainer;
 * see finetune.h. */
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/util.h"
#include "models/config.h"
#include "models/lora.h"
#include "train/dist.h"
#include "train/finetune.h"
#include "train/hub_push.h"
#include "train/model_card.h"

static lmt_status write_json(const char *dir, const char *name, const lmt_json *o) {
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_json_write_py(&b, o, 4, true);
    lmt_sb_putc(&b, '\n');
    lmt_status s = b.oom ? lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", dir) : lmt_write_file_in(dir, name, b.data, b.len);
    lmt_sb_free(&b);
    return s;
}

static lmt_status set_all(lmt_json *o, const char *const *keys, const double *vals, size_t n) {
    for (size_t i = 0; i < n; i++) LMT_TRY(lmt_json_object_set(o, keys[i], lmt_json_new_num(vals[i])));
    return LMT_OK;
}

/* dir/name as save_metrics writes it ({key: value}, keys sorted, indent 4),
 * merged into dir/all_results.json as save_metrics(combined=True) does. */
static lmt_status save_metrics(const char *dir, const char *name, const char *const *keys, const double *vals, size_t n) {
    lmt_json *o = lmt_json_new(LMT_JSON_OBJECT);
    if (!o) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_status s = set_all(o, keys, vals, n);
    if (s == LMT_OK) s = write_json(dir, name, o);
    lmt_json_free(o);
    if (s != LMT_OK) return s;
    char *all_path = lmt_path_join(dir, "all_results.json");
    if (!all_path) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_json *all = NULL;
    if (lmt_file_exists(all_path) && lmt_json_parse_file(all_path, &all) == LMT_OK && all->type != LMT_JSON_OBJECT) {
        lmt_json_free(all);
        all = NULL;
    }
    free(all_path);
    if (!all && !(all = lmt_json_new(LMT_JSON_OBJECT))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    s = set_all(all, keys, vals, n);
    if (s == LMT_OK) s = write_json(dir, "all_results.json", all);
    lmt_json_free(all);
    return s;
}

static lmt_status save_train_results(const char *dir, const lmt_train_output *o, int64_t samples) {
    const char *k[] = {"epoch", "total_flos", "train_loss", "train_runtime", "train_samples", "train_samples_per_second",
                       "train_steps_per_second"};
    double v[] = {o->epoch, o->total_flos, o->training_loss, o->train_runtime, (double)samples, o->train_samples_per_second,
                  o->train_steps_per_second};
    return save_metrics(dir, "train_results.json", k, v, 7);
}

/* eval_results.json: eval_loss, compute_metrics' values, the timings, epoch,
 * eval_samples and (run_clm.py, run_mlm.py) perplexity */
static lmt_status save_eval_results(const char *dir, const lmt_eval_output *e, double epoch, int64_t samples, bool ppl) {
    const char *k[8 + LMT_MAX_EVAL_METRICS];
    double v[8 + LMT_MAX_EVAL_METRICS];
    size_t c = 0;
    k[c] = "epoch"; v[c++] = epoch;
    k[c] = "eval_loss"; v[c++] = e->loss;
    for (int i = 0; i < e->n_metrics; i++) { k[c] = e->metric_keys[i]; v[c++] = e->metric_values[i]; }
    k[c] = "eval_runtime"; v[c++] = e->runtime;
    k[c] = "eval_samples"; v[c++] = (double)samples;
    k[c] = "eval_samples_per_second"; v[c++] = e->samples_per_second;
    k[c] = "eval_steps_per_second"; v[c++] = e->steps_per_second;
    if (ppl) { k[c] = "perplexity"; lmt_eval_metric(e, "perplexity", &v[c++]); }
    return save_metrics(dir, "eval_results.json", k, v, c);
}

/* run_*.py refuse to train into a folder holding something else */
static lmt_status check_output_dir(const lmt_training_args *a) {
    if (!a->overwrite_output_dir && !a->resume_from_checkpoint[0] && lmt_dir_has_entries(a->output_dir))
        return lmt_fail(LMT_ERR_ARG, "%s: output directory already exists and is not empty; use --overwrite_output_dir "
                                     "or --resume_from_checkpoint", a->output_dir);
    /* nothing is created until the model and the data are checked */
    lmt_status s = lmt_dir_check_creatable(a->output_dir);
    return s == LMT_OK ? LMT_OK : lmt_fail_wrap(s, "output_dir");
}

/* run_*.py's create_model_card(finetuned_from=model_name_or_path, tasks=...),
 * last of all: the history it reads ends with trainer.evaluate()'s entry,
 * added here when the run did not log it (final: that evaluation, or NULL) */
static lmt_status write_model_card(const lmt_finetune_job *job, const lmt_trainer *t, const lmt_model *m,
                                   const lmt_eval_output *final) {
    lmt_arch a = m->cfg.arch;
    lmt_model_card c = {.finetuned_from = job->model_name ? job->model_name : job->model_dir, .optim = t->args.optim,
                        .task = a == LMT_ARCH_MARIAN ? "translation" : lmt_arch_can_generate(a) ? "text-generation" : "fill-mask"};
    if (!final) return lmt_model_card_write(job->args->output_dir, &c, &t->args, t->state.log_history);
    lmt_trainer_state st = t->state;
    if (!(st.log_history = lmt_json_clone(t->state.log_history))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    const char *k[LMT_EVAL_LOG_MAX];
    double v[LMT_EVAL_LOG_MAX];
    lmt_status s = lmt_trainer_state_log(&st, k, v, lmt_eval_log_entry(final, k, v));
    if (s == LMT_OK) s = lmt_model_card_write(job->args->output_dir, &c, &t->args, st.log_history);
    lmt_json_free(st.log_history);
    return s;
}

static lmt_status load_model(const lmt_finetune_job *job, lmt_model **m) {
    if (job->model_dir) return lmt_model_load(job->model_dir, m);
    if (!job->config_path) return lmt_fail(LMT_ERR_ARG, "fine-tuning needs a model folder or a config.json");
    lmt_config cfg;
    LMT_TRY(lmt_config_load(job->config_path, &cfg));
    return lmt_model_init(&cfg, (uint64_t)job->args->seed, m);
}

static lmt_status run_all_ranks(const lmt_finetune_job *job, lmt_trainer *t, lmt_model *m, const lmt_finetune_data *d,
                            lmt_finetune_result *out, const lmt_finetune_callbacks *cb, bool rank0);

/* The evaluations and saves around train(), in run_*.py's order. Under
 * mpirun (train/dist.h) every rank trains and evaluates; rank 0 alone writes
 * the folders and reports, and the others wait for it at the end. */
static lmt_status run(const lmt_finetune_job *job, lmt_trainer *t, lmt_model *m, const lmt_finetune_data *d,
                      lmt_finetune_result *out) {
    bool rank0 = lmt_dist_rank() == 0;
    lmt_finetune_callbacks quiet = {0};
    LMT_TRY(run_all_ranks(job, t, m, d, out, rank0 ? &job->cb : &quiet, rank0));
    return lmt_dist_barrier("the end of the run");
}

static lmt_status run_all_ranks(const lmt_finetune_job *job, lmt_trainer *t, lmt_model *m, const lmt_finetune_data *d,
                            lmt_finetune_result *out, const lmt_finetune_callbacks *cb, bool rank0) {
    if (job->train && rank0) LMT_TRY(lmt_dir_ensure_writable(job->args->output_dir));
    const char *dir = job->args->output_dir;
    bool have_eval = d->eval && d->eval->n > 0;
    out->train_samples = job->train && d->train ? d->train->n : 0;
    out->eval_samples = have_eval ? d->eval->n : 0;
    if (job->train && have_eval) {
        /* the notebooks' trainer.evaluate() before fine-tuning */
        lmt_status s = lmt_trainer_evaluate(t, &out->before);
        if (s != LMT_OK) return lmt_fail_wrap(s, "evaluation");
        out->evaluated_before = true;
        if (cb->on_evaluate) cb->on_evaluate(cb->user, &out->before, false, NULL);
    }
    if (job->train) {
        lmt_status s = lmt_trainer_train(t, &out->train);
        if (s != LMT_OK) return lmt_fail_wrap(s, "training");
        out->trained = true;
        /* trainer.save_model(): the model and its tokenizer; save_metrics("train") */
        if (rank0) LMT_TRY(lmt_task_save(d->model, dir));
    }
    if (job->train && rank0) {
        LMT_TRY(lmt_trainer_save_tokenizer(t, dir));
        LMT_TRY(save_train_results(dir, &out->train, out->train_samples));
    }
    if (have_eval) {
        lmt_status s = lmt_trainer_evaluate(t, &out->after);
        if (s != LMT_OK) return lmt_fail_wrap(s, "evaluation");
        out->evaluated = true;
        if (job->log_final_evaluation) LMT_TRY(lmt_trainer_log_eval(t, &out->after));
        if (cb->on_evaluate) cb->on_evaluate(cb->user, &out->after, true, out->evaluated_before ? &out->before : NULL);
    }
    if (have_eval && rank0) {
        LMT_TRY(lmt_mkdirs(dir));
        LMT_TRY(save_eval_results(dir, &out->after, t->state.epoch, out->eval_samples, job->perplexity));
        if (job->task.evaluated) LMT_TRY(job->task.evaluated(job->task.ctx, &out->after));
    }
    if (job->train && rank0) {
        char *sp = lmt_path_join(dir, "trainer_state.json");
        lmt_status s = sp ? lmt_trainer_state_save(&t->state, sp) : lmt_fail(LMT_ERR_NOMEM, "out of memory");
        free(sp);
        LMT_TRY(s);
    }
    if ((job->train || have_eval) && rank0) {
        LMT_TRY(lmt_mkdirs(dir));
        LMT_TRY(write_model_card(job, t, m, out->evaluated && !job->log_final_evaluation ? &out->after : NULL));
    }
    if (job->train) {
        if (cb->on_saved) cb->on_saved(cb->user, dir);
        /* run_*.py: trainer.push_to_hub() after training */
        if (t->hub_repo[0]) {
            LMT_TRY(lmt_push_output_dir(job->args, t->hub_repo, dir, "End of training"));
            if (cb->on_pushed) cb->on_pushed(cb->user, t->hub_repo);
        }
    }
    return LMT_OK;
}

static lmt_status lora_save(void *owner, const char *dir) { return lmt_lora_save(owner, dir); }
static lmt_status lora_load(void *owner, const char *dir) { return lmt_lora_read_weights(owner, dir); }

/* Seq2SeqTrainer's generation with adapters: the cached decoders read the
 * model's tensors, so each evaluation batch generates from the merged model
 * and the base is put back bit for bit after it. */
typedef struct lora_metrics {
    lmt_prediction_fn prediction_step;
    lmt_metrics_fn compute_metrics;
    void *ctx;
    lmt_lora *lora;
} lora_metrics;

static lmt_status lora_prediction_step(void *ctx, lmt_trainer *t, const lmt_batch *b, int64_t start) {
    lora_metrics *w = ctx;
    float *saved = NULL;
    LMT_TRY(lmt_lora_merge_in(w->lora, &saved));
    lmt_status s = w->prediction_step(w->ctx, t, b, start);
    lmt_lora_unmerge(w->lora, saved);
    return s;
}

static lmt_status lora_compute_metrics(void *ctx, lmt_trainer *t, lmt_eval_output *out) {
    lora_metrics *w = ctx;
    return w->compute_metrics(w->ctx, t, out);
}

lmt_status lmt_finetune_use_lora(lmt_task_model *tm, lmt_lora *l) {
    if (!tm->net) return lmt_fail(LMT_ERR_UNSUPPORTED, "--use_peft: this task does not support LoRA yet");
    LMT_TRY(lmt_lora_attach(l, tm->net, tm->net->max_rows));
    tm->grads = l->grads;
    tm->train_params = l->params;
    tm->train_layout = &l->layout;
    tm->save = lora_save;
    tm->load = lora_load;
    tm->owner = l;
    return LMT_OK;
}

/* get_peft_model(): adapters on the task model, the Trainer pointed at them */
static lmt_status setup_lora(const lmt_finetune_job *job, lmt_model *m, lmt_task_model *tm, lmt_lora **out) {
    if (!tm->net) return lmt_fail(LMT_ERR_UNSUPPORTED, "--use_peft: this task does not support LoRA yet");
    LMT_TRY(lmt_lora_create(m, job->lora, (uint64_t)job->args->seed, "--lora_target_modules", out));
    lmt_lora *l = *out;
    /* what peft records: the base model's folder */
    if (job->model_dir && !l->cfg.base_model && !(l->cfg.base_model = lmt_strdup(job->model_dir)))
        return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    LMT_TRY(lmt_finetune_use_lora(tm, l));
    if (job->cb.on_trainable) {
        int64_t tr, all;
        lmt_lora_counts(l, &tr, &all);
        job->cb.on_trainable(job->cb.user, tr, all);
    }
    return LMT_OK;
}

lmt_status lmt_finetune_run(const lmt_finetune_job *job, lmt_finetune_result *out) {
    memset(out, 0, sizeof *out);
    if (!job || !job->args || !job->tokenizer_dir || !job->task.prepare)
        return lmt_fail(LMT_ERR_ARG, "fine-tuning: the job needs training arguments, a tokenizer and a task");
    lmt_model *m = NULL;
    lmt_tokenizer *tok = NULL;
    lmt_finetune_data d = {0};
    lmt_trainer t;
    bool trainer_ready = false;
    /* under mpirun rank 0 alone checks (and probes) the output folder it alone writes */
    lmt_status s = job->train && lmt_dist_rank() == 0 ? check_output_dir(job->args) : LMT_OK;
    if (s == LMT_OK) s = load_model(job, &m);
    if (s == LMT_OK && job->task.check_model) s = job->task.check_model(job->task.ctx, m);
    if (s == LMT_OK) s = lmt_tokenizer_load(job->tokenizer_dir, &tok);
    if (s == LMT_OK && (size_t)m->cfg.vocab_size < lmt_tokenizer_vocab_size(tok))
        s = lmt_fail(LMT_ERR_ARG, "the tokenizer in %s has %zu tokens but the model's vocabulary holds %lld", job->tokenizer_dir,
                     lmt_tokenizer_vocab_size(tok), (long long)m->cfg.vocab_size);
    if (s == LMT_OK && job->lora) m->frozen = true;   // the task's net: no base gradient buffer, not even for a while
    if (s == LMT_OK) m->gradient_checkpointing = job->args->gradient_checkpointing;   // before the task sets the model up
    if (s == LMT_OK) s = job->task.prepare(job->task.ctx, m, tok, job->args, &d);
    if (s == LMT_OK && !d.model) s = lmt_fail(LMT_ERR_INTERNAL, "fine-tuning: the task prepared no model");
    lmt_lora *lora = NULL;
    lora_metrics lm;
    if (s == LMT_OK && job->lora) s = setup_lora(job, m, d.model, &lora);
    if (s == LMT_OK) {
        lmt_train_data *train = job->train ? d.train : NULL, *eval = d.eval && d.eval->n > 0 ? d.eval : NULL;
        s = lmt_trainer_init(&t, job->args, d.model, train, eval);
        trainer_ready = s == LMT_OK;
    }
    if (s == LMT_OK) {
        s = lmt_trainer_set_tokenizer(&t, job->tokenizer_dir, tok);
        t.on_log = job->cb.on_log;
        t.on_progress = job->cb.on_progress;
        t.on_eval_progress = job->cb.on_eval_progress;
        t.log_user = job->cb.user;
        t.stop_flag = job->stop_flag;
        /* Trainer.__init__'s init_hf_repo: the repo exists before training starts */
        if (s == LMT_OK && job->train && job->args->push_to_hub && lmt_dist_rank() == 0)
            s = lmt_push_init(job->args, t.hub_repo, sizeof t.hub_repo);   /* rank 0 alone pushes */
        if (s == LMT_OK && job->task.setup_trainer) s = job->task.setup_trainer(job->task.ctx, &t, m, tok);
        if (s == LMT_OK && lora && t.prediction_step) {
            lm = (lora_metrics){t.prediction_step, t.compute_metrics, t.metrics_ctx, lora};
            t.prediction_step = lora_prediction_step;
            t.compute_metrics = t.compute_metrics ? lora_compute_metrics : NULL;
            t.metrics_ctx = &lm;
        }
    }
    if (s == LMT_OK) s = run(job, &t, m, &d, out);
    if (trainer_ready) lmt_trainer_free(&t);
    if (job->task.release) job->task.release(job->task.ctx);
    lmt_lora_free(lora);
    lmt_tokenizer_free(tok);
    lmt_model_free(m);
    return s;
}
