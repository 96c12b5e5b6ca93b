/* MarianMTModel parity with transformers on the tiny fixture
 * (tests/fixtures/models/marian, made by tools/reference/make_model_fixtures.py):
 * - logits and loss (eval mode, a right-padded source batch, padded labels)
 *   within 1e-5 relative;
 * - the gradient of every trainable parameter within 1e-4 of the tensor's
 *   scale, no reference gradient left uncompared, and none for the static
 *   position tables or the final_logits_bias buffer;
 * - the model read from pytorch_model.bin gives the same logits;
 * - decoder_input_ids derived from the labels (shift right) equal the
 *   reference's; int32 = int64; dropout only in training; bad input refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "parity.h"
#include "core/util.h"
#include "io/tensor_file.h"
#include "models/marian.h"
#include "models/model.h"
#include "train/task_seq2seq.h"

#define FX LMT_SOURCE_DIR "/tests/fixtures/models/marian"

typedef struct { int B, Ts, Tt; const int64_t *ids, *mask, *dec, *labels; } batch;

static bool read_batch(const lmt_tensor_file *ref, batch *b) {
    const lmt_tensor_entry *ids = need(ref, "input_ids", LMT_I64), *mask = need(ref, "attention_mask", LMT_I64),
                           *dec = need(ref, "decoder_input_ids", LMT_I64), *labels = need(ref, "labels", LMT_I64);
    if (!ids || !mask || !dec || !labels || ids->ndim != 2 || dec->ndim != 2 || labels->ndim != 2) return false;
    b->B = (int)ids->shape[0];
    b->Ts = (int)ids->shape[1];
    b->Tt = (int)dec->shape[1];
    if (dec->shape[0] != b->B || labels->shape[0] != b->B || labels->shape[1] != b->Tt) return false;
    b->ids = ids->data;
    b->mask = mask->data;
    b->dec = dec->data;
    b->labels = labels->data;
    return true;
}

static void check_against(lmt_model *m, const lmt_tensor_file *ref, const batch *b) {
    lmt_marian *mt = NULL;
    CHECK_OK(lmt_marian_create(m, b->B, b->Ts, b->Tt, true, &mt));
    if (!mt) return;
    CHECK_OK(lmt_marian_forward(mt, LMT_I64, b->ids, b->mask, b->dec, b->labels, b->B, b->Ts, b->Tt, false));
    const lmt_tensor_entry *logits = need(ref, "logits", LMT_F32), *loss = need(ref, "loss", LMT_F32);
    size_t NV = (size_t)b->B * b->Tt * mt->V;
    if (logits && logits->nbytes == NV * 4) {
        parity_worst_rel = 0;
        close_tensor("logits", mt->logits, logits->data, NV, 1e-5, 1e-3);
        printf("marian: logits worst relative error %.2g\n", parity_worst_rel);
    } else CHECK_MSG(0, "reference logits have another size");
    if (loss) {
        float want = *(const float *)loss->data;
        CHECK_MSG(fabs(mt->net.loss - want) <= 1e-5 * fabs(want), "loss %.9g vs transformers %.9g", mt->net.loss, want);
        printf("marian: loss %.9g vs %.9g\n", mt->net.loss, want);
    }
    long want_targets = 0;
    for (int n = 0; n < b->B * b->Tt; n++) want_targets += b->labels[n] != -100;
    CHECK(mt->net.n_targets == want_targets && want_targets > 0);
    CHECK_OK(lmt_marian_backward(mt));
    size_t n_params = m->layout.n_params;
    int ref_grads, compared;
    int *seen = parity_grads("marian", ref, &m->layout, mt->net.grads, &ref_grads, &compared);
    /* every trainable parameter compared once; static tables and the buffer
     * get no reference gradient and none of ours */
    int untrained = 0;
    for (size_t p = 0; p < n_params; p++) {
        const lmt_param_spec *ps = &m->layout.params[p];
        bool frozen = ps->flags & (LMT_PARAM_STATIC | LMT_PARAM_BUFFER);
        CHECK_MSG(seen[p] == (frozen ? 0 : 1), "parameter %s compared %d times", ps->name, seen[p]);
        if (frozen) {
            untrained++;
            bool zero = true;
            for (size_t i = 0; i < ps->numel; i++) zero = zero && mt->net.grads[ps->offset + i] == 0.0f;
            CHECK_MSG(zero, "%s got a gradient", ps->name);
        }
    }
    CHECK(untrained == 3);
    CHECK_MSG(ref_grads == compared && compared == (int)n_params - 3, "%d reference gradients, %d compared, %zu parameters",
              ref_grads, compared, n_params);
    CHECK(lmt_marian_grad(mt, "lm_head.weight") == mt->g.enc_emb.tok);
    CHECK(lmt_marian_grad(mt, "model.decoder.embed_tokens.weight") == mt->g.enc_emb.tok);
    /* the training task's LM head on the labelled rows alone: the same loss
     * and gradients as transformers' full head */
    mt->loss_only = true;
    lmt_marian_zero_grad(mt);
    CHECK_OK(lmt_marian_forward(mt, LMT_I64, b->ids, b->mask, b->dec, b->labels, b->B, b->Ts, b->Tt, false));
    CHECK(mt->n_head == want_targets && mt->net.n_targets == want_targets && want_targets < b->B * b->Tt);
    if (loss) {
        float want = *(const float *)loss->data;
        CHECK_MSG(fabs(mt->net.loss - want) <= 1e-5 * fabs(want), "labelled rows: loss %.9g vs %.9g", mt->net.loss, want);
    }
    CHECK_OK(lmt_marian_backward(mt));
    int ref_lo, compared_lo;
    free(parity_grads("marian (labelled rows)", ref, &m->layout, mt->net.grads, &ref_lo, &compared_lo));
    CHECK(compared_lo == compared);
    free(seen);
    lmt_marian_free(mt);
}

