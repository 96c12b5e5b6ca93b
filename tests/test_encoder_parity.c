/* BertForMaskedLM, RobertaForMaskedLM and DistilBertForMaskedLM parity with
 * transformers on the tiny fixtures (tests/fixtures/models/{bert,roberta,
 * distilbert}, made by tools/reference/make_model_fixtures.py):
 * - logits and loss (eval mode, a right-padded batch, BERT with segment ids)
 *   within 1e-5 relative;
 * - the gradient of every parameter within 1e-4 relative, and no reference
 *   gradient left uncompared;
 * - the model read from pytorch_model.bin gives the same logits;
 * - int32 and int64 inputs agree; dropout acts only in training mode;
 *   bad ids / types / labels / shapes are refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "parity.h"
#include "core/util.h"
#include "io/tensor_file.h"
#include "models/encoder_mlm.h"
#include "models/model.h"
#include "train/task_mlm.h"

#define FXDIR LMT_SOURCE_DIR "/tests/fixtures/models/"


/* the shared causal-LM batch (parity.h) plus BERT's token_type_ids */
typedef struct { int B, T; const int64_t *ids, *mask, *labels, *types; } batch;

static bool read_batch(const lmt_tensor_file *ref, batch *b) {
    parity_batch pb;
    if (!parity_read_batch(ref, &pb)) return false;
    const lmt_tensor_entry *types = lmt_tensor_file_find(ref, "token_type_ids");
    *b = (batch){pb.B, pb.T, pb.ids, pb.mask, pb.labels, types && types->dtype == LMT_I64 ? types->data : NULL};
    return true;
}

static void check_against(lmt_model *m, const char *fx, const char *what) {
    char path[1024];
    snprintf(path, sizeof path, "%s/reference.safetensors", fx);
    lmt_tensor_file *ref = NULL;
    CHECK_OK(lmt_safetensors_open(path, &ref));
    batch b;
    if (!ref || !read_batch(ref, &b)) { lmt_tensor_file_free(ref); return; }
    CHECK((m->cfg.arch == LMT_ARCH_BERT) == (b.types != NULL));
    lmt_encoder_mlm *e = NULL;
    CHECK_OK(lmt_encoder_mlm_create(m, b.B, b.T, true, &e));
    if (!e) { lmt_tensor_file_free(ref); return; }
    CHECK_OK(lmt_encoder_mlm_forward(e, LMT_I64, b.ids, b.mask, b.types, b.labels, b.B, b.T, false));
    char msg[256];
    const lmt_tensor_entry *logits = need(ref, "logits", LMT_F32), *loss = need(ref, "loss", LMT_F32);
    size_t NV = (size_t)b.B * b.T * e->V;
    if (logits && logits->nbytes == NV * 4) {
        snprintf(msg, sizeof msg, "%s: logits", what);
        parity_worst_rel = 0;
        close_tensor(msg, e->logits, logits->data, NV, 1e-5, 1e-3);
        printf("%s: logits worst relative error %.2g\n", what, parity_worst_rel);
    } else CHECK_MSG(0, "%s: reference logits have another size", what);
    if (loss) {
        float want = *(const float *)loss->data;
        CHECK_MSG(fabs(e->net.loss - want) <= 1e-5 * fabs(want), "%s: loss %.9g vs transformers %.9g", what, e->net.loss, want);
    }
    long want_targets = 0;
    for (int n = 0; n < b.B * b.T; n++) want_targets += b.labels[n] != -100;
    CHECK(e->net.n_targets == want_targets && want_targets > 0);
    CHECK_OK(lmt_encoder_mlm_backward(e));
    /* every reference gradient maps to one distinct parameter of ours, and
     * every parameter has one */
    size_t n_params = m->layout.n_params;
    int ref_grads, compared;
    int *seen = parity_grads(what, ref, &m->layout, e->net.grads, &ref_grads, &compared);
    for (size_t p = 0; p < n_params; p++)
        CHECK_MSG(seen[p] == 1, "%s: parameter %s compared %d times", what, m->layout.params[p].name, seen[p]);
    CHECK_MSG(ref_grads == compared && compared == (int)n_params, "%s: %d reference gradients, %d compared, %zu parameters",
              what, ref_grads, compared, n_params);
    /* lookup by an alias name reaches the tied storage */
    const char *alias = m->cfg.arch == LMT_ARCH_BERT ? "cls.predictions.decoder.weight"
                        : m->cfg.arch == LMT_ARCH_ROBERTA ? "lm_head.decoder.weight" : "vocab_projector.weight";
    CHECK(lmt_encoder_mlm_grad(e, alias) == e->g.emb.tok);
    /* the training task's head on the labelled rows alone: the same loss and
     * gradients as transformers' full head */
    e->loss_only = true;
    lmt_encoder_mlm_zero_grad(e);
    CHECK_OK(lmt_encoder_mlm_forward(e, LMT_I64, b.ids, b.mask, b.types, b.labels, b.B, b.T, false));
    CHECK(e->n_head == want_targets && e->net.n_targets == want_targets);
    if (loss) {
        float want = *(const float *)loss->data;
        CHECK_MSG(fabs(e->net.loss - want) <= 1e-5 * fabs(want), "%s (labelled rows): loss %.9g vs %.9g", what, e->net.loss, want);
    }
    CHECK_OK(lmt_encoder_mlm_backward(e));
    int ref_lo, compared_lo;
    snprintf(msg, sizeof msg, "%s (labelled rows)", what);
    free(parity_grads(msg, ref, &m->layout, e->net.grads, &ref_lo, &compared_lo));
    CHECK(compared_lo == compared);
    free(seen);
    lmt_encoder_mlm_free(e);
    lmt_tensor_file_free(ref);
}

