/* bf16 mixed precision (TrainingArguments bf16): matrix products on
 * bf16-rounded inputs with fp32 accumulation, everything else fp32. Checked
 * against transformers' fp32 references with bf16-sized tolerances:
 * - the tiny GPT-2 fixture: loss within 0.2%, logits within 1% of their scale,
 *   every gradient within 2% (relative L2), and not bit-equal to the fp32
 *   run (bf16 really ran); the fp32 setting afterwards is exact again;
 * - cached decoding with bf16 weight copies: logits within 1% of fp32's;
 * - transformers' 30-step Trainer run (tests/fixtures/train): every logged
 *   loss within 2%, eval losses within 2%, and the run leaves the process in
 *   fp32. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "trainer_ref.h"
#include "core/json.h"
#include "core/util.h"
#include "models/gpt2_decode.h"
#include "io/tensor_file.h"
#include "kernels/matmul.h"
#include "models/gpt2.h"
#include "models/model.h"
#include "train/task_clm.h"

#define FX LMT_SOURCE_DIR "/tests/fixtures/models/gpt2"

static double rel_l2(const float *got, const float *want, size_t n) {
    double e = 0, w = 0;
    for (size_t i = 0; i < n; i++) { e += ((double)got[i] - want[i]) * ((double)got[i] - want[i]); w += (double)want[i] * want[i]; }
    return w > 0 ? sqrt(e / w) : sqrt(e);
}

static void check_model(void) {
    lmt_tensor_file *ref = NULL;
    lmt_model *m = NULL;
    CHECK_OK(lmt_safetensors_open(FX "/reference.safetensors", &ref));
    CHECK_OK(lmt_model_load(FX, &m));
    if (!ref || !m) { lmt_tensor_file_free(ref); lmt_model_free(m); return; }
    const lmt_tensor_entry *ids = lmt_tensor_file_find(ref, "input_ids"), *mask = lmt_tensor_file_find(ref, "attention_mask"),
                           *labels = lmt_tensor_file_find(ref, "labels"), *logits = lmt_tensor_file_find(ref, "logits"),
                           *loss = lmt_tensor_file_find(ref, "loss");
    CHECK(ids && mask && labels && logits && loss && ids->ndim == 2);
    if (!ids || !mask || !labels || !logits || !loss) { lmt_tensor_file_free(ref); lmt_model_free(m); return; }
    int B = (int)ids->shape[0], T = (int)ids->shape[1];
    lmt_gpt2 *g = NULL;
    CHECK_OK(lmt_gpt2_create(m, B, T, true, &g));
    size_t NV = (size_t)B * T * g->V;
    float *fp32_logits = malloc(NV * 4);
    CHECK_OK(lmt_gpt2_forward(g, LMT_I64, ids->data, mask->data, labels->data, B, T, false));
    memcpy(fp32_logits, g->logits, NV * 4);

    lmt_matmul_set_precision(LMT_MATMUL_BF16);
    CHECK_OK(lmt_gpt2_forward(g, LMT_I64, ids->data, mask->data, labels->data, B, T, false));
    float want = *(const float *)loss->data;
    CHECK_MSG(fabs(g->net.loss - want) <= 2e-3 * fabs(want), "bf16 loss %.6g vs transformers fp32 %.6g", g->net.loss, want);
    double scale = 0, worst = 0;
    const float *wl = logits->data;
    for (size_t i = 0; i < NV; i++) { scale = fmax(scale, fabs(wl[i])); worst = fmax(worst, fabs(g->logits[i] - wl[i])); }
    CHECK_MSG(worst <= 1e-2 * scale, "bf16 logits: worst error %.3g of scale %.3g", worst, scale);
    CHECK_MSG(memcmp(fp32_logits, g->logits, NV * 4) != 0, "bf16 logits are bit-equal to fp32 ones: bf16 did not run");
    lmt_gpt2_zero_grad(g);
    CHECK_OK(lmt_gpt2_backward(g));
    int compared = 0;
    for (size_t i = 0; i < m->layout.n_params; i++) {
        const lmt_param_spec *p = &m->layout.params[i];
        char key[160];
        snprintf(key, sizeof key, "grad.%s", p->name);
        const lmt_tensor_entry *e = lmt_tensor_file_find(ref, key);
        if (!e || e->nbytes != p->numel * 4) continue;
        double r = rel_l2(g->net.grads + p->offset, e->data, p->numel);
        CHECK_MSG(r <= 2e-2, "bf16 %s: relative L2 error %.3g", key, r);
        compared++;
    }
    CHECK(compared == (int)m->layout.n_params);

    lmt_matmul_set_precision(LMT_MATMUL_FP32);
    CHECK_OK(lmt_gpt2_forward(g, LMT_I64, ids->data, mask->data, labels->data, B, T, false));
    CHECK(memcmp(fp32_logits, g->logits, NV * 4) == 0);
    free(fp32_logits);
    lmt_gpt2_free(g);
    lmt_model_free(m);
    lmt_tensor_file_free(ref);
}

/* Cached decoding under bf16 reads bf16 copies of the weights: the logits of
 * every step stay within 1% of the fp32 decoder's scale, and differ from them. */
