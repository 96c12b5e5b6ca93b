/* The one training flow (train/finetune.c) with a causal-LM task on a few
 * WikiText-2 lines: what run_clm.py's order of work leaves behind (the
 * model + tokenizer, trainer_state.json, train/eval/all_results.json with
 * perplexity = exp(eval_loss)), the callbacks in that order, nothing
 * printed on stdout, evaluation-only runs, the non-empty output_dir refusal
 * before the model is loaded, and the task released once whatever fails. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "harness.h"
#include "train/clm_data.h"
#include "train/finetune.h"
#include "train/task_clm.h"

#define CONFIG LMT_SOURCE_DIR "/examples/gpt2-demo/config.json"
#define TOK LMT_SHARED_DATA "/tokenizers/gpt2"
#define WIKI LMT_SHARED_DATA "/wikitext-2-raw-v1/wiki.valid.raw"

typedef struct {
    int block, released, prepared;
    int64_t n_train, n_eval;   /* the blocks handed to the flow */
    bool fail_prepare, refuse_model, train;
    lmt_clm_blocks tr, ev;
    lmt_clm_task *task;
    lmt_block_data td, ed;
    char events[64];      /* b: evaluation before, l: log entry, e: final evaluation, s: saved */
    int n_events, eval_logs;
} clm_task;

static lmt_status check_model(void *ctx, const lmt_model *m) {
    clm_task *c = ctx;
    (void)m;
    return c->refuse_model ? lmt_fail(LMT_ERR_ARG, "refused by the task") : LMT_OK;
}

static lmt_status prepare(void *ctx, lmt_model *m, const lmt_tokenizer *tok, const lmt_training_args *a, lmt_finetune_data *out) {
    clm_task *c = ctx;
    c->prepared++;
    if (c->fail_prepare) return lmt_fail(LMT_ERR_FORMAT, "prepare failed on purpose");
    LMT_TRY(lmt_clm_prepare(tok, WIKI, c->block, 1000, 40, &c->tr));
    LMT_TRY(lmt_clm_prepare(tok, WIKI, c->block, 1000, 12, &c->ev));
    c->n_train = c->tr.n_blocks;
    c->n_eval = c->ev.n_blocks;
    int B = lmt_finetune_max_batch(a);
    LMT_TRY(c->train ? lmt_clm_task_create(m, B, c->block, &c->task) : lmt_clm_task_create_eval(m, B, c->block, &c->task));
    lmt_block_data_init(&c->td, c->tr.ids, c->tr.n_blocks, c->block);
    lmt_block_data_init(&c->ed, c->ev.ids, c->ev.n_blocks, c->block);
    out->model = &c->task->base;
    out->train = &c->td.base;
    out->eval = &c->ed.base;
    return LMT_OK;
}

static void release(void *ctx) {
    clm_task *c = ctx;
    c->released++;
    lmt_clm_task_free(c->task);
    c->task = NULL;
    lmt_clm_blocks_free(&c->tr);
    lmt_clm_blocks_free(&c->ev);
}

static void event(clm_task *c, char e) {
    if (c->n_events < (int)sizeof c->events - 1) c->events[c->n_events++] = e;
}
static void on_log(void *u, const char *json) {
    clm_task *c = u;
    event(c, 'l');
    if (strstr(json, "\"eval_loss\"")) c->eval_logs++;
}
static void on_evaluate(void *u, const lmt_eval_output *e, bool final, const lmt_eval_output *before) {
    clm_task *c = u;
    (void)e;
    event(c, final ? (before ? 'E' : 'e') : 'b');
}
static void on_saved(void *u, const char *dir) {
    (void)dir;
    event(u, 's');
}

static lmt_finetune_job job_for(clm_task *c, const lmt_training_args *a, bool train) {
    lmt_finetune_job j = {.args = a, .config_path = CONFIG, .tokenizer_dir = TOK, .train = train, .perplexity = true,
                          .task = {.ctx = c, .check_model = check_model, .prepare = prepare, .release = release},
                          .cb = {.user = c, .on_log = on_log, .on_evaluate = on_evaluate, .on_saved = on_saved}};
    c->train = train;
    return j;
}

static double num(const lmt_json *o, const char *key) {
    const lmt_json *v = o ? lmt_json_get(o, key) : NULL;
    return v && v->type == LMT_JSON_NUMBER ? v->num : NAN;
}

static bool has(const char *dir, const char *name) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return lmt_file_exists(p);
}

/* runs the job with stdout sent to a file; true if nothing was printed on it */
static lmt_status run_quiet(const lmt_finetune_job *j, lmt_finetune_result *r, const char *tmp, bool *quiet) {
    char p[1200];
    snprintf(p, sizeof p, "%s/stdout.txt", tmp);
    fflush(stdout);
    int saved = dup(1);
    FILE *f = fopen(p, "w");
    dup2(fileno(f), 1);
    lmt_status s = lmt_finetune_run(j, r);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    *quiet = size == 0;
    return s;
}