/* Same logits from pytorch_model.bin alone. */
static void check_torch_bin(lmt_model *st_model, const char *fx, const char *what) {
    char tmp[] = "/tmp/lmt_enc_binXXXXXX";
    if (!mkdtemp(tmp)) { CHECK_MSG(0, "mkdtemp failed"); return; }
    const char *files[] = {"config.json", "pytorch_model.bin"};
    for (int i = 0; i < 2; i++) {
        char src[1024], dst[1024], *data = NULL;
        size_t len = 0;
        snprintf(src, sizeof src, "%s/%s", fx, files[i]);
        snprintf(dst, sizeof dst, "%s/%s", tmp, files[i]);
        CHECK_OK(lmt_read_file(src, &data, &len));
        if (data) CHECK_OK(lmt_write_file_atomic(dst, data, len));
        free(data);
    }
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(tmp, &m));
    char path[1024];
    snprintf(path, sizeof path, "%s/reference.safetensors", fx);
    lmt_tensor_file *ref = NULL;
    CHECK_OK(lmt_safetensors_open(path, &ref));
    batch b;
    if (m && ref && read_batch(ref, &b)) {
        CHECK(m->report.weights_file && strstr(m->report.weights_file, "pytorch_model.bin"));
        lmt_encoder_mlm *e1 = NULL, *e2 = NULL;
        CHECK_OK(lmt_encoder_mlm_create(m, b.B, b.T, false, &e1));
        CHECK_OK(lmt_encoder_mlm_create(st_model, b.B, b.T, false, &e2));
        if (e1 && e2) {
            CHECK_OK(lmt_encoder_mlm_forward(e1, LMT_I64, b.ids, b.mask, b.types, NULL, b.B, b.T, false));
            CHECK_OK(lmt_encoder_mlm_forward(e2, LMT_I64, b.ids, b.mask, b.types, NULL, b.B, b.T, false));
            size_t NV = (size_t)b.B * b.T * e1->V;
            CHECK_MSG(!memcmp(e1->logits, e2->logits, NV * 4), "%s: logits from pytorch_model.bin differ", what);
            CHECK(isnan(e1->net.loss));
            CHECK(lmt_encoder_mlm_backward(e1) == LMT_ERR_ARG);   // no gradients, no labels
        }
        lmt_encoder_mlm_free(e1);
        lmt_encoder_mlm_free(e2);
    }
    lmt_tensor_file_free(ref);
    lmt_model_free(m);
    char p[600];
    snprintf(p, sizeof p, "%s/config.json", tmp); unlink(p);
    snprintf(p, sizeof p, "%s/pytorch_model.bin", tmp); unlink(p);
    rmdir(tmp);
}

