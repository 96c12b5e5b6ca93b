/* The Trainer on the tiny BERT MLM fixture against transformers' Trainer fed
 * the very batches DataCollatorForLanguageModeling produced (recorded by
 * tools/reference/make_mlm_trainer_fixtures.py): every step's loss, grad
 * norm and learning rate, train_loss, total_flos and the final weights. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "harness.h"
#include "trainer_ref.h"
#include "core/json.h"
#include "io/tensor_file.h"
#include "train/task_mlm.h"

/* The recorded batches flattened into rows: example i is row i, so a
 * sequential sampler replays batch k as rows 4k..4k+3. */
static void load_rows(const lmt_json *batches, ref_rows *r) {
    r->n = 0;
    for (size_t b = 0; b < batches->len; b++) r->n += (int64_t)lmt_json_get(&batches->items[b], "input_ids")->len;
    r->T = (int)lmt_json_get(&batches->items[0], "input_ids")->items[0].len;
    size_t total = (size_t)r->n * r->T;
    r->ids = malloc(total * 4);
    r->mask = malloc(total * 4);
    r->labels = malloc(total * 4);
    const char *keys[3] = {"input_ids", "attention_mask", "labels"};
    int32_t *dst[3] = {r->ids, r->mask, r->labels};
    for (int k = 0; k < 3; k++) {
        size_t at = 0;
        for (size_t b = 0; b < batches->len; b++) {
            const lmt_json *rows = lmt_json_get(&batches->items[b], keys[k]);
            for (size_t i = 0; i < rows->len; i++)
                for (size_t j = 0; j < rows->items[i].len; j++) dst[k][at++] = (int32_t)rows->items[i].items[j].i64;
        }
    }
}

static bool close_rel(double a, double b, double tol) { return fabs(a - b) <= tol * (fabs(b) > 1 ? fabs(b) : 1); }

static void set_arg(lmt_training_args *a, const char *key, const char *value) {
    CHECK_OK(lmt_training_args_set(a, key, value, "test"));
}

/* label_smoothing_factor 0.1 over the same batches and arguments
 * (tests/fixtures/train/features, make_trainer_features_fixtures.py): the
 * LabelSmoother's loss, its gradient through BERT's decoder bias. */
static void check_label_smoothing(ref_rows *rec, lmt_training_args a) {
    lmt_json *ref = NULL;
    CHECK_OK(lmt_json_parse_file(LMT_SOURCE_DIR "/tests/fixtures/train/features/trainer_features.json", &ref));
    const lmt_json *runs = ref ? lmt_json_get(ref, "runs") : NULL, *run = NULL;
    for (size_t i = 0; runs && i < runs->len; i++)
        if (!strcmp(lmt_json_get(&runs->items[i], "name")->str, "mlm_label_smoothing")) run = &runs->items[i];
    CHECK(run != NULL);
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(LMT_SOURCE_DIR "/tests/fixtures/models/bert", &m));
    if (!run || !m) { lmt_json_free(ref); lmt_model_free(m); return; }
    m->cfg.dropout = m->cfg.attn_dropout = m->cfg.embd_dropout = 0;
    set_arg(&a, "label_smoothing_factor", "0.1");
    lmt_mlm_task *task = NULL;
    CHECK_OK(lmt_mlm_task_create(m, 4, rec->T, &task));
    lmt_train_data data = {.n = rec->n, .ctx = rec, .collate = ref_rows_collate};
    lmt_trainer t;
    CHECK_OK(lmt_trainer_init(&t, &a, &task->base, &data, NULL));
    t.sampler = lmt_sampler_sequential;
    lmt_train_output out;
    CHECK_OK(lmt_trainer_train(&t, &out));
    const lmt_json *want = lmt_json_get(run, "log_history"), *got = t.state.log_history;
    int bad = 0;
    CHECK(got->len == want->len);
    for (size_t i = 0; i < want->len && i < got->len; i++) {
        const lmt_json *w = &want->items[i];
        for (size_t k = 0; k < w->len; k++) {
            const char *key = w->keys[k];
            if (strstr(key, "runtime") || strstr(key, "per_second")) continue;
            const lmt_json *gv = lmt_json_get(&got->items[i], key);
            if (!gv || !close_rel(gv->num, w->items[k].num, 1e-4)) {
                if (bad++ < 4) fprintf(stderr, "label smoothing: entry %zu %s = %.9g, transformers %.9g\n", i, key, gv ? gv->num : NAN, w->items[k].num);
            }
        }
    }
    CHECK_MSG(bad == 0, "label smoothing: %d logged values differ from transformers' Trainer", bad);
    lmt_tensor_file *wf = NULL;
    CHECK_OK(lmt_safetensors_open(LMT_SOURCE_DIR "/tests/fixtures/train/features/final.safetensors", &wf));
    double worst = 0;
    int kept = 0;
    for (size_t i = 0; wf && i < m->layout.n_params; i++) {
        const lmt_param_spec *p = &m->layout.params[i];
        char key[200];
        snprintf(key, sizeof key, "mlm_label_smoothing/%s", p->name);
        const lmt_tensor_entry *e = lmt_tensor_file_find(wf, key);
        if (!e || e->nbytes != p->numel * 4) continue;
        kept++;
        for (size_t k = 0; k < p->numel; k++) {
            double d = fabs((double)m->params[p->offset + k] - ((const float *)e->data)[k]);
            if (d > worst) worst = d;
        }
    }
    CHECK_MSG(kept == 5 && worst <= 1e-4, "label smoothing: %d weights compared, worst %.3g", kept, worst);
    printf("label_smoothing_factor 0.1: %zu log entries and the weights as transformers' (worst %.2g)\n", want->len, worst);
    lmt_tensor_file_free(wf);
    lmt_trainer_free(&t);
    lmt_mlm_task_free(task);
    lmt_model_free(m);
    lmt_json_free(ref);
}

