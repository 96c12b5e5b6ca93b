/* Gradient checkpointing (models/blocks/stack.h; --gradient_checkpointing):
 *  - the same gradients, bit for bit, as the plain backward, in training
 *    mode with dropout (the masks replayed), for every family on the shared
 *    stack: Llama (GQA, untied; SmolLM2-shaped), GPT-2, BERT, Marian (two
 *    stacks, cross-attention), and with LoRA dropout (its seed stream
 *    replayed) - while the activation arena shrinks;
 *  - transformers' gradients with gradient_checkpointing_enable() in train
 *    mode (reference_gc.safetensors of tools/reference/make_llama_fixtures.py)
 *    within 1e-5 (logits, loss) and 1e-4 (gradients) (the Trainer with
 *    gradient_checkpointing=True: test_llama_parity's trainer_gc.json);
 *  - the option read by name; no effect without gradients. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "parity.h"
#include "train/args.h"
#include "models/llama.h"
#include "models/lora.h"
#include "models/model.h"
#include "train/task_clm.h"
#include "train/task_mlm.h"
#include "train/task_seq2seq.h"

#define FXD LMT_SOURCE_DIR "/tests/fixtures/models/"

typedef enum { K_CLM, K_MLM, K_S2S } kind;

/* the reference batch of a fixture as int32 (decoder_input_ids for Marian) */
typedef struct { lmt_batch b; int32_t *mem; } batch32;

static int32_t *to_i32(const lmt_tensor_file *ref, const char *name, int32_t **at, size_t *n) {
    const lmt_tensor_entry *e = lmt_tensor_file_find(ref, name);
    if (!e || e->dtype != LMT_I64) return NULL;
    size_t k = e->nbytes / 8;
    int32_t *dst = *at;
    for (size_t i = 0; i < k; i++) dst[i] = (int32_t)((const int64_t *)e->data)[i];
    *at += k;
    *n = k;
    return dst;
}

static bool read_batch(const lmt_tensor_file *ref, batch32 *out) {
    memset(out, 0, sizeof *out);
    size_t total = 0;
    for (size_t i = 0; i < ref->n; i++)
        if (ref->entries[i].dtype == LMT_I64) total += ref->entries[i].nbytes / 8;
    int32_t *at = out->mem = malloc((total ? total : 1) * sizeof(int32_t));
    const lmt_tensor_entry *ids = need(ref, "input_ids", LMT_I64), *lab = need(ref, "labels", LMT_I64);
    if (!at || !ids || !lab || ids->ndim != 2 || lab->ndim != 2) return false;
    size_t n;
    lmt_batch *b = &out->b;
    b->B = (int)ids->shape[0];
    b->T = (int)ids->shape[1];
    b->input_ids = to_i32(ref, "input_ids", &at, &n);
    b->attention_mask = to_i32(ref, "attention_mask", &at, &n);
    b->labels = to_i32(ref, "labels", &at, &n);
    b->token_type_ids = to_i32(ref, "token_type_ids", &at, &n);
    b->decoder_input_ids = to_i32(ref, "decoder_input_ids", &at, &n);
    if (b->decoder_input_ids) b->T_dec = (int)lab->shape[1];
    return true;
}

/* The task of each kind, created and freed alike. */
typedef struct { kind k; lmt_clm_task *clm; lmt_mlm_task *mlm; lmt_seq2seq_task *s2s; lmt_task_model *t; } task;

static lmt_status task_create(kind k, lmt_model *m, const lmt_batch *b, task *t) {
    memset(t, 0, sizeof *t);
    t->k = k;
    lmt_status s;
    switch (k) {
    case K_CLM: s = lmt_clm_task_create(m, b->B, b->T, &t->clm); if (s == LMT_OK) t->t = &t->clm->base; break;
    case K_MLM: s = lmt_mlm_task_create(m, b->B, b->T, &t->mlm); if (s == LMT_OK) t->t = &t->mlm->base; break;
    default: s = lmt_seq2seq_task_create(m, b->B, b->T, b->T_dec, &t->s2s); if (s == LMT_OK) t->t = &t->s2s->base; break;
    }
    return s;
}

