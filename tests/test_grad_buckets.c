/* The overlapped all-reduce's buckets (train/grad_buckets.h) on the real
 * layouts of the fixtures (GPT-2, the Llama family, BERT, Marian's two
 * stacks, a LoRA adapter's buffer): every layer's tensors lie in spans of
 * that layer; while the backward runs, only layers it has finished are
 * handed over; after it, the spans cover the buffer exactly once; adjacent
 * layers merge up to the cap. */
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "models/lora.h"
#include "models/model.h"
#include "train/grad_buckets.h"

#define FXM LMT_SOURCE_DIR "/tests/fixtures/models"

static struct { size_t off, n; } pushed[4096];
static size_t n_pushed;
static void record(size_t off, size_t n) {
    if (n_pushed < sizeof pushed / sizeof *pushed) pushed[n_pushed].off = off, pushed[n_pushed].n = n;
    n_pushed++;
}

static int by_off(const void *a, const void *b) {
    size_t x = ((const size_t *)a)[0], y = ((const size_t *)b)[0];
    return x < y ? -1 : x > y;
}

/* The (stack, layer) of the tensor at float offset `at`, or layer -1. */
static void owner(const lmt_layout *l, size_t at, int *stack, int *layer) {
    *stack = *layer = -1;
    for (size_t i = 0; i < l->n_params; i++)
        if (at >= l->params[i].offset && at < l->params[i].offset + l->params[i].numel) {
            *stack = lmt_grad_buckets_stack(l->params[i].slot.stack);
            *layer = l->params[i].slot.layer;
            return;
        }
}

/* during: buckets sent during the backward, at least (one float per bucket) or at most (25 MB: one per
 * stack but the first, on these tiny models) */
static void check_layout(const char *what, const lmt_layout *l, double cap_mb, bool one_float, size_t during_max) {
    lmt_grad_buckets b;
    CHECK_OK(lmt_grad_buckets_plan(l, cap_mb, &b));
    b.push = record;
    /* every layer tensor inside a span of its layer */
    for (size_t i = 0; i < l->n_params; i++) {
        const lmt_param_spec *p = &l->params[i];
        if (p->slot.layer < 0 || !p->numel) continue;
        bool in = false;
        for (size_t k = 0; k < b.n_layer && !in; k++)
            in = b.layer_spans[k].stack == lmt_grad_buckets_stack(p->slot.stack) && b.layer_spans[k].layer == p->slot.layer &&
                 p->offset >= b.layer_spans[k].off && p->offset + p->numel <= b.layer_spans[k].off + b.layer_spans[k].n;
        CHECK_MSG(in, "%s: %s is in no span of its layer", what, p->name);
    }
    CHECK_MSG(b.n_layer > 0, "%s: no layer spans", what);
    /* the backward: layers in the reverse of buffer order (each stack last layer first) */
    n_pushed = 0;
    lmt_grad_buckets_reset(&b);
    bool *done = calloc(b.n_layer, sizeof *done);
    size_t during = 0;
    for (size_t k = b.n_layer; k-- > 0;) {
        int st = b.layer_spans[k].stack, ly = b.layer_spans[k].layer;   /* the backward: last layer first */
        bool seen = false;
        for (size_t j = k + 1; j < b.n_layer; j++) seen |= b.layer_spans[j].stack == st && b.layer_spans[j].layer == ly;
        if (seen) continue;
        lmt_grad_buckets_layer_done(&b, st, ly);
        for (size_t j = 0; j < b.n_layer; j++) done[j] |= b.layer_spans[j].stack == st && b.layer_spans[j].layer == ly;
        /* everything handed over so far belongs to finished layers */
        for (size_t q = during; q < n_pushed && q < 4096; q++)
            for (size_t at = pushed[q].off; at < pushed[q].off + pushed[q].n; at += 97) {
                int s2, l2;
                owner(l, at, &s2, &l2);
                bool fin = false;
                for (size_t j = 0; j < b.n_layer && !fin; j++) fin = done[j] && b.layer_spans[j].stack == s2 && b.layer_spans[j].layer == l2;
                CHECK_MSG(l2 < 0 || fin, "%s: float %zu (stack %d layer %d) sent before its layer's backward", what, at, s2, l2);
            }
        during = n_pushed;
    }
    size_t before_finish = n_pushed;
    lmt_grad_buckets_finish(&b);
    CHECK_MSG(one_float ? before_finish >= b.n_layer : before_finish <= during_max, "%s: %zu buckets sent during the backward",
              what, before_finish);
    /* exactly once over [0, num_floats) */
    CHECK(n_pushed <= 4096);
    size_t (*sp)[2] = malloc((n_pushed ? n_pushed : 1) * sizeof *sp);
    for (size_t q = 0; q < n_pushed && q < 4096; q++) sp[q][0] = pushed[q].off, sp[q][1] = pushed[q].n;
    qsort(sp, n_pushed, sizeof *sp, by_off);
    size_t at = 0;
    bool tiled = true;
    for (size_t q = 0; q < n_pushed; q++) {
        tiled &= sp[q][0] == at && sp[q][1] > 0;
        at = sp[q][0] + sp[q][1];
    }
    CHECK_MSG(tiled && at == l->num_floats && b.pushed == l->num_floats, "%s: the spans do not tile the %zu floats", what,
              l->num_floats);
    /* a bucket is one span or adjacent layers merged: never over the cap by more than its last span */
    size_t cap = b.cap, biggest_layer = 0;
    for (size_t k = 0; k < b.n_layer; k++) biggest_layer = b.layer_spans[k].n > biggest_layer ? b.layer_spans[k].n : biggest_layer;
    for (size_t q = 0; q < before_finish && q < 4096; q++)
        CHECK_MSG(pushed[q].n < cap + biggest_layer, "%s: a bucket of %zu floats (cap %zu)", what, pushed[q].n, cap);
    printf("%s: %zu layer spans, %zu rest spans, %zu buckets during the backward, %zu after\n", what, b.n_layer, b.n_rest,
           before_finish, n_pushed - before_finish);
    free(sp);
    free(done);
    lmt_grad_buckets_free(&b);
}