/* int32 inputs, dropout in training mode only, bad inputs refused, and the
 * Trainer adapter reports the same sums. */
static void check_modes(lmt_model *m, const char *fx) {
    char path[1024];
    snprintf(path, sizeof path, "%s/reference.safetensors", fx);
    lmt_tensor_file *ref = NULL;
    CHECK_OK(lmt_safetensors_open(path, &ref));
    batch b;
    if (!ref || !read_batch(ref, &b)) { lmt_tensor_file_free(ref); return; }
    int B = b.B, T = b.T, N = B * T;
    int32_t *ids = malloc(N * 4), *mask = malloc(N * 4), *labels = malloc(N * 4), *types = malloc(N * 4);
    for (int n = 0; n < N; n++) {
        ids[n] = (int32_t)b.ids[n]; mask[n] = (int32_t)b.mask[n]; labels[n] = (int32_t)b.labels[n];
        types[n] = b.types ? (int32_t)b.types[n] : 0;
    }
    int32_t *tt = b.types ? types : NULL;
    lmt_encoder_mlm *e = NULL;
    CHECK_OK(lmt_encoder_mlm_create(m, B, T, true, &e));
    if (e) {
        size_t NV = (size_t)N * e->V;
        float *l64 = malloc(NV * 4);
        CHECK_OK(lmt_encoder_mlm_forward(e, LMT_I64, b.ids, b.mask, b.types, b.labels, B, T, false));
        memcpy(l64, e->logits, NV * 4);
        float eval_loss = e->net.loss;
        CHECK_OK(lmt_encoder_mlm_forward(e, LMT_I32, ids, mask, tt, labels, B, T, false));
        CHECK(!memcmp(l64, e->logits, NV * 4) && e->net.loss == eval_loss);
        lmt_encoder_mlm_set_seed(e, 5);
        CHECK_OK(lmt_encoder_mlm_forward(e, LMT_I32, ids, mask, tt, labels, B, T, true));
        CHECK(isfinite(e->net.loss) && e->net.loss != eval_loss);
        lmt_encoder_mlm_zero_grad(e);
        CHECK_OK(lmt_encoder_mlm_backward(e));
        bool finite = true;
        for (size_t i = 0; i < m->layout.num_floats; i++) finite = finite && isfinite(e->net.grads[i]);
        CHECK(finite);
        CHECK_OK(lmt_encoder_mlm_forward(e, LMT_I32, ids, mask, tt, labels, B, T, false));
        CHECK(!memcmp(l64, e->logits, NV * 4));
        /* the Trainer adapter: loss sum and item count */
        lmt_mlm_task *task = NULL;
        CHECK_OK(lmt_mlm_task_create(m, B, T, &task));
        if (task) {
            lmt_batch lb = {.B = B, .T = T, .input_ids = ids, .attention_mask = mask, .labels = labels, .token_type_ids = tt};
            double sum = 0;
            int64_t items = 0;
            CHECK_OK(task->base.forward(task->base.self, &lb, false, 0, &sum, &items));
            CHECK(items == e->net.n_targets && items == task->base.count_items(task->base.self, &lb));
            CHECK(fabs(sum / (double)items - eval_loss) <= 1e-6 * fabs(eval_loss));
            CHECK(task->base.count_tokens(task->base.self, &lb) == N);
            task->base.zero_grad(task->base.self);
            CHECK_OK(task->base.backward(task->base.self, 1.0f / (float)items));
            CHECK(task->base.grads == task->enc->net.grads);
            lmt_mlm_task_free(task);
        }
        /* bad inputs */
        ids[3] = e->V;
        CHECK(lmt_encoder_mlm_forward(e, LMT_I32, ids, mask, tt, labels, B, T, false) == LMT_ERR_ARG);
        ids[3] = -1;
        CHECK(lmt_encoder_mlm_forward(e, LMT_I32, ids, mask, tt, labels, B, T, false) == LMT_ERR_ARG);
        ids[3] = 5;
        labels[4] = -5;
        CHECK(lmt_encoder_mlm_forward(e, LMT_I32, ids, mask, tt, labels, B, T, false) == LMT_ERR_ARG);
        CHECK(strstr(lmt_last_error(), "labels") != NULL);
        CHECK(lmt_encoder_mlm_backward(e) == LMT_ERR_ARG);
        labels[4] = -100;
        types[2] = 7;
        CHECK(lmt_encoder_mlm_forward(e, LMT_I32, ids, mask, types, labels, B, T, false) == LMT_ERR_ARG);
        CHECK(lmt_encoder_mlm_forward(e, LMT_I32, ids, mask, NULL, NULL, B + 1, T, false) == LMT_ERR_ARG);
        CHECK(lmt_encoder_mlm_forward(e, LMT_F32, ids, mask, NULL, NULL, B, T, false) == LMT_ERR_ARG);
        CHECK_OK(lmt_encoder_mlm_forward(e, LMT_I32, ids, mask, NULL, NULL, B, T, false));
        CHECK(lmt_encoder_mlm_backward(e) == LMT_ERR_ARG);   // no labels
        free(l64);
    }
    lmt_encoder_mlm *tmp = NULL;
    CHECK(lmt_encoder_mlm_create(m, 1, (int)m->cfg.max_positions + 1, false, &tmp) == LMT_ERR_ARG);
    lmt_encoder_mlm_free(e);
    free(ids); free(mask); free(labels); free(types);
    lmt_tensor_file_free(ref);
}

