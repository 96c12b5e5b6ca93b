/* Reading the Trainer references that tools/reference writes: token blocks
 * and the TrainingArguments of a reference run. Include after harness.h. */
#ifndef LMT_TESTS_TRAINER_REF_H
#define LMT_TESTS_TRAINER_REF_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/json.h"
#include "train/args.h"
#include "train/trainer.h"

/* A JSON array of equal-length id arrays as one (n, T) int32 block. */
static inline int32_t *ref_blocks(const lmt_json *a, int64_t *n, int *T) {
    *n = (int64_t)a->len;
    *T = (int)a->items[0].len;
    int32_t *v = malloc((size_t)*n * (size_t)*T * 4);
    for (size_t i = 0; i < a->len; i++)
        for (size_t j = 0; j < a->items[i].len; j++) v[i * (size_t)*T + j] = (int32_t)a->items[i].items[j].i64;
    return v;
}

/* Sets every {name: value} of a reference run's args on a. */
static inline void ref_apply_args(lmt_training_args *a, const lmt_json *args) {
    for (size_t i = 0; i < args->len; i++) {
        char buf[64];
        const lmt_json *v = &args->items[i];
        if (v->type == LMT_JSON_STRING) snprintf(buf, sizeof buf, "%s", v->str);
        else if (v->type == LMT_JSON_BOOL) snprintf(buf, sizeof buf, "%s", v->boolean ? "true" : "false");
        else if (v->is_int) snprintf(buf, sizeof buf, "%lld", (long long)v->i64);
        else snprintf(buf, sizeof buf, "%.17g", v->num);
        CHECK_OK(lmt_training_args_set(a, args->keys[i], buf, "reference"));
    }
}

/* The TrainingArguments of a reference run: what every run shares (output
 * in a fresh directory made from the mkdtemp template dir, logging every
 * step, evaluation each epoch in batches of 4, no checkpoints), then the
 * run's learning_rate and args. */
