#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/rng.h"
#include "generate/generate.h"
#include "models/gpt2_decode.h"

lmt_gen_opts lmt_gen_opts_default(void) {
    lmt_gen_opts o;
    memset(&o, 0, sizeof o);
    o.max_new_tokens = 20;
    o.temperature = 1.0;
    o.top_p = 1.0;
    o.seed = 42;
    o.eos_token_id = -1;
    return o;
}

static int cmp_desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

typedef struct { float v; int i; } vi;
static int cmp_vi_asc(const void *a, const void *b) {
    const vi *x = a, *y = b;
    if (x->v < y->v) return -1;
    if (x->v > y->v) return 1;
    return x->i - y->i;
}

void lmt_logits_warp(float *logits, int V, double temperature, int top_k, double top_p) {
    if (temperature > 0 && temperature != 1.0)
        for (int i = 0; i < V; i++) logits[i] = (float)(logits[i] / temperature);
    if (top_k > 0 && top_k < V) {
        float *tmp = malloc((size_t)V * sizeof *tmp);
        if (tmp) {
            memcpy(tmp, logits, (size_t)V * sizeof *tmp);
            qsort(tmp, (size_t)V, sizeof *tmp, cmp_desc);
            float kth = tmp[top_k - 1];
            for (int i = 0; i < V; i++) if (logits[i] < kth) logits[i] = -INFINITY;
            free(tmp);
        }
    }
    if (top_p < 1.0) {
        /* sort ascending; drop the tokens whose cumulative probability is <= 1 - top_p (keep the last one) */
        vi *s = malloc((size_t)V * sizeof *s);
        if (!s) return;
        float mx = -INFINITY;
        for (int i = 0; i < V; i++) { s[i].v = logits[i]; s[i].i = i; if (logits[i] > mx) mx = logits[i]; }
        qsort(s, (size_t)V, sizeof *s, cmp_vi_asc);
        double z = 0;
        for (int i = 0; i < V; i++) z += s[i].v == -INFINITY ? 0 : exp((double)s[i].v - mx);
        double cum = 0;
        for (int i = 0; i < V - 1; i++) {
            cum += s[i].v == -INFINITY ? 0 : exp((double)s[i].v - mx) / z;
            if (cum <= 1.0 - top_p) logits[s[i].i] = -INFINITY;
        }
        free(s);
    }
}

static int32_t argmax(const float *x, int V) {
    int32_t best = 0;
    for (int i = 1; i < V; i++) if (x[i] > x[best]) best = i;   /* first maximum, as torch.argmax */
    return best;
}

static int32_t sample(const float *x, int V, lmt_rng *r) {
    float mx = -INFINITY;
    for (int i = 0; i < V; i++) if (x[i] > mx) mx = x[i];
    double z = 0;
    for (int i = 0; i < V; i++) z += x[i] == -INFINITY ? 0 : exp((double)x[i] - mx);
    double u = lmt_rng_uniform(r) * z, c = 0;
    for (int i = 0; i < V; i++) {
        c += x[i] == -INFINITY ? 0 : exp((double)x[i] - mx);
        if (u < c) return i;
    }
    return argmax(x, V);
}

lmt_status lmt_generate(lmt_model *m, const int32_t *prompt, int n_prompt, const lmt_gen_opts *o, int32_t **out, int *n_out) {
    *out = NULL;
    *n_out = 0;
    if (m->cfg.arch != LMT_ARCH_GPT2 && !lmt_arch_is_llama(m->cfg.arch))
        return lmt_fail(LMT_ERR_UNSUPPORTED, "generation is implemented for GPT-2 and Llama-family models (got %s)", lmt_arch_class_name(m->cfg.arch));
    if (n_prompt < 1) return lmt_fail(LMT_ERR_ARG, "the prompt is empty");
    if (o->max_new_tokens < 0) return lmt_fail(LMT_ERR_ARG, "max_new_tokens must be >= 0");
    int total = n_prompt + o->max_new_tokens;
    if (total > m->cfg.max_positions) total = (int)m->cfg.max_positions;
    if (n_prompt > total) return lmt_fail(LMT_ERR_ARG, "the prompt (%d tokens) is longer than the model's %lld positions", n_prompt, (long long)m->cfg.max_positions);
    int V = (int)m->cfg.vocab_size;
    int32_t *seq = malloc((size_t)total * sizeof *seq);
    float *row = malloc((size_t)V * sizeof *row);
    lmt_gpt2_kv *kv = NULL;
    lmt_status s = (!seq || !row) ? lmt_fail(LMT_ERR_NOMEM, "out of memory") : lmt_gpt2_kv_create(m, total, &kv);
    if (s != LMT_OK) { free(seq); free(row); return s; }
    memcpy(seq, prompt, (size_t)n_prompt * sizeof *seq);
    int n = n_prompt;
    lmt_rng r;
    lmt_rng_seed(&r, o->seed);
    const float *logits = NULL;
    /* the prompt fills the key/value cache in one pass; then one token per step */
    s = lmt_gpt2_kv_prefill(kv, seq, n_prompt, &logits);
    while (s == LMT_OK && n < total) {
        memcpy(row, logits, (size_t)V * sizeof *row);
        int32_t next;
        if (o->do_sample) {
            lmt_logits_warp(row, V, o->temperature, o->top_k, o->top_p);
            next = sample(row, V, &r);
        } else {
            next = argmax(row, V);
        }
        seq[n++] = next;
        if (next == o->eos_token_id || n == total) break;
        s = lmt_gpt2_kv_step(kv, next, &logits);
    }
    lmt_gpt2_kv_free(kv);
    free(row);
    if (s != LMT_OK) { free(seq); return s; }
    *out = seq;
    *n_out = n;
    return LMT_OK;
}