/* Same logits from pytorch_model.bin alone. */
static void check_torch_bin(lmt_model *st_model, const batch *b) {
    char tmp[] = "/tmp/lmt_marian_binXXXXXX";
    if (!mkdtemp(tmp)) { CHECK_MSG(0, "mkdtemp failed"); return; }
    const char *files[] = {"config.json", "pytorch_model.bin"};
    for (int i = 0; i < 2; i++) {
        char src[1024], dst[1024], *data = NULL;
        size_t len = 0;
        snprintf(src, sizeof src, "%s/%s", FX, files[i]);
        snprintf(dst, sizeof dst, "%s/%s", tmp, files[i]);
        CHECK_OK(lmt_read_file(src, &data, &len));
        if (data) CHECK_OK(lmt_write_file_atomic(dst, data, len));
        free(data);
    }
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(tmp, &m));
    if (m) {
        CHECK(m->report.weights_file && strstr(m->report.weights_file, "pytorch_model.bin"));
        lmt_marian *e1 = NULL, *e2 = NULL;
        CHECK_OK(lmt_marian_create(m, b->B, b->Ts, b->Tt, false, &e1));
        CHECK_OK(lmt_marian_create(st_model, b->B, b->Ts, b->Tt, false, &e2));
        if (e1 && e2) {
            CHECK_OK(lmt_marian_forward(e1, LMT_I64, b->ids, b->mask, b->dec, NULL, b->B, b->Ts, b->Tt, false));
            CHECK_OK(lmt_marian_forward(e2, LMT_I64, b->ids, b->mask, b->dec, NULL, b->B, b->Ts, b->Tt, false));
            size_t NV = (size_t)b->B * b->Tt * e1->V;
            CHECK_MSG(!memcmp(e1->logits, e2->logits, NV * 4), "logits from pytorch_model.bin differ");
            CHECK(isnan(e1->net.loss));
            CHECK(lmt_marian_backward(e1) == LMT_ERR_ARG);   // no gradients, no labels
        }
        lmt_marian_free(e1);
        lmt_marian_free(e2);
    }
    lmt_model_free(m);
    char p[600];
    snprintf(p, sizeof p, "%s/config.json", tmp); unlink(p);
    snprintf(p, sizeof p, "%s/pytorch_model.bin", tmp); unlink(p);
    rmdir(tmp);
}