static void check_decoding(void) {
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(FX, &m));
    if (!m) return;
    lmt_gpt2_kv *k32 = NULL, *k16 = NULL;
    CHECK_OK(lmt_gpt2_kv_create(m, 12, &k32));
    lmt_matmul_set_precision(LMT_MATMUL_BF16);
    CHECK_OK(lmt_gpt2_kv_create(m, 12, &k16));
    lmt_matmul_set_precision(LMT_MATMUL_FP32);
    int V = (int)m->cfg.vocab_size;
    float *l32 = malloc((size_t)V * sizeof(float));
    bool differ = false;
    for (int t = 0; k32 && k16 && t < 12; t++) {
        const float *a, *b;
        int32_t tok = (int32_t)((t * 7919 + 13) % V);
        CHECK_OK(lmt_gpt2_kv_step(k32, tok, &a));
        memcpy(l32, a, (size_t)V * sizeof(float));
        CHECK_OK(lmt_gpt2_kv_step(k16, tok, &b));
        double scale = 0, worst = 0;
        for (int v = 0; v < V; v++) { scale = fmax(scale, fabs(l32[v])); worst = fmax(worst, fabs(b[v] - l32[v])); }
        CHECK_MSG(worst <= 1e-2 * scale, "bf16 decoding step %d: worst error %.3g of scale %.3g", t, worst, scale);
        differ = differ || worst > 0;
    }
    CHECK_MSG(differ, "bf16 decoding gave the fp32 logits exactly: the bf16 copies were not used");
    free(l32);
    lmt_gpt2_kv_free(k32);
    lmt_gpt2_kv_free(k16);
    lmt_model_free(m);
}

/* transformers' "plain" fp32 run (batch 4, 2 epochs, linear schedule) in bf16 */
static void check_trainer(void) {
    lmt_json *ref = NULL;
    CHECK_OK(lmt_json_parse_file(LMT_SOURCE_DIR "/tests/fixtures/train/gpt2_trainer.json", &ref));
    if (!ref) return;
    int64_t ntrain, neval;
    int T, T2;
    int32_t *train = ref_blocks(lmt_json_get(ref, "train_blocks"), &ntrain, &T);
    int32_t *eval = ref_blocks(lmt_json_get(ref, "eval_blocks"), &neval, &T2);
    const lmt_json *runs = lmt_json_get(ref, "runs"), *run = NULL;
    for (size_t i = 0; i < runs->len; i++)
        if (!strcmp(lmt_json_get(&runs->items[i], "name")->str, "plain")) run = &runs->items[i];
    CHECK(run != NULL);
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(FX, &m));
    if (!run || !m) { lmt_model_free(m); lmt_json_free(ref); free(train); free(eval); return; }
    m->cfg.dropout = m->cfg.attn_dropout = m->cfg.embd_dropout = 0;   // the reference ran with dropout off
    lmt_training_args a;
    char dir[] = "/tmp/lmt-bf16-XXXXXX";
    ref_run_args(&a, run, dir);
    CHECK_OK(lmt_training_args_set(&a, "bf16", "true", "test"));
    CHECK(lmt_training_args_matmul_precision(&a) == LMT_MATMUL_BF16);
    lmt_clm_task *task = NULL;
    CHECK_OK(lmt_clm_task_create(m, 4, T, &task));
    lmt_block_data tr, ev;
    lmt_block_data_init(&tr, train, ntrain, T);
    lmt_block_data_init(&ev, eval, neval, T2);
    lmt_trainer t;
    CHECK_OK(lmt_trainer_init(&t, &a, &task->base, &tr.base, &ev.base));
    t.sampler = lmt_sampler_sequential;
    lmt_train_output out;
    CHECK_OK(lmt_trainer_train(&t, &out));
    CHECK(lmt_matmul_get_precision() == LMT_MATMUL_FP32);
    const lmt_json *want = lmt_json_get(run, "log_history"), *got = t.state.log_history;
    int compared = 0, bad = 0;
    for (size_t i = 0; i < want->len && i < got->len; i++) {
        const char *keys[] = {"loss", "eval_loss"};
        for (int k = 0; k < 2; k++) {
            const lmt_json *w = lmt_json_get(&want->items[i], keys[k]), *gv = lmt_json_get(&got->items[i], keys[k]);
            if (!w) continue;
            compared++;
            if (!gv || !(fabs(gv->num - w->num) <= 2e-2 * fabs(w->num))) {
                if (bad++ < 5) fprintf(stderr, "bf16 entry %zu %s = %.6g, transformers fp32 %.6g\n", i, keys[k], gv ? gv->num : NAN, w->num);
            }
        }
    }
    CHECK(compared >= 20);
    CHECK_MSG(bad == 0, "bf16 run: %d losses beyond 2%% of transformers' fp32 run", bad);
    lmt_trainer_free(&t);
    lmt_clm_task_free(task);
    lmt_model_free(m);
    lmt_json_free(ref);
    free(train);
    free(eval);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

int main(void) {
    check_model();
    check_decoding();
    check_trainer();
    return lmt_test_finish();
}