int main(void) {
    char tmp[] = "/tmp/lmt-finetune-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    char dir[900], p[1200];
    snprintf(dir, sizeof dir, "%s/run", tmp);
    lmt_training_args a;
    lmt_training_args_default(&a);
    snprintf(a.output_dir, sizeof a.output_dir, "%s", dir);
    a.max_steps = 2;
    a.per_device_train_batch_size = a.per_device_eval_batch_size = 2;
    a.logging_steps = 1;
    a.save_strategy = LMT_STRATEGY_NO;
    CHECK_OK(lmt_training_args_validate(&a));

    /* train with evaluation before and after */
    clm_task c = {.block = 16};
    lmt_finetune_job j = job_for(&c, &a, true);
    lmt_finetune_result r;
    bool quiet = false;
    CHECK_OK(run_quiet(&j, &r, tmp, &quiet));
    CHECK_MSG(quiet, "the flow printed on stdout");
    CHECK(c.prepared == 1 && c.released == 1);
    CHECK(r.trained && r.evaluated_before && r.evaluated && r.train.global_step == 2);
    /* run_clm.py's order: evaluate, two logged steps + the train summary, evaluate, save */
    CHECK_MSG(!strcmp(c.events, "blllEs"), "events %s", c.events);
    CHECK(c.eval_logs == 0);
    const char *files[] = {"config.json", "model.safetensors", "vocab.json", "merges.txt", "trainer_state.json", "train_results.json",
                           "eval_results.json", "all_results.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) CHECK_MSG(has(dir, files[i]), "missing %s", files[i]);
    lmt_json *ev = NULL, *tr = NULL, *all = NULL;
    snprintf(p, sizeof p, "%s/eval_results.json", dir);
    CHECK_OK(lmt_json_parse_file(p, &ev));
    snprintf(p, sizeof p, "%s/train_results.json", dir);
    CHECK_OK(lmt_json_parse_file(p, &tr));
    snprintf(p, sizeof p, "%s/all_results.json", dir);
    CHECK_OK(lmt_json_parse_file(p, &all));
    CHECK(c.n_eval > 0 && num(ev, "eval_samples") == (double)c.n_eval && r.eval_samples == c.n_eval);
    CHECK_NEAR(num(ev, "perplexity"), exp(num(ev, "eval_loss")), 1e-9 * exp(num(ev, "eval_loss")));
    CHECK(num(ev, "eval_loss") == r.after.loss && num(ev, "epoch") > 0);
    CHECK(num(tr, "train_samples") == (double)c.n_train && r.train_samples == c.n_train && num(tr, "train_loss") == r.train.training_loss);
    CHECK(num(all, "train_loss") == num(tr, "train_loss") && num(all, "eval_loss") == num(ev, "eval_loss") &&
          num(all, "perplexity") == num(ev, "perplexity"));
    lmt_json_free(ev); lmt_json_free(tr); lmt_json_free(all);

    /* a second training run into the same folder is refused before the model is loaded (no such config) */
    clm_task c2 = {.block = 16};
    j = job_for(&c2, &a, true);
    j.config_path = "/nonexistent/config.json";
    CHECK(lmt_finetune_run(&j, &r) == LMT_ERR_ARG && strstr(lmt_last_error(), "not empty") && strstr(lmt_last_error(), dir));
    CHECK(c2.prepared == 0 && c2.released == 1);
    a.overwrite_output_dir = true;
    CHECK(lmt_finetune_run(&j, &r) != LMT_OK && strstr(lmt_last_error(), "/nonexistent/config.json"));
    a.overwrite_output_dir = false;

    /* evaluation only: no model saved, no trainer_state, no evaluation "before", the evaluation logged when asked */
    snprintf(a.output_dir, sizeof a.output_dir, "%s/eval", tmp);
    clm_task c3 = {.block = 16};
    j = job_for(&c3, &a, false);
    j.perplexity = false;
    j.log_final_evaluation = true;
    CHECK_OK(lmt_finetune_run(&j, &r));
    CHECK(!r.trained && !r.evaluated_before && r.evaluated && c3.released == 1);
    CHECK_MSG(!strcmp(c3.events, "le") && c3.eval_logs == 1, "events %s", c3.events);
    snprintf(p, sizeof p, "%s/eval", tmp);
    CHECK(has(p, "eval_results.json") && !has(p, "model.safetensors") && !has(p, "trainer_state.json") && !has(p, "train_results.json"));
    snprintf(p, sizeof p, "%s/eval/eval_results.json", tmp);
    CHECK_OK(lmt_json_parse_file(p, &ev));
    CHECK(ev && !lmt_json_get(ev, "perplexity") && num(ev, "eval_loss") == r.after.loss);
    lmt_json_free(ev);

    /* a refusal of the task's and a failing preparation: the error, and the task released once */
    snprintf(a.output_dir, sizeof a.output_dir, "%s/x", tmp);
    clm_task c4 = {.block = 16, .refuse_model = true};
    j = job_for(&c4, &a, true);
    j.tokenizer_dir = "/nonexistent/tokenizer";   /* never reached */
    CHECK(lmt_finetune_run(&j, &r) == LMT_ERR_ARG && strstr(lmt_last_error(), "refused by the task") && c4.released == 1);
    clm_task c5 = {.block = 16, .fail_prepare = true};
    j = job_for(&c5, &a, true);
    CHECK(lmt_finetune_run(&j, &r) == LMT_ERR_FORMAT && strstr(lmt_last_error(), "on purpose") && c5.released == 1);
    /* a tokenizer larger than the model's vocabulary */
    snprintf(a.output_dir, sizeof a.output_dir, "%s/y", tmp);
    clm_task c6 = {.block = 16};
    j = job_for(&c6, &a, true);
    j.config_path = NULL;
    j.model_dir = LMT_SOURCE_DIR "/tests/fixtures/models/gpt2";
    CHECK(lmt_finetune_run(&j, &r) == LMT_ERR_ARG && strstr(lmt_last_error(), "model's vocabulary holds 96") && c6.prepared == 0);

    snprintf(p, sizeof p, "rm -rf %s", tmp);
    CHECK(system(p) == 0);
    return lmt_test_finish();
}
