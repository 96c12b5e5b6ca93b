#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "train/trainer_state.h"

lmt_status lmt_trainer_state_init(lmt_trainer_state *s) {
    memset(s, 0, sizeof *s);
    s->logging_steps = s->eval_steps = s->save_steps = 500;
    s->log_history = lmt_json_new(LMT_JSON_ARRAY);
    if (!s->log_history) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    return LMT_OK;
}

void lmt_trainer_state_free(lmt_trainer_state *s) {
    lmt_json_free(s->log_history);
    memset(s, 0, sizeof *s);
}

/* Python logs floats; integral metrics such as "step" are ints. */
static lmt_json *metric_value(const char *key, double v) {
    if (!strcmp(key, "step") || !strcmp(key, "global_step")) return lmt_json_new_int((int64_t)v);
    return lmt_json_new_num(v);
}

lmt_status lmt_trainer_state_log(lmt_trainer_state *s, const char *const *keys, const double *values, size_t n) {
    lmt_json *o = lmt_json_new(LMT_JSON_OBJECT);
    if (!o) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_status st = LMT_OK;
    for (size_t i = 0; i < n && st == LMT_OK; i++) st = lmt_json_object_set(o, keys[i], metric_value(keys[i], values[i]));
    /* Trainer.log rounds the epoch it adds */
    if (st == LMT_OK) st = lmt_json_object_set(o, "epoch", lmt_json_new_num(s->epoch));
    if (st == LMT_OK) st = lmt_json_object_set(o, "step", lmt_json_new_int(s->global_step));
    if (st != LMT_OK) { lmt_json_free(o); return st; }
    return lmt_json_array_push(s->log_history, o);
}

static lmt_status set_num_or_null(lmt_json *o, const char *key, bool has, double v) {
    return lmt_json_object_set(o, key, has ? lmt_json_new_num(v) : lmt_json_new(LMT_JSON_NULL));
}

char *lmt_trainer_state_to_json(const lmt_trainer_state *s) {
    lmt_json *o = lmt_json_new(LMT_JSON_OBJECT);
    if (!o) return NULL;
    lmt_status st = LMT_OK;
#define SET(k, v) if (st == LMT_OK) st = lmt_json_object_set(o, k, v)
    SET("best_global_step", s->has_best ? lmt_json_new_int(s->best_global_step) : lmt_json_new(LMT_JSON_NULL));
    if (st == LMT_OK) st = set_num_or_null(o, "best_metric", s->has_best, s->best_metric);
    SET("best_model_checkpoint", s->best_model_checkpoint[0] ? lmt_json_new_string(s->best_model_checkpoint) : lmt_json_new(LMT_JSON_NULL));
    SET("epoch", lmt_json_new_num(s->epoch));
    SET("eval_steps", lmt_json_new_int(s->eval_steps));
    SET("global_step", lmt_json_new_int(s->global_step));
    SET("is_hyper_param_search", lmt_json_new_bool(false));
    SET("is_local_process_zero", lmt_json_new_bool(true));
    SET("is_world_process_zero", lmt_json_new_bool(true));
    SET("log_history", lmt_json_clone(s->log_history));
    SET("logging_steps", lmt_json_new_int(s->logging_steps));
    SET("max_steps", lmt_json_new_int(s->max_steps));
    SET("num_input_tokens_seen", lmt_json_new_int(s->num_input_tokens_seen));
    SET("num_train_epochs", lmt_json_new_int(s->num_train_epochs));
    SET("save_steps", lmt_json_new_int(s->save_steps));
    {
        lmt_json *args = lmt_json_new(LMT_JSON_OBJECT), *ctl = lmt_json_new(LMT_JSON_OBJECT), *cbs = lmt_json_new(LMT_JSON_OBJECT);
        if (!args || !ctl || !cbs) { lmt_json_free(args); lmt_json_free(ctl); lmt_json_free(cbs); st = LMT_ERR_NOMEM; }
        else {
            const char *flags[] = {"should_epoch_stop", "should_evaluate", "should_log", "should_save", "should_training_stop"};
            for (int i = 0; i < 5 && st == LMT_OK; i++) st = lmt_json_object_set(args, flags[i], lmt_json_new_bool(i == 3 || (i == 4 && s->should_training_stop)));
            if (st == LMT_OK) st = lmt_json_object_set(ctl, "args", args); else lmt_json_free(args);
            if (st == LMT_OK) st = lmt_json_object_set(ctl, "attributes", lmt_json_new(LMT_JSON_OBJECT));
            if (st == LMT_OK) st = lmt_json_object_set(cbs, "TrainerControl", ctl); else lmt_json_free(ctl);
            if (st == LMT_OK) st = lmt_json_object_set(o, "stateful_callbacks", cbs); else lmt_json_free(cbs);
        }
    }
    SET("total_flos", lmt_json_new_num(s->total_flos));
    SET("train_batch_size", lmt_json_new_int(s->train_batch_size));
    SET("trial_name", lmt_json_new(LMT_JSON_NULL));
    SET("trial_params", lmt_json_new(LMT_JSON_NULL));
#undef SET
    char *text = NULL;
    if (st == LMT_OK) {
        lmt_strbuf b;
        lmt_sb_init(&b);
        lmt_json_write_py(&b, o, 2, true);
        lmt_sb_putc(&b, '\n');
        text = lmt_sb_take(&b);
    }
    lmt_json_free(o);
    return text;
}