static void check_model(const char *dir, const char *name, size_t stacks) {
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(dir, &m));
    if (!m) return;
    char what[128];
    snprintf(what, sizeof what, "%s, one float per bucket", name);
    check_layout(what, &m->layout, 1e-9, true, 0);
    snprintf(what, sizeof what, "%s, 25 MB buckets", name);
    check_layout(what, &m->layout, 25, false, stacks - 1);
    lmt_model_free(m);
}

int main(void) {
    check_model(FXM "/gpt2", "gpt2", 1);
    check_model(FXM "/llama-gqa", "llama (GQA)", 1);
    check_model(FXM "/qwen2", "qwen2 (biases)", 1);
    check_model(FXM "/bert", "bert", 1);
    check_model(FXM "/marian", "marian (encoder + decoder)", 2);
    /* LoRA: the adapters' A and B by layer, the trained bias copies in the rest */
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(FXM "/gpt2", &m));
    if (m) {
        lmt_lora_config c;
        lmt_lora_config_default(&c);
        CHECK_OK(lmt_lora_config_set_targets(&c, "c_attn,c_fc"));
        c.bias = LMT_LORA_BIAS_ALL;
        lmt_lora *l = NULL;
        CHECK_OK(lmt_lora_create(m, &c, 0, "test", &l));
        if (l) {
            check_layout("gpt2 + LoRA (bias all)", &l->layout, 1e-9, true, 0);
            lmt_grad_buckets b;
            CHECK_OK(lmt_grad_buckets_plan(&l->layout, 1e-9, &b));
            CHECK_MSG(b.n_layer == (size_t)m->cfg.n_layer, "LoRA: %zu layer spans for %lld layers", b.n_layer, (long long)m->cfg.n_layer);
            lmt_grad_buckets_free(&b);
        }
        lmt_lora_free(l);
        lmt_lora_config_free(&c);
        lmt_model_free(m);
    }
    return lmt_test_finish();
}