/* The Trainer over the MLM adapter: the reference batch's two rows as a
 * dataset; with dropout off the first logged loss is transformers' loss on
 * the untouched weights, and a few AdamW steps bring it down. */
typedef struct { batch b; } rows_data;

static lmt_status rows_collate(void *ctx, const int64_t *idx, int n, lmt_batch *out) {
    const rows_data *d = ctx;
    size_t T = (size_t)d->b.T, N = (size_t)n * T;
    memset(out, 0, sizeof *out);
    out->B = n;
    out->T = (int)T;
    out->input_ids = malloc(N * 4);
    out->attention_mask = malloc(N * 4);
    out->labels = malloc(N * 4);
    if (d->b.types) out->token_type_ids = malloc(N * 4);
    if (!out->input_ids || !out->attention_mask || !out->labels || (d->b.types && !out->token_type_ids)) {
        lmt_batch_free(out);
        return LMT_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++)
        for (size_t t = 0; t < T; t++) {
            size_t src = (size_t)idx[i] * T + t, dst = (size_t)i * T + t;
            out->input_ids[dst] = (int32_t)d->b.ids[src];
            out->attention_mask[dst] = (int32_t)d->b.mask[src];
            out->labels[dst] = (int32_t)d->b.labels[src];
            if (d->b.types) out->token_type_ids[dst] = (int32_t)d->b.types[src];
        }
    return LMT_OK;
}