static void task_free(task *t) {
    lmt_clm_task_free(t->clm);
    lmt_mlm_task_free(t->mlm);
    lmt_seq2seq_task_free(t->s2s);
}

/* One training step's forward + backward (dropout on, seed 42) twice over:
 * the gradients (the model's, then LoRA's when lora_dropout >= 0), the mean
 * loss and the activation arena's size. */
typedef struct { float *grads; size_t n; double loss; size_t act; } pass;

/* The fixture's model and its reference file (either NULL after a failed check). */
static void open_fixture(const char *name, const char *file, lmt_model **m, lmt_tensor_file **ref) {
    char dir[512], path[700];
    snprintf(dir, sizeof dir, FXD "%s", name);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    *m = NULL;
    *ref = NULL;
    CHECK_OK(lmt_model_load(dir, m));
    CHECK_OK(lmt_safetensors_open(path, ref));
}

static bool run_pass(const char *fixture, kind k, bool ckpt, double lora_dropout, pass *out) {
    memset(out, 0, sizeof *out);
    lmt_model *m;
    lmt_tensor_file *ref;
    batch32 b;
    open_fixture(fixture, "reference.safetensors", &m, &ref);
    bool ok = m && ref && read_batch(ref, &b);
    lmt_lora *lo = NULL;
    task t = {0};
    if (ok) {
        m->gradient_checkpointing = ckpt;
        if (lora_dropout >= 0) {
            lmt_lora_config c;
            lmt_lora_config_default(&c);
            c.dropout = lora_dropout;
            c.r = 4;
            CHECK_OK(lmt_lora_config_set_targets(&c, "all-linear"));
            CHECK_OK(lmt_lora_create(m, &c, 7, "test", &lo));
            lmt_lora_config_free(&c);
            /* B is zero after the init: give it values so the adapters' dropout reaches the gradients */
            for (int i = 0; lo && i < lo->n; i++)
                for (int j = 0; j < lo->ad[i].OC * lo->ad[i].r; j++) lo->ad[i].B[j] = 0.01f * (float)((i + j) % 7 - 3);
        }
        CHECK_OK(task_create(k, m, &b.b, &t));
        ok = t.t != NULL && (lora_dropout < 0 || lo);
        if (ok && lo) CHECK_OK(lmt_lora_attach(lo, t.t->net, (size_t)b.b.B * (b.b.T > b.b.T_dec ? b.b.T : b.b.T_dec)));
    }
    if (ok) {
        CHECK(t.t->net->checkpoint == ckpt);
        out->act = t.t->net->act_floats;
        double loss = 0, l1;
        int64_t items = 0, i1;
        for (int step = 0; step < 2; step++) {   // two steps: the seeds move on as they would without checkpointing
            CHECK_OK(t.t->forward(t.t->self, &b.b, true, 42, &l1, &i1));
            CHECK_OK(t.t->backward(t.t->self, i1 ? 1.0f / (float)i1 : 0.0f));
            loss += l1;
            items += i1;
        }
        out->loss = items ? loss / (double)items : NAN;
        const float *g = lo ? lo->grads : t.t->grads;
        out->n = lo ? lo->num_floats : m->layout.num_floats;
        out->grads = malloc(out->n * sizeof(float));
        if (out->grads) memcpy(out->grads, g, out->n * sizeof(float));
    }
    task_free(&t);
    lmt_lora_free(lo);
    if (ref) free(b.mem);
    lmt_tensor_file_free(ref);
    lmt_model_free(m);
    return ok && out->grads;
}

