#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/json.h"
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
    o.pad_token_id = -1;
    o.repetition_penalty = 1.0;
    return o;
}

static bool json_int(const lmt_json *j, const char *key, int64_t *v) {
    const lmt_json *x = lmt_json_get(j, key);
    if (!x || x->type != LMT_JSON_NUMBER || !x->is_int) return false;
    *v = x->i64;
    return true;
}

static bool json_num(const lmt_json *j, const char *key, double *v) {
    const lmt_json *x = lmt_json_get(j, key);
    if (!x || x->type != LMT_JSON_NUMBER) return false;
    *v = x->num;
    return true;
}

lmt_gen_opts lmt_gen_opts_from_model(const lmt_model *m) {
    lmt_gen_opts o = lmt_gen_opts_default();
    o.top_k = 50;
    o.eos_token_id = (int32_t)m->cfg.eos_token_id;
    const lmt_json *g = m->generation_config, *x;
    int64_t v;
    if (json_int(m->cfg.raw, "pad_token_id", &v)) o.pad_token_id = (int32_t)v;
    if (!g) return o;
    if ((x = lmt_json_get(g, "eos_token_id"))) {
        if (x->type == LMT_JSON_NUMBER && x->is_int) o.eos_token_id = (int32_t)x->i64;
        else if (x->type == LMT_JSON_ARRAY) {
            o.eos_token_id = -1;
            for (size_t i = 0; i < x->len && o.n_eos < LMT_GEN_MAX_EOS; i++)
                if (x->items[i].type == LMT_JSON_NUMBER && x->items[i].is_int) o.eos_ids[o.n_eos++] = (int32_t)x->items[i].i64;
        } else if (x->type == LMT_JSON_NULL) o.eos_token_id = -1;
    }
    if (json_int(g, "pad_token_id", &v)) o.pad_token_id = (int32_t)v;
    if ((x = lmt_json_get(g, "do_sample")) && x->type == LMT_JSON_BOOL) o.do_sample = x->boolean;
    if (json_int(g, "top_k", &v)) o.top_k = (int)v;
    if (json_int(g, "max_new_tokens", &v)) o.max_new_tokens = (int)v;
    if (json_int(g, "no_repeat_ngram_size", &v)) o.no_repeat_ngram_size = (int)v;
    json_num(g, "temperature", &o.temperature);
    json_num(g, "top_p", &o.top_p);
    json_num(g, "min_p", &o.min_p);
    json_num(g, "repetition_penalty", &o.repetition_penalty);
    return o;
}

static bool is_eos(const lmt_gen_opts *o, int32_t t) {
    if (t == o->eos_token_id) return true;
    for (int i = 0; i < o->n_eos; i++) if (o->eos_ids[i] == t) return true;
    return false;
}

void lmt_logits_warp_min_p(float *logits, int V, double min_p) {
    if (!(min_p > 0)) return;
    float mx = -INFINITY;
    for (int i = 0; i < V; i++) if (logits[i] > mx) mx = logits[i];
    if (mx == -INFINITY) return;
    /* probs < min_p * top_prob  <=>  exp(x - mx) < min_p (the top one's is 1); the top token stays */
    int top = 0;
    for (int i = 0; i < V; i++) if (logits[i] == mx) { top = i; break; }
    double z = 0;
    for (int i = 0; i < V; i++) z += exp((double)logits[i] - mx);
    float ptop = (float)(1.0 / z), thr = (float)(min_p * (double)ptop);
    for (int i = 0; i < V; i++)
        if (i != top && (float)(exp((double)logits[i] - mx) / z) < thr) logits[i] = -INFINITY;
}