static void check_trainer(lmt_model *m, const char *fx, const char *what) {
    char path[1024];
    snprintf(path, sizeof path, "%s/reference.safetensors", fx);
    lmt_tensor_file *ref = NULL;
    CHECK_OK(lmt_safetensors_open(path, &ref));
    rows_data d;
    const lmt_tensor_entry *loss = ref ? need(ref, "loss", LMT_F32) : NULL;
    char dir[] = "/tmp/lmt_enc_trainXXXXXX";
    if (!ref || !loss || !read_batch(ref, &d.b) || !mkdtemp(dir)) { lmt_tensor_file_free(ref); return; }
    size_t nf = m->layout.num_floats;
    float *init = malloc(nf * 4);
    memcpy(init, m->params, nf * 4);
    lmt_training_args a;
    lmt_training_args_default(&a);
    snprintf(a.output_dir, sizeof a.output_dir, "%s", dir);
    a.overwrite_output_dir = true;
    a.learning_rate = 1e-3;
    a.per_device_train_batch_size = d.b.B;
    a.max_steps = 6;
    a.logging_steps = 1;
    a.save_strategy = LMT_STRATEGY_NO;
    lmt_mlm_task *task = NULL;
    CHECK_OK(lmt_mlm_task_create(m, d.b.B, d.b.T, &task));
    lmt_train_data tr = {.n = d.b.B, .ctx = &d, .collate = rows_collate};
    lmt_trainer t;
    if (task && lmt_trainer_init(&t, &a, &task->base, &tr, NULL) == LMT_OK) {
        task->enc->emb_cfg.p_drop = task->enc->layers.self.p_attn = task->enc->layers.self.p_out = task->enc->layers.ffn.p_out = 0.0f;
        t.sampler = lmt_sampler_sequential;
        lmt_train_output out;
        CHECK_OK(lmt_trainer_train(&t, &out));
        CHECK(out.global_step == 6);
        const lmt_json *h = t.state.log_history;
        const lmt_json *first = h && h->len ? lmt_json_get(&h->items[0], "loss") : NULL;
        const lmt_json *last = h && h->len >= 6 ? lmt_json_get(&h->items[5], "loss") : NULL;
        float want = *(const float *)loss->data;
        CHECK_MSG(first && fabs(first->num - want) <= 1e-4, "%s: Trainer's first loss %.9g vs transformers %.9g", what,
                  first ? first->num : NAN, want);
        CHECK_MSG(last && last->num < first->num, "%s: the loss did not go down in 6 steps", what);
        lmt_trainer_free(&t);
    } else CHECK_MSG(0, "%s: trainer init failed: %s", what, lmt_last_error());
    lmt_mlm_task_free(task);
    memcpy(m->params, init, nf * 4);   // later checks use the fixture's weights
    free(init);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    lmt_tensor_file_free(ref);
}

int main(void) {
    const char *names[] = {"bert", "roberta", "distilbert"};
    for (int i = 0; i < 3; i++) {
        char fx[512];
        snprintf(fx, sizeof fx, FXDIR "%s", names[i]);
        lmt_model *m = NULL;
        CHECK_OK(lmt_model_load(fx, &m));
        if (!m) continue;
        check_against(m, fx, names[i]);
        check_torch_bin(m, fx, names[i]);
        check_modes(m, fx);
        check_trainer(m, fx, names[i]);
        lmt_model_free(m);
    }
    /* a BertModel checkpoint: the MLM head is fresh, the rest loaded; it runs */
    lmt_model *nh = NULL;
    CHECK_OK(lmt_model_load(FXDIR "bert-nohead", &nh));
    if (nh) {
        CHECK(nh->report.n_missing > 0 && nh->report.added_prefix);
        lmt_encoder_mlm *e2 = NULL;
        CHECK_OK(lmt_encoder_mlm_create(nh, 1, 4, true, &e2));
        int32_t ids[4] = {2, 7, 9, 3}, labels[4] = {-100, 7, -100, -100};
        if (e2) {
            CHECK_OK(lmt_encoder_mlm_forward(e2, LMT_I32, ids, NULL, NULL, labels, 1, 4, false));
            CHECK(isfinite(e2->net.loss) && e2->net.n_targets == 1);
            CHECK_OK(lmt_encoder_mlm_backward(e2));
        }
        lmt_encoder_mlm_free(e2);
        lmt_model_free(nh);
    }
    /* GPT-2 is not an encoder */
    lmt_model *g = NULL;
    CHECK_OK(lmt_model_load(FXDIR "gpt2", &g));
    lmt_encoder_mlm *e = NULL;
    if (g) CHECK(lmt_encoder_mlm_create(g, 1, 4, false, &e) == LMT_ERR_ARG);
    lmt_mlm_task *t = NULL;
    if (g) CHECK(lmt_mlm_task_create(g, 1, 4, &t) == LMT_ERR_ARG);
    lmt_model_free(g);
    return lmt_test_finish();
}