static inline void ref_run_args(lmt_training_args *a, const lmt_json *run, char *dir) {
    lmt_training_args_default(a);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(a->output_dir, sizeof a->output_dir, "%s/out", dir);
    a->learning_rate = lmt_json_get(run, "learning_rate")->num;
    a->logging_steps = 1;
    a->eval_strategy = LMT_STRATEGY_EPOCH;
    a->per_device_eval_batch_size = 4;
    a->save_strategy = LMT_STRATEGY_NO;
    ref_apply_args(a, lmt_json_get(run, "args"));
}
/* rm -rf dir (a run's temporary folder), checked. */
static inline void ref_remove_dir(const char *dir) {
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

/* Differences between a reference log entry and ours, as the Trainer tests
 * judge them: timings skipped; eval_bleu, eval_gen_len (rounded to 4 places
 * by compute_metrics) and step exact; epoch and learning_rate to 1e-12;
 * the rest (losses, norms) to 1e-4 relative. Prints the first few. */
static inline int ref_log_entry_diff(const lmt_json *want, const lmt_json *got, size_t entry) {
    int bad = 0;
    for (size_t k = 0; k < want->len; k++) {
        const char *key = want->keys[k];
        if (strstr(key, "runtime") || strstr(key, "per_second") || strstr(key, "preparation_time")) continue;
        const lmt_json *g = lmt_json_get(got, key);
        double w = want->items[k].num;
        bool exact = !strcmp(key, "eval_bleu") || !strcmp(key, "eval_gen_len") || !strcmp(key, "step");
        double tol = exact ? 0 : !strcmp(key, "epoch") || !strcmp(key, "learning_rate") ? 1e-12 : 1e-4;
        if (!g || !(fabs(g->num - w) <= tol * (fabs(w) > 1 ? fabs(w) : 1))) {
            if (bad++ < 4) fprintf(stderr, "log entry %zu: %s = %.9g, transformers %.9g\n", entry, key, g ? g->num : NAN, w);
        }
    }
    return bad;
}

/* A trainer.json of tools/reference (make_llama_fixtures.py, make_lora_fixtures.py):
 * its blocks and its first run's TrainingArguments (output under dir, a
 * mkdtemp template). False after a failed check. */
typedef struct ref_trainer_run {
    lmt_json *ref;
    const lmt_json *run;
    int32_t *train, *eval;
    int64_t ntr, nev;
    int T, Te;
    lmt_training_args args;
} ref_trainer_run;

static inline bool ref_trainer_load(ref_trainer_run *r, const char *path, char *dir) {
    memset(r, 0, sizeof *r);
    CHECK_OK(lmt_json_parse_file(path, &r->ref));
    if (!r->ref) return false;
    r->train = ref_blocks(lmt_json_get(r->ref, "train_blocks"), &r->ntr, &r->T);
    r->eval = ref_blocks(lmt_json_get(r->ref, "eval_blocks"), &r->nev, &r->Te);
    r->run = &lmt_json_get(r->ref, "runs")->items[0];
    ref_run_args(&r->args, r->run, dir);
    return true;
}

/* ref_trainer_load of ref_dir/trainer.json and the model of model_dir; NULL after a failed check. */
static inline lmt_model *ref_trainer_model(ref_trainer_run *r, const char *ref_dir, const char *model_dir, char *dir) {
    lmt_model *m = NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s/trainer.json", ref_dir);
    if (!ref_trainer_load(r, path, dir)) return NULL;
    CHECK_OK(lmt_model_load(model_dir, &m));
    return m;
}

static inline void ref_trainer_free(ref_trainer_run *r) {
    free(r->train);
    free(r->eval);
    lmt_json_free(r->ref);
}

/* t's log history, global step and train_loss against the reference run, step for step. */
static inline void ref_trainer_compare(const char *name, const ref_trainer_run *r, const lmt_trainer *t,
                                       const lmt_train_output *res) {
    const lmt_json *want = lmt_json_get(r->run, "log_history"), *got = t->state.log_history;
    CHECK_MSG(got->len == want->len + 1, "%s: %zu log entries, expected %zu + final", name, got->len, want->len);
    int bad = 0;
    for (size_t i = 0; i < want->len && i < got->len; i++) bad += ref_log_entry_diff(&want->items[i], &got->items[i], i);
    CHECK_MSG(bad == 0, "%s: %d logged values differ from the reference Trainer", name, bad);
    CHECK(res->global_step == lmt_json_get(r->run, "global_step")->i64);
    CHECK_MSG(fabs(res->training_loss - lmt_json_get(r->run, "training_loss")->num) <= 1e-4 * res->training_loss,
              "%s: train_loss %.9g", name, res->training_loss);
    printf("%s: %zu Trainer log entries as the reference's\n", name, want->len);
}
/* Examples as rows of input_ids / attention_mask / labels, each T long, and
 * the collate that stacks the rows idx names (a recorded collator's output
 * replayed: the Trainer's batches are exactly those rows). */
typedef struct ref_rows {
    int64_t n;
    int T;
    int32_t *ids, *mask, *labels;
} ref_rows;

static inline lmt_status ref_rows_collate(void *ctx, const int64_t *idx, int n, lmt_batch *batch) {
    ref_rows *r = ctx;
    size_t row = (size_t)r->T * 4;
    memset(batch, 0, sizeof *batch);
    batch->B = n;
    batch->T = r->T;
    batch->input_ids = malloc((size_t)n * row);
    batch->attention_mask = malloc((size_t)n * row);
    batch->labels = malloc((size_t)n * row);
    if (!batch->input_ids || !batch->attention_mask || !batch->labels) return LMT_ERR_NOMEM;
    for (int i = 0; i < n; i++) {
        if (idx[i] < 0 || idx[i] >= r->n) return LMT_ERR_ARG;
        memcpy(batch->input_ids + (size_t)i * r->T, r->ids + idx[i] * r->T, row);
        memcpy(batch->attention_mask + (size_t)i * r->T, r->mask + idx[i] * r->T, row);
        memcpy(batch->labels + (size_t)i * r->T, r->labels + idx[i] * r->T, row);
    }
    return LMT_OK;
}

static inline void ref_rows_free(ref_rows *r) {
    free(r->ids);
    free(r->mask);
    free(r->labels);
}
#endif