void lmt_logits_penalize(float *logits, int V, const int32_t *ids, int n, int n_pad, double penalty, int ngram) {
    if (penalty != 1.0) {
        /* each distinct token once: gather, scale, scatter */
        for (int i = n_pad; i < n; i++) {
            int32_t t = ids[i];
            if (t < 0 || t >= V) continue;
            bool seen = false;
            for (int k = n_pad; k < i && !seen; k++) seen = ids[k] == t;
            if (seen) continue;
            float x = logits[t];
            logits[t] = x < 0 ? x * (float)penalty : x / (float)penalty;
        }
    }
    if (ngram > 0 && n >= ngram) {
        /* the last ngram-1 tokens as a prefix: each earlier window with that prefix bans its last token */
        const int32_t *prefix = ids + n + 1 - ngram;
        for (int i = 0; i + ngram <= n; i++) {
            if (memcmp(ids + i, prefix, (size_t)(ngram - 1) * sizeof *ids)) continue;
            int32_t t = ids[i + ngram - 1];
            if (t >= 0 && t < V) logits[t] = -INFINITY;
        }
    }
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

lmt_status lmt_generate_batch(lmt_model *m, const int32_t *const *prompts, const int *lens, int B, const lmt_gen_opts *o,
                              int32_t **out, int *width) {
    *out = NULL;
    *width = 0;
    if (m->cfg.arch != LMT_ARCH_GPT2 && !lmt_arch_is_llama(m->cfg.arch))
        return lmt_fail(LMT_ERR_UNSUPPORTED, "generation is implemented for GPT-2 and Llama-family models (got %s)", lmt_arch_class_name(m->cfg.arch));
    if (B < 1) return lmt_fail(LMT_ERR_ARG, "no prompts");
    if (o->max_new_tokens < 0) return lmt_fail(LMT_ERR_ARG, "max_new_tokens must be >= 0");
    if (!(o->repetition_penalty > 0)) return lmt_fail(LMT_ERR_ARG, "repetition_penalty %g must be > 0", o->repetition_penalty);
    if (o->no_repeat_ngram_size < 0 || o->min_p < 0 || o->min_p > 1)
        return lmt_fail(LMT_ERR_ARG, "no_repeat_ngram_size must be >= 0 and min_p in [0, 1]");
    if (B > 1 && m->cfg.arch == LMT_ARCH_GPT2)
        return lmt_fail(LMT_ERR_UNSUPPORTED, "batched prompts: GPT-2's positions need position_ids from the attention mask, which lmtune implements for the Llama family");
    int P = 0;
    for (int b = 0; b < B; b++) {
        if (lens[b] < 1) return lmt_fail(LMT_ERR_ARG, "prompt %d is empty", b);
        if (lens[b] > P) P = lens[b];
    }
    int total = P + o->max_new_tokens;
    if (P > m->cfg.max_positions) return lmt_fail(LMT_ERR_ARG, "the prompt (%d tokens) is longer than the model's %lld positions", P, (long long)m->cfg.max_positions);
    if (total > m->cfg.max_positions) total = (int)m->cfg.max_positions;
    int32_t pad = o->pad_token_id >= 0 ? o->pad_token_id : o->eos_token_id >= 0 ? o->eos_token_id : o->n_eos ? o->eos_ids[0] : 0;
    int V = (int)m->cfg.vocab_size;
    int32_t *seq = malloc((size_t)B * total * sizeof *seq);
    float *row = malloc((size_t)V * sizeof *row);
    lmt_gpt2_kv **kv = calloc((size_t)B, sizeof *kv);
    const float **logits = calloc((size_t)B, sizeof *logits);
    bool *done = calloc((size_t)B, sizeof *done);
    lmt_status s = (!seq || !row || !kv || !logits || !done) ? lmt_fail(LMT_ERR_NOMEM, "out of memory") : LMT_OK;
    for (int b = 0; b < B && s == LMT_OK; b++) {
        int32_t *r = seq + (size_t)b * total;
        for (int i = 0; i < P - lens[b]; i++) r[i] = pad;
        memcpy(r + P - lens[b], prompts[b], (size_t)lens[b] * sizeof *r);
        /* each row without its pads: position 0 at its first token (cumsum(mask) - 1), pads never attended */
        s = lmt_gpt2_kv_create(m, total - (P - lens[b]), &kv[b]);
        if (s == LMT_OK) s = lmt_gpt2_kv_prefill(kv[b], prompts[b], lens[b], &logits[b]);
    }
    lmt_rng rng;
    lmt_rng_seed(&rng, o->seed);
    int n = P;
    while (s == LMT_OK && n < total) {
        bool all_done = true;
        for (int b = 0; b < B; b++) {
            int32_t *r = seq + (size_t)b * total, next = pad;
            if (!done[b]) {
                memcpy(row, logits[b], (size_t)V * sizeof *row);
                lmt_logits_penalize(row, V, r, n, P - lens[b], o->repetition_penalty, o->no_repeat_ngram_size);
                if (o->do_sample) {
                    lmt_logits_warp(row, V, o->temperature, o->top_k, o->top_p);
                    lmt_logits_warp_min_p(row, V, o->min_p);
                    next = sample(row, V, &rng);
                } else {
                    next = argmax(row, V);
                }
            }
            r[n] = next;
            if (!done[b] && is_eos(o, next)) done[b] = true;
            all_done &= done[b];
        }
        n++;
        if (all_done || n == total) break;
        for (int b = 0; b < B && s == LMT_OK; b++)
            if (!done[b]) s = lmt_gpt2_kv_step(kv[b], seq[(size_t)b * total + n - 1], &logits[b]);
    }
    for (int b = 0; kv && b < B; b++) lmt_gpt2_kv_free(kv[b]);
    free(kv);
    free(logits);
    free(done);
    free(row);
    if (s != LMT_OK) { free(seq); return s; }
    if (n < total)   /* rows of n tokens */
        for (int b = 1; b < B; b++) memmove(seq + (size_t)b * n, seq + (size_t)b * total, (size_t)n * sizeof *seq);
    *out = seq;
    *width = n;
    return LMT_OK;
}

lmt_status lmt_generate(lmt_model *m, const int32_t *prompt, int n_prompt, const lmt_gen_opts *o, int32_t **out, int *n_out) {
    *out = NULL;
    *n_out = 0;
    if (n_prompt < 1) return lmt_fail(LMT_ERR_ARG, "the prompt is empty");
    return lmt_generate_batch(m, &prompt, &n_prompt, 1, o, out, n_out);
}
