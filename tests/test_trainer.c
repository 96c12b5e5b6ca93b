/* The Trainer against transformers' Trainer on the tiny GPT-2 fixture
 * (tests/fixtures/train/gpt2_trainer.json): every step's loss, grad norm and
 * learning rate, every evaluation loss, total_flos and train_loss; then
 * checkpoints, rotation and resume (a resumed run equals an uninterrupted one). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "trainer_ref.h"
#include "core/json.h"
#include "core/util.h"
#include "io/tensor_file.h"
#include "train/task_clm.h"

static lmt_model *load_gpt2(void) {
    lmt_model *m = NULL;
    if (lmt_model_load(LMT_SOURCE_DIR "/tests/fixtures/models/gpt2", &m) != LMT_OK) return NULL;
    m->cfg.dropout = m->cfg.attn_dropout = m->cfg.embd_dropout = 0;   /* the reference ran with dropout off */
    return m;
}

static bool close_rel(double a, double b, double tol) { return fabs(a - b) <= tol * (fabs(b) > 1 ? fabs(b) : 1); }

static void check_run(const lmt_json *run, const int32_t *train, int64_t ntrain, const int32_t *eval, int64_t neval, int T) {
    const char *name = lmt_json_get(run, "name")->str;
    lmt_training_args a;
    char dir[] = "/tmp/lmt-trainer-XXXXXX";
    ref_run_args(&a, run, dir);
    lmt_model *m = load_gpt2();
    lmt_clm_task *task = NULL;
    CHECK_OK(lmt_clm_task_create(m, 4, T, &task));
    lmt_block_data tr, ev;
    lmt_block_data_init(&tr, train, ntrain, T);
    lmt_block_data_init(&ev, eval, neval, T);
    lmt_trainer t;
    CHECK_OK(lmt_trainer_init(&t, &a, &task->base, &tr.base, &ev.base));
    /* the reference runs use a SequentialSampler, except "shuffled", which keeps the HF Trainer's RandomSampler */
    if (strcmp(name, "shuffled")) t.sampler = lmt_sampler_sequential;
    lmt_train_output out;
    CHECK_OK(lmt_trainer_train(&t, &out));
    const lmt_json *want = lmt_json_get(run, "log_history");
    const lmt_json *got = t.state.log_history;
    CHECK_MSG(got->len == want->len + 1, "%s: %zu log entries, expected %zu + final", name, got->len, want->len);
    int bad = 0;
    for (size_t i = 0; i < want->len && i < got->len; i++) {
        const lmt_json *w = &want->items[i], *g = &got->items[i];
        for (size_t k = 0; k < w->len; k++) {
            const char *key = w->keys[k];
            if (strstr(key, "runtime") || strstr(key, "per_second")) continue;
            const lmt_json *gv = lmt_json_get(g, key);
            double tol = !strcmp(key, "epoch") || !strcmp(key, "step") || !strcmp(key, "learning_rate") ? 1e-12 : 1e-4;
            if (!gv || !close_rel(gv->num, w->items[k].num, tol)) {
                if (bad++ < 6) fprintf(stderr, "%s: entry %zu %s = %.9g, transformers %.9g\n", name, i, key, gv ? gv->num : NAN, w->items[k].num);
            }
        }
    }
    CHECK_MSG(bad == 0, "%s: %d values differ from transformers' Trainer", name, bad);
    CHECK(out.global_step == lmt_json_get(run, "global_step")->i64);
    CHECK_MSG(close_rel(out.training_loss, lmt_json_get(run, "training_loss")->num, 1e-4), "%s: train_loss %.9g", name, out.training_loss);
    CHECK_MSG(close_rel(out.total_flos, lmt_json_get(run, "total_flos")->num, 1e-9), "%s: total_flos %.9g", name, out.total_flos);
    /* final weights of transformers' run */
    char wpath[512];
    snprintf(wpath, sizeof wpath, "%s/tests/fixtures/train/gpt2_trainer_%s_final.safetensors", LMT_SOURCE_DIR, name);
    lmt_tensor_file *wf = NULL;
    CHECK_OK(lmt_safetensors_open(wpath, &wf));
    double worst = 0;
    for (size_t i = 0; wf && i < m->layout.n_params; i++) {
        const lmt_param_spec *p = &m->layout.params[i];
        const lmt_tensor_entry *e = lmt_tensor_file_find(wf, p->name);
        CHECK_MSG(e && e->nbytes == p->numel * 4, "%s: %s missing from the reference weights", name, p->name);
        if (!e || e->nbytes != p->numel * 4) continue;
        const float *ref_w = e->data, *ours = m->params + p->offset;
        for (size_t k = 0; k < p->numel; k++) {
            double d = fabs((double)ours[k] - ref_w[k]) / (fabs(ref_w[k]) > 1 ? fabs(ref_w[k]) : 1);
            if (d > worst) worst = d;
        }
    }
    CHECK_MSG(worst <= 1e-4, "%s: final weights differ from transformers' by up to %.3g", name, worst);
    lmt_tensor_file_free(wf);
    lmt_trainer_free(&t);
    lmt_clm_task_free(task);
    lmt_model_free(m);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

/* Train `steps` steps with checkpoints every 2 steps, optionally stopping
 * after `stop_at` and resuming; returns the final parameters. */
static float *train_with_checkpoints(const char *dir, const int32_t *train, int64_t n, int T, int64_t stop_at, lmt_json **history) {
    lmt_training_args a;
    lmt_training_args_default(&a);
    snprintf(a.output_dir, sizeof a.output_dir, "%s", dir);
    a.learning_rate = 1e-3;
    a.per_device_train_batch_size = 4;
    a.num_train_epochs = 2;
    a.logging_steps = 1;
    a.save_steps = 2;
    a.save_total_limit = 2;
    a.overwrite_output_dir = true;
    float *result = NULL;
    for (int phase = 0; phase < (stop_at > 0 ? 2 : 1); phase++) {
        lmt_model *m = load_gpt2();
        lmt_clm_task *task = NULL;
        lmt_clm_task_create(m, 4, T, &task);
        lmt_block_data tr;
        lmt_block_data_init(&tr, train, n, T);
        lmt_trainer t;
        if (phase == 1) snprintf(a.resume_from_checkpoint, sizeof a.resume_from_checkpoint, "latest");
        CHECK_OK(lmt_trainer_init(&t, &a, &task->base, &tr.base, NULL));
        if (phase == 0 && stop_at > 0) t.interrupt_at_step = stop_at;
        lmt_train_output out;
        CHECK_OK(lmt_trainer_train(&t, &out));
        if (phase == (stop_at > 0 ? 1 : 0)) {
            result = malloc(m->layout.num_floats * 4);
            memcpy(result, m->params, m->layout.num_floats * 4);
            *history = lmt_json_clone(t.state.log_history);
        }
        lmt_trainer_free(&t);
        lmt_clm_task_free(task);
        lmt_model_free(m);
    }
    return result;
}

/* An evaluation-only task (no gradient buffers) evaluates as the training
 * task does, which check_run holds to transformers' eval losses, and refuses
 * to train. */
static void check_eval_task(const int32_t *train, int64_t ntrain, const int32_t *eval, int64_t neval, int T) {
    lmt_model *m = load_gpt2();
    lmt_clm_task *full = NULL, *ev = NULL;
    CHECK_OK(lmt_clm_task_create(m, 4, T, &full));
    CHECK_OK(lmt_clm_task_create_eval(m, 4, T, &ev));
    if (!full || !ev) { lmt_clm_task_free(full); lmt_clm_task_free(ev); lmt_model_free(m); return; }
    CHECK(full->base.grads != NULL && ev->base.grads == NULL);
    lmt_training_args a;
    lmt_training_args_default(&a);
    snprintf(a.output_dir, sizeof a.output_dir, "/tmp/lmt-eval-only-unused");
    a.per_device_eval_batch_size = 4;
    lmt_block_data tr, ed;
    lmt_block_data_init(&tr, train, ntrain, T);
    lmt_block_data_init(&ed, eval, neval, T);
    lmt_trainer t1, t2;
    lmt_eval_output e1, e2;
    CHECK_OK(lmt_trainer_init(&t1, &a, &full->base, &tr.base, &ed.base));
    CHECK_OK(lmt_trainer_init(&t2, &a, &ev->base, &tr.base, &ed.base));
    CHECK_OK(lmt_trainer_evaluate(&t1, &e1));
    CHECK_OK(lmt_trainer_evaluate(&t2, &e2));
    CHECK_MSG(e1.loss == e2.loss && isfinite(e1.loss), "eval-only task: loss %.9g vs %.9g", e2.loss, e1.loss);
    lmt_train_output o;
    CHECK(lmt_trainer_train(&t2, &o) == LMT_ERR_ARG && strstr(lmt_last_error(), "evaluation only"));
    lmt_trainer_free(&t1);
    lmt_trainer_free(&t2);
    lmt_clm_task_free(full);
    lmt_clm_task_free(ev);
    lmt_model_free(m);
}

int main(void) {
    lmt_json *ref = NULL;
    CHECK_OK(lmt_json_parse_file(LMT_SOURCE_DIR "/tests/fixtures/train/gpt2_trainer.json", &ref));
    if (!ref) return lmt_test_finish();
    int64_t ntrain, neval;
    int T, T2;
    int32_t *train = ref_blocks(lmt_json_get(ref, "train_blocks"), &ntrain, &T);
    int32_t *eval = ref_blocks(lmt_json_get(ref, "eval_blocks"), &neval, &T2);
    const lmt_json *runs = lmt_json_get(ref, "runs");
    for (size_t r = 0; r < runs->len; r++) check_run(&runs->items[r], train, ntrain, eval, neval, T);
    check_eval_task(train, ntrain, eval, neval, T);

    /* checkpoints: folders, rotation, and a resumed run equal to a straight one */
    char d1[] = "/tmp/lmt-ckpt-a-XXXXXX", d2[] = "/tmp/lmt-ckpt-b-XXXXXX";
    CHECK(mkdtemp(d1) && mkdtemp(d2));
    lmt_json *h1 = NULL, *h2 = NULL;
    float *p1 = train_with_checkpoints(d1, train, ntrain, T, 0, &h1);
    float *p2 = train_with_checkpoints(d2, train, ntrain, T, 4, &h2);
    lmt_model *m = load_gpt2();
    CHECK(p1 && p2 && !memcmp(p1, p2, m->layout.num_floats * 4));
    /* a save killed mid-write leaves only a hidden temporary folder: the last
     * complete checkpoint is still the one found and resumed */
    char junk[600];
    snprintf(junk, sizeof junk, "mkdir -p %s/.checkpoint-99.tmp-4242 && echo partial > %s/.checkpoint-99.tmp-4242/model.safetensors", d1, d1);
    CHECK(system(junk) == 0);
    char *last = lmt_trainer_last_checkpoint(d1);
    CHECK(last && strstr(last, "checkpoint-20") && !strstr(last, "99"));
    free(last);
    CHECK(h1 && h2 && h1->len == h2->len);
    char path[512];
    snprintf(path, sizeof path, "%s/checkpoint-20/trainer_state.json", d1);
    CHECK(lmt_file_exists(path));
    snprintf(path, sizeof path, "%s/checkpoint-18/model.safetensors", d1);
    CHECK(lmt_file_exists(path));
    snprintf(path, sizeof path, "%s/checkpoint-16", d1);
    CHECK(!lmt_is_dir(path));   /* save_total_limit = 2 */
    snprintf(path, sizeof path, "%s/checkpoint-20/optimizer.safetensors", d1);
    CHECK(lmt_file_exists(path));
    /* resuming from a checkpoint of another model is refused before training */
    {
        char d3[] = "/tmp/lmt-ckpt-c-XXXXXX";
        CHECK(mkdtemp(d3) != NULL);
        char cmd3[600];
        snprintf(cmd3, sizeof cmd3, "mkdir -p %s/checkpoint-3 && cp %s/tests/fixtures/models/bert/config.json %s/tests/fixtures/models/bert/model.safetensors %s/checkpoint-3/",
                 d3, LMT_SOURCE_DIR, LMT_SOURCE_DIR, d3);
        CHECK(system(cmd3) == 0);
        lmt_training_args a;
        lmt_training_args_default(&a);
        snprintf(a.output_dir, sizeof a.output_dir, "%s", d3);
        snprintf(a.resume_from_checkpoint, sizeof a.resume_from_checkpoint, "latest");
        lmt_model *mm = load_gpt2();
        lmt_clm_task *task = NULL;
        CHECK_OK(lmt_clm_task_create(mm, 4, T, &task));
        lmt_block_data tr;
        lmt_block_data_init(&tr, train, ntrain, T);
        lmt_trainer t;
        CHECK_OK(lmt_trainer_init(&t, &a, &task->base, &tr.base, NULL));
        lmt_train_output out;
        CHECK(lmt_trainer_train(&t, &out) == LMT_ERR_FORMAT);
        CHECK_MSG(strstr(lmt_last_error(), "checkpoint-3") && strstr(lmt_last_error(), "does not match"), "%s", lmt_last_error());
        CHECK(t.state.global_step == 0);
        lmt_trainer_free(&t);
        lmt_clm_task_free(task);
        lmt_model_free(mm);
        snprintf(cmd3, sizeof cmd3, "rm -rf %s", d3);
        CHECK(system(cmd3) == 0);
    }
    lmt_model_free(m);
    free(p1);
    free(p2);
    lmt_json_free(h1);
    lmt_json_free(h2);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", d1, d2);
    CHECK(system(cmd) == 0);
    free(train);
    free(eval);
    lmt_json_free(ref);
    return lmt_test_finish();
}