static void check_modes(lmt_model *m, const batch *b) {
    int B = b->B, Ts = b->Ts, Tt = b->Tt, Ne = B * Ts, Nd = B * Tt;
    int32_t *ids = malloc(Ne * 4), *mask = malloc(Ne * 4), *dec = malloc(Nd * 4), *labels = malloc(Nd * 4);
    for (int n = 0; n < Ne; n++) { ids[n] = (int32_t)b->ids[n]; mask[n] = (int32_t)b->mask[n]; }
    for (int n = 0; n < Nd; n++) { dec[n] = (int32_t)b->dec[n]; labels[n] = (int32_t)b->labels[n]; }
    lmt_marian *mt = NULL;
    CHECK_OK(lmt_marian_create(m, B, Ts, Tt, true, &mt));
    if (mt) {
        size_t NV = (size_t)Nd * mt->V;
        float *l64 = malloc(NV * 4);
        CHECK_OK(lmt_marian_forward(mt, LMT_I64, b->ids, b->mask, b->dec, b->labels, B, Ts, Tt, false));
        memcpy(l64, mt->logits, NV * 4);
        float eval_loss = mt->net.loss;
        CHECK_OK(lmt_marian_forward(mt, LMT_I32, ids, mask, dec, labels, B, Ts, Tt, false));
        CHECK(!memcmp(l64, mt->logits, NV * 4) && mt->net.loss == eval_loss);
        /* labels shifted right give the reference's decoder_input_ids */
        CHECK_OK(lmt_marian_forward(mt, LMT_I32, ids, mask, NULL, labels, B, Ts, Tt, false));
        bool same = true;
        for (int n = 0; n < Nd; n++) same = same && mt->dec_ids[n] == dec[n];
        CHECK_MSG(same, "decoder_input_ids from the labels differ from transformers'");
        CHECK(!memcmp(l64, mt->logits, NV * 4));
        lmt_marian_set_seed(mt, 5);
        CHECK_OK(lmt_marian_forward(mt, LMT_I32, ids, mask, dec, labels, B, Ts, Tt, true));
        CHECK(isfinite(mt->net.loss) && mt->net.loss != eval_loss);
        lmt_marian_zero_grad(mt);
        CHECK_OK(lmt_marian_backward_scaled(mt, 0.5f));
        bool finite = true;
        for (size_t i = 0; i < m->layout.num_floats; i++) finite = finite && isfinite(mt->net.grads[i]);
        CHECK(finite);
        CHECK_OK(lmt_marian_forward(mt, LMT_I32, ids, mask, dec, labels, B, Ts, Tt, false));
        CHECK(!memcmp(l64, mt->logits, NV * 4));
        /* bad inputs */
        ids[3] = mt->V;
        CHECK(lmt_marian_forward(mt, LMT_I32, ids, mask, dec, labels, B, Ts, Tt, false) == LMT_ERR_ARG);
        CHECK(strstr(lmt_last_error(), "input_ids") != NULL);
        ids[3] = 5;
        dec[2] = -1;
        CHECK(lmt_marian_forward(mt, LMT_I32, ids, mask, dec, labels, B, Ts, Tt, false) == LMT_ERR_ARG);
        CHECK(strstr(lmt_last_error(), "decoder_input_ids") != NULL);
        dec[2] = 7;
        labels[4] = -5;
        CHECK(lmt_marian_forward(mt, LMT_I32, ids, mask, dec, labels, B, Ts, Tt, false) == LMT_ERR_ARG);
        CHECK(strstr(lmt_last_error(), "labels") != NULL);
        CHECK(lmt_marian_backward(mt) == LMT_ERR_ARG);
        labels[4] = -100;
        CHECK(lmt_marian_forward(mt, LMT_I32, ids, mask, NULL, NULL, B, Ts, Tt, false) == LMT_ERR_ARG);
        CHECK(lmt_marian_forward(mt, LMT_I32, ids, mask, dec, NULL, B + 1, Ts, Tt, false) == LMT_ERR_ARG);
        CHECK(lmt_marian_forward(mt, LMT_I32, ids, mask, dec, NULL, B, Ts, Tt + 1, false) == LMT_ERR_ARG);
        CHECK(lmt_marian_forward(mt, LMT_F32, ids, mask, dec, NULL, B, Ts, Tt, false) == LMT_ERR_ARG);
        CHECK_OK(lmt_marian_forward(mt, LMT_I32, ids, mask, dec, NULL, B, Ts, Tt, false));
        CHECK(lmt_marian_backward(mt) == LMT_ERR_ARG);   // no labels
        free(l64);
    }
    lmt_marian *tmp = NULL;
    CHECK(lmt_marian_create(m, 1, (int)m->cfg.max_positions + 1, 4, false, &tmp) == LMT_ERR_ARG);
    CHECK(lmt_marian_create(m, 1, 4, (int)m->cfg.max_positions + 1, false, &tmp) == LMT_ERR_ARG);
    lmt_marian_free(mt);
    free(ids); free(mask); free(dec); free(labels);
}