int main(void) {
    lmt_json *ref = NULL;
    CHECK_OK(lmt_json_parse_file(LMT_SOURCE_DIR "/tests/fixtures/train/mlm/mlm_trainer.json", &ref));
    if (!ref) return lmt_test_finish();
    ref_rows rec;
    load_rows(lmt_json_get(ref, "batches"), &rec);
    CHECK(rec.n == 120 && rec.T == 12);

    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(LMT_SOURCE_DIR "/tests/fixtures/models/bert", &m));
    if (!m) return lmt_test_finish();
    m->cfg.dropout = m->cfg.attn_dropout = m->cfg.embd_dropout = 0;   /* the reference ran with dropout off */
    lmt_training_args a;
    lmt_training_args_default(&a);
    char dir[] = "/tmp/lmt-mlm-trainer-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    snprintf(a.output_dir, sizeof a.output_dir, "%s/out", dir);
    a.learning_rate = lmt_json_get(ref, "learning_rate")->num;
    a.logging_steps = 1;
    a.eval_strategy = LMT_STRATEGY_NO;
    a.save_strategy = LMT_STRATEGY_NO;
    set_arg(&a, "per_device_train_batch_size", "4");
    set_arg(&a, "gradient_accumulation_steps", "1");
    set_arg(&a, "num_train_epochs", "1");
    set_arg(&a, "lr_scheduler_type", "linear");
    set_arg(&a, "warmup_steps", "3");
    set_arg(&a, "weight_decay", "0.01");
    set_arg(&a, "max_grad_norm", "1.0");

    lmt_mlm_task *task = NULL;
    CHECK_OK(lmt_mlm_task_create(m, 4, rec.T, &task));
    /* MLM items are the labels != -100 of a batch, with no shift */
    {
        lmt_batch b;
        int64_t idx[4] = {0, 1, 2, 3}, want = 0;
        CHECK_OK(ref_rows_collate(&rec, idx, 4, &b));
        for (int k = 0; k < 4 * rec.T; k++) want += b.labels[k] != -100;
        CHECK(task->base.count_items(task->base.self, &b) == want);
        lmt_batch_free(&b);
    }
    lmt_train_data data = {.n = rec.n, .ctx = &rec, .collate = ref_rows_collate};
    lmt_trainer t;
    CHECK_OK(lmt_trainer_init(&t, &a, &task->base, &data, NULL));
    t.sampler = lmt_sampler_sequential;
    lmt_train_output out;
    CHECK_OK(lmt_trainer_train(&t, &out));

    const lmt_json *want = lmt_json_get(ref, "log_history");
    const lmt_json *got = t.state.log_history;
    CHECK_MSG(got && got->len == want->len + 1, "%zu log entries, expected %zu + final", got ? got->len : 0, want->len);
    int bad = 0, compared = 0;
    for (size_t i = 0; got && i < want->len && i < got->len; i++) {
        const lmt_json *w = &want->items[i], *g = &got->items[i];
        for (size_t k = 0; k < w->len; k++) {
            const char *key = w->keys[k];
            const lmt_json *gv = lmt_json_get(g, key);
            double tol = !strcmp(key, "epoch") || !strcmp(key, "step") || !strcmp(key, "learning_rate") ? 1e-12 : 1e-4;
            compared++;
            if (!gv || !close_rel(gv->num, w->items[k].num, tol)) {
                if (bad++ < 8)
                    fprintf(stderr, "step entry %zu %s = %.9g, transformers %.9g\n", i, key, gv ? gv->num : NAN,
                            w->items[k].num);
            }
        }
    }
    CHECK_MSG(bad == 0, "%d of %d logged values differ from transformers' Trainer", bad, compared);
    CHECK(compared >= 30 * 5);
    CHECK(out.global_step == lmt_json_get(ref, "global_step")->i64);
    CHECK_MSG(close_rel(out.training_loss, lmt_json_get(ref, "training_loss")->num, 1e-4), "train_loss %.9g",
              out.training_loss);
    CHECK_MSG(close_rel(out.total_flos, lmt_json_get(ref, "total_flos")->num, 1e-9), "total_flos %.9g vs %.9g",
              out.total_flos, lmt_json_get(ref, "total_flos")->num);

    lmt_tensor_file *wf = NULL;
    CHECK_OK(lmt_safetensors_open(LMT_SOURCE_DIR "/tests/fixtures/train/mlm/final.safetensors", &wf));
    double worst = 0;
    const char *worst_name = "";
    for (size_t i = 0; wf && i < m->layout.n_params; i++) {
        const lmt_param_spec *p = &m->layout.params[i];
        const lmt_tensor_entry *e = lmt_tensor_file_find(wf, p->name);
        CHECK_MSG(e && e->nbytes == p->numel * 4, "%s missing from the reference weights", p->name);
        if (!e || e->nbytes != p->numel * 4) continue;
        const float *ref_w = e->data, *ours = m->params + p->offset;
        for (size_t k = 0; k < p->numel; k++) {
            double d = fabs((double)ours[k] - ref_w[k]) / (fabs(ref_w[k]) > 1 ? fabs(ref_w[k]) : 1);
            if (d > worst) { worst = d; worst_name = p->name; }
        }
    }
    CHECK_MSG(worst <= 1e-4, "final weights differ from transformers' by up to %.3g (%s)", worst, worst_name);
    lmt_tensor_file_free(wf);

    lmt_trainer_free(&t);
    lmt_mlm_task_free(task);
    lmt_model_free(m);
    check_label_smoothing(&rec, a);
    ref_rows_free(&rec);
    lmt_json_free(ref);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return lmt_test_finish();
}