static void check_same_grads(const char *fixture, kind k, double lora_dropout) {
    pass plain, ck;
    bool a = run_pass(fixture, k, false, lora_dropout, &plain), c = run_pass(fixture, k, true, lora_dropout, &ck);
    if (a && c) {
        CHECK(plain.n == ck.n);
        size_t diff = 0;
        double worst = 0, scale = 0;
        for (size_t i = 0; i < plain.n && i < ck.n; i++) {
            diff += memcmp(&plain.grads[i], &ck.grads[i], 4) != 0;
            worst = fmax(worst, fabs((double)plain.grads[i] - ck.grads[i]));
            scale = fmax(scale, fabs((double)plain.grads[i]));
        }
        CHECK_MSG(diff == 0, "%s: %zu of %zu gradients differ with checkpointing (worst %.3g of %.3g)", fixture, diff,
                  plain.n, worst, scale);
        CHECK_MSG(scale > 0, "%s: all gradients zero", fixture);
        CHECK_MSG(plain.loss == ck.loss, "%s: loss %.9g, with checkpointing %.9g", fixture, plain.loss, ck.loss);
        CHECK_MSG(ck.act < plain.act, "%s: activations %zu floats with checkpointing, %zu without", fixture, ck.act, plain.act);
        printf("%s%s: %zu gradients identical with checkpointing; activations %.1f -> %.1f KiB\n", fixture,
               lora_dropout >= 0 ? " + LoRA dropout" : "", plain.n, plain.act / 256.0, ck.act / 256.0);
    }
    free(plain.grads);
    free(ck.grads);
}

/* transformers with gradient_checkpointing_enable(), train mode. */
static void check_reference(const char *name) {
    char what[128];
    snprintf(what, sizeof what, "%s gradient checkpointing", name);
    lmt_model *m;
    lmt_tensor_file *ref;
    parity_batch b;
    open_fixture(name, "reference_gc.safetensors", &m, &ref);
    if (m && ref && parity_read_batch(ref, &b)) {
        m->gradient_checkpointing = true;
        lmt_llama *l = NULL;
        CHECK_OK(lmt_llama_create(m, b.B, b.T, true, &l));
        if (l) {
            CHECK(l->net.checkpoint && l->h.checkpoint);
            /* the logits of a training forward turn into their gradient: read them from an evaluation one */
            CHECK_OK(lmt_llama_forward(l, LMT_I64, b.ids, b.mask, b.labels, b.B, b.T, false));
            parity_logits_loss(what, ref, l->logits, (size_t)b.B * b.T * l->V, l->net.loss);
            CHECK_OK(lmt_llama_forward(l, LMT_I64, b.ids, b.mask, b.labels, b.B, b.T, true));
            CHECK_OK(lmt_llama_backward(l));
            parity_all_grads(what, ref, &m->layout, l->net.grads);
        }
        lmt_llama_free(l);
    }
    lmt_tensor_file_free(ref);
    lmt_model_free(m);
}

/* Without gradients (evaluation, generation) nothing is recomputed: the option has no effect. */
static void check_inference_unaffected(void) {
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(FXD "smollm2", &m));
    if (!m) return;
    m->gradient_checkpointing = true;
    lmt_llama *l = NULL;
    CHECK_OK(lmt_llama_create(m, 1, 8, false, &l));
    if (l) CHECK(!l->net.checkpoint && !l->h.checkpoint);
    lmt_llama_free(l);
    lmt_model_free(m);
    lmt_training_args a;
    lmt_training_args_default(&a);
    CHECK(!a.gradient_checkpointing);
    CHECK_OK(lmt_training_args_set(&a, "gradient_checkpointing", "true", "test"));
    CHECK(a.gradient_checkpointing);
    char *json = lmt_training_args_to_json(&a);
    CHECK(json && strstr(json, "\"gradient_checkpointing\": true"));
    free(json);
}

int main(void) {
    check_same_grads("llama-gqa", K_CLM, -1);
    check_same_grads("smollm2", K_CLM, -1);
    check_same_grads("gpt2", K_CLM, -1);
    check_same_grads("bert", K_MLM, -1);
    check_same_grads("marian", K_S2S, -1);
    check_same_grads("llama-gqa", K_CLM, 0.1);
    check_same_grads("gpt2", K_CLM, 0.1);
    check_reference("llama-gqa");
    check_reference("smollm2");
    check_inference_unaffected();
    return lmt_test_finish();
}