/* The Trainer over the seq2seq adapter, the reference batch's rows as a dataset. */
static lmt_status rows_collate(void *ctx, const int64_t *idx, int n, lmt_batch *out) {
    const batch *d = ctx;
    size_t Ts = (size_t)d->Ts, Tt = (size_t)d->Tt;
    memset(out, 0, sizeof *out);
    out->B = n;
    out->T = (int)Ts;
    out->T_dec = (int)Tt;
    out->input_ids = malloc((size_t)n * Ts * 4);
    out->attention_mask = malloc((size_t)n * Ts * 4);
    out->labels = malloc((size_t)n * Tt * 4);
    out->decoder_input_ids = malloc((size_t)n * Tt * 4);
    if (!out->input_ids || !out->attention_mask || !out->labels || !out->decoder_input_ids) {
        lmt_batch_free(out);
        return LMT_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++) {
        for (size_t t = 0; t < Ts; t++) {
            out->input_ids[i * Ts + t] = (int32_t)d->ids[idx[i] * Ts + t];
            out->attention_mask[i * Ts + t] = (int32_t)d->mask[idx[i] * Ts + t];
        }
        for (size_t t = 0; t < Tt; t++) {
            out->labels[i * Tt + t] = (int32_t)d->labels[idx[i] * Tt + t];
            out->decoder_input_ids[i * Tt + t] = (int32_t)d->dec[idx[i] * Tt + t];
        }
    }
    return LMT_OK;
}