lmt_status lmt_trainer_state_save(const lmt_trainer_state *s, const char *path) {
    char *text = lmt_trainer_state_to_json(s);
    if (!text) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path);
    lmt_status st = lmt_write_file_atomic(path, text, strlen(text));
    free(text);
    return st;
}

lmt_status lmt_trainer_state_load(lmt_trainer_state *s, const char *path) {
    lmt_json *j;
    LMT_TRY(lmt_json_parse_file(path, &j));
    lmt_status st = LMT_OK;
    lmt_trainer_state_free(s);
    if ((st = lmt_trainer_state_init(s)) != LMT_OK) { lmt_json_free(j); return st; }
    if (j->type != LMT_JSON_OBJECT) st = lmt_fail(LMT_ERR_FORMAT, "%s: must hold a JSON object", path);
    static const char *const known[] = {"best_global_step", "best_metric", "best_model_checkpoint", "epoch", "eval_steps",
        "global_step", "is_hyper_param_search", "is_local_process_zero", "is_world_process_zero", "log_history",
        "logging_steps", "max_steps", "num_input_tokens_seen", "num_train_epochs", "save_steps", "stateful_callbacks",
        "total_flos", "train_batch_size", "trial_name", "trial_params"};
    /* TrainerState(**json) rejects unknown fields; so do we */
    for (size_t i = 0; st == LMT_OK && i < j->len; i++) {
        bool ok = false;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) ok = ok || !strcmp(j->keys[i], known[k]);
        if (!ok) st = lmt_fail(LMT_ERR_FORMAT, "%s: unknown field \"%s\" in trainer state", path, j->keys[i]);
    }
#define GI(k, dst, def) if (st == LMT_OK) st = lmt_json_get_int(j, k, def, path, &(dst))
#define GN(k, dst, def) if (st == LMT_OK) st = lmt_json_get_num(j, k, def, path, &(dst))
    GN("epoch", s->epoch, 0);
    GI("global_step", s->global_step, 0);
    GI("max_steps", s->max_steps, 0);
    GI("logging_steps", s->logging_steps, 500);
    GI("eval_steps", s->eval_steps, 500);
    GI("save_steps", s->save_steps, 500);
    GI("train_batch_size", s->train_batch_size, 0);
    GI("num_train_epochs", s->num_train_epochs, 0);
    GI("num_input_tokens_seen", s->num_input_tokens_seen, 0);
    GN("total_flos", s->total_flos, 0);
#undef GI
#undef GN
    /* the Trainer divides by the *_steps and counts from global_step: values
     * transformers' own loop would crash on (ZeroDivisionError) or misread
     * are refused here, naming the field (found by fuzz/fuzz_resume.c) */
    const struct { const char *key; int64_t v, min; } ranges[] = {
        {"global_step", s->global_step, 0}, {"max_steps", s->max_steps, 0}, {"logging_steps", s->logging_steps, 1},
        {"eval_steps", s->eval_steps, 1}, {"save_steps", s->save_steps, 0}, {"train_batch_size", s->train_batch_size, 0},
        {"num_train_epochs", s->num_train_epochs, 0}, {"num_input_tokens_seen", s->num_input_tokens_seen, 0}};
    for (size_t k = 0; st == LMT_OK && k < sizeof ranges / sizeof ranges[0]; k++)
        if (ranges[k].v < ranges[k].min)
            st = lmt_fail(LMT_ERR_FORMAT, "%s: %s is %lld (must be %s)", path, ranges[k].key, (long long)ranges[k].v,
                          ranges[k].min ? "positive" : "zero or more");
    if (st == LMT_OK && !(s->epoch >= 0 && isfinite(s->epoch)))
        st = lmt_fail(LMT_ERR_FORMAT, "%s: epoch is %g (must be a finite number, zero or more)", path, s->epoch);
    if (st == LMT_OK) {
        const lmt_json *bm = lmt_json_get(j, "best_metric");
        if (bm && bm->type == LMT_JSON_NUMBER) {
            s->has_best = true;
            s->best_metric = bm->num;
            st = lmt_json_get_int(j, "best_global_step", 0, path, &s->best_global_step);
        }
        const char *ckpt = NULL;
        if (st == LMT_OK) st = lmt_json_get_str(j, "best_model_checkpoint", NULL, path, &ckpt);
        if (st == LMT_OK && ckpt) snprintf(s->best_model_checkpoint, sizeof s->best_model_checkpoint, "%s", ckpt);
    }
    if (st == LMT_OK) {
        const lmt_json *cb = lmt_json_get(lmt_json_get(lmt_json_get(lmt_json_get(j, "stateful_callbacks"), "TrainerControl"), "args"), "should_training_stop");
        s->should_training_stop = cb && cb->type == LMT_JSON_BOOL && cb->boolean;
    }
    if (st == LMT_OK) {
        const lmt_json *lh = lmt_json_get(j, "log_history");
        if (lh && lh->type != LMT_JSON_ARRAY) st = lmt_fail(LMT_ERR_FORMAT, "%s: log_history must be an array", path);
        else if (lh) {
            lmt_json_free(s->log_history);
            s->log_history = lmt_json_clone(lh);
            if (!s->log_history) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
        }
    }
    lmt_json_free(j);
    return st;
}