static void check_trainer(lmt_model *m, const lmt_tensor_file *ref, batch *b) {
    const lmt_tensor_entry *loss = need(ref, "loss", LMT_F32);
    char dir[] = "/tmp/lmt_marian_trainXXXXXX";
    if (!loss || !mkdtemp(dir)) return;
    float want = *(const float *)loss->data;
    size_t nf = m->layout.num_floats;
    float *init = malloc(nf * 4);
    memcpy(init, m->params, nf * 4);
    lmt_seq2seq_task *task = NULL;
    CHECK_OK(lmt_seq2seq_task_create(m, b->B, b->Ts, b->Tt, &task));
    if (task) {
        lmt_batch lb;
        int64_t all[2] = {0, 1};
        CHECK_OK(rows_collate(b, all, b->B, &lb));
        double sum = 0;
        int64_t items = 0;
        CHECK_OK(task->base.forward(task->base.self, &lb, false, 0, &sum, &items));
        CHECK(items == task->base.count_items(task->base.self, &lb) && items == task->mt->net.n_targets);
        CHECK(fabs(sum / (double)items - want) <= 1e-5 * fabs(want));
        CHECK(task->base.count_tokens(task->base.self, &lb) == (int64_t)b->B * b->Ts);
        lmt_batch_free(&lb);
    }
    lmt_training_args a;
    lmt_training_args_default(&a);
    snprintf(a.output_dir, sizeof a.output_dir, "%s", dir);
    a.overwrite_output_dir = true;
    a.learning_rate = 1e-3;
    a.per_device_train_batch_size = b->B;
    a.max_steps = 6;
    a.logging_steps = 1;
    a.save_strategy = LMT_STRATEGY_NO;
    lmt_train_data tr = {.n = b->B, .ctx = b, .collate = rows_collate};
    lmt_trainer t;
    if (task && lmt_trainer_init(&t, &a, &task->base, &tr, NULL) == LMT_OK) {
        {
            lmt_marian *z = task->mt;   /* every dropout off */
            z->enc_emb_cfg.p_drop = z->dec_emb_cfg.p_drop = 0.0f;
            for (lmt_stack *s = &z->enc; s; s = s == &z->enc ? &z->dec : NULL)
                s->self.p_attn = s->self.p_out = s->cross.p_attn = s->cross.p_out = s->ffn.p_act = s->ffn.p_out = 0.0f;
        }
        t.sampler = lmt_sampler_sequential;
        lmt_train_output out;
        CHECK_OK(lmt_trainer_train(&t, &out));
        CHECK(out.global_step == 6);
        const lmt_json *h = t.state.log_history;
        const lmt_json *first = h && h->len ? lmt_json_get(&h->items[0], "loss") : NULL;
        const lmt_json *last = h && h->len >= 6 ? lmt_json_get(&h->items[5], "loss") : NULL;
        CHECK_MSG(first && fabs(first->num - want) <= 1e-4, "Trainer's first loss %.9g vs transformers %.9g",
                  first ? first->num : NAN, want);
        CHECK_MSG(last && first && last->num < first->num, "the loss did not go down in 6 steps");
        if (first && last) printf("marian: Trainer loss %.6g -> %.6g in 6 steps\n", first->num, last->num);
        lmt_trainer_free(&t);
    } else CHECK_MSG(0, "trainer init failed: %s", lmt_last_error());
    lmt_seq2seq_task_free(task);
    memcpy(m->params, init, nf * 4);
    free(init);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

/* A model made from its config (training from scratch) starts as
 * MarianMTModel(config) does: the embedding's padding row is zero. */
static void check_fresh_init(void) {
    lmt_config cfg;
    lmt_model *m = NULL;
    CHECK_OK(lmt_config_load(FX "/config.json", &cfg));
    CHECK_OK(lmt_model_init(&cfg, 3, &m));
    if (!m) return;
    const float *shared = lmt_model_tensor(m, "model.shared.weight");
    int64_t pad = m->cfg.pad_token_id, C = m->cfg.d_model;
    CHECK(shared && pad >= 0);
    if (shared && pad >= 0) {
        double zero = 0, other = 0;
        for (int64_t c = 0; c < C; c++) { zero += fabs(shared[pad * C + c]); other += fabs(shared[(pad ? pad - 1 : 1) * C + c]); }
        CHECK_MSG(zero == 0 && other > 0, "fresh Marian: padding row sums to %g (another row %g)", zero, other);
    }
    lmt_model_free(m);
}

int main(void) {
    check_fresh_init();
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(FX, &m));
    lmt_tensor_file *ref = NULL;
    CHECK_OK(lmt_safetensors_open(FX "/reference.safetensors", &ref));
    batch b;
    if (m && ref && read_batch(ref, &b)) {
        check_against(m, ref, &b);
        check_torch_bin(m, &b);
        check_modes(m, &b);
        check_trainer(m, ref, &b);
    } else CHECK_MSG(0, "fixture unreadable");
    lmt_tensor_file_free(ref);
    lmt_model_free(m);
    /* GPT-2 is not a Marian model */
    lmt_model *g = NULL;
    CHECK_OK(lmt_model_load(LMT_SOURCE_DIR "/tests/fixtures/models/gpt2", &g));
    lmt_marian *e = NULL;
    if (g) CHECK(lmt_marian_create(g, 1, 4, 4, false, &e) == LMT_ERR_ARG);
    lmt_seq2seq_task *st = NULL;
    if (g) CHECK(lmt_seq2seq_task_create(g, 1, 4, 4, &st) == LMT_ERR_ARG);
    lmt_model_free(g);
    return lmt_test_finish();
}
