/* Generation with transformers' semantics on a tiny Llama
 * (tests/fixtures/llama-gen, tools/reference/make_llama_gen_fixtures.py):
 * generate() token for token on a left-padded batch of three prompts,
 * greedy, with generation_config.json's several EOS ids (rows finish apart,
 * pads after), repetition_penalty, no_repeat_ngram_size and both; the logits
 * processors (repetition penalty, no-repeat-ngram, temperature, top-k,
 * top-p, min-p) in generate()'s order on fixed scores, after each one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "core/json.h"
#include "generate/generate.h"
#include "models/model.h"

#define FXD LMT_SOURCE_DIR "/tests/fixtures/llama-gen/"

static int read_ids(const lmt_json *a, int32_t *dst, int cap) {
    int n = 0;
    for (size_t i = 0; a && i < a->len && n < cap; i++) dst[n++] = (int32_t)a->items[i].i64;
    return n;
}

static double num_or(const lmt_json *c, const char *k, double def) {
    const lmt_json *x = lmt_json_get(c, k);
    return x ? x->num : def;
}

static void check_case(lmt_model *m, const lmt_json *ref, const char *name, bool model_defaults) {
    const lmt_json *c = lmt_json_get(ref, name), *prompts = lmt_json_get(ref, "prompts");
    if (!c || !prompts) { CHECK_MSG(0, "%s: not in the reference", name); return; }
    lmt_gen_opts o = model_defaults ? lmt_gen_opts_from_model(m) : lmt_gen_opts_default();
    if (!model_defaults) o.pad_token_id = (int32_t)lmt_json_get(ref, "pad_token_id")->i64;
    o.max_new_tokens = (int)lmt_json_get(c, "max_new_tokens")->i64;
    o.repetition_penalty = num_or(c, "repetition_penalty", 1.0);
    o.no_repeat_ngram_size = (int)num_or(c, "no_repeat_ngram_size", 0);
    const lmt_json *want = lmt_json_get(c, "output");
    int B = (int)want->len;
    int32_t buf[8][32];
    const int32_t *ps[8];
    int lens[8];
    for (int b = 0; b < B; b++) { lens[b] = read_ids(&prompts->items[b], buf[b], 32); ps[b] = buf[b]; }
    int32_t *out = NULL;
    int w = 0;
    CHECK_OK(lmt_generate_batch(m, ps, lens, B, &o, &out, &w));
    bool same = out && (size_t)w == want->items[0].len;
    for (int b = 0; same && b < B; b++)
        for (int i = 0; same && i < w; i++) same = out[(size_t)b * w + i] == want->items[b].items[i].i64;
    CHECK_MSG(same, "%s: generate() output differs from transformers' (width %d vs %zu)", name, w, want->items[0].len);
    if (!same && out)
        for (int b = 0; b < B; b++) {
            fprintf(stderr, "  row %d:", b);
            for (int i = 0; i < w; i++) fprintf(stderr, " %d", out[(size_t)b * w + i]);
            fprintf(stderr, "\n");
        }
    free(out);
}

static void check_processors(const lmt_json *ref) {
    const lmt_json *ids = lmt_json_get(ref, "proc_ids"), *mask = lmt_json_get(ref, "proc_mask"), *logits = lmt_json_get(ref, "proc_logits");
    const lmt_json *cases = lmt_json_get(ref, "processors");
    if (!ids || !mask || !logits || !cases) { CHECK_MSG(0, "no processor reference"); return; }
    int V = (int)logits->items[0].len;
    float *x = malloc((size_t)V * sizeof *x);
    for (size_t c = 0; c < cases->len; c++) {
        const lmt_json *p = lmt_json_get(&cases->items[c], "params"), *steps = lmt_json_get(&cases->items[c], "steps");
        double rp = num_or(p, "repetition_penalty", 1.0), temp = num_or(p, "temperature", 1.0), top_p = num_or(p, "top_p", 1.0),
               min_p = num_or(p, "min_p", 0);
        int ngram = (int)num_or(p, "no_repeat_ngram_size", 0), top_k = (int)num_or(p, "top_k", 0);
        for (size_t r = 0; r < ids->len; r++) {
            int32_t row[32];
            int n = read_ids(&ids->items[r], row, 32), pad = 0;
            while (pad < n && mask->items[r].items[pad].i64 == 0) pad++;
            for (int v = 0; v < V; v++) x[v] = (float)logits->items[r].items[v].num;
            /* the stages in generate()'s order, each compared with transformers' scores after it */
            int stage = 0, bad = 0;
            for (int k = 0; k < 6; k++) {
                bool on = true;
                switch (k) {
                case 0: on = rp != 1.0; if (on) lmt_logits_penalize(x, V, row, n, pad, rp, 0); break;
                case 1: on = ngram > 0; if (on) lmt_logits_penalize(x, V, row, n, pad, 1.0, ngram); break;
                case 2: on = temp != 1.0; if (on) lmt_logits_warp(x, V, temp, 0, 1.0); break;
                case 3: on = top_k > 0; if (on) lmt_logits_warp(x, V, 1.0, top_k, 1.0); break;
                case 4: on = top_p < 1.0; if (on) lmt_logits_warp(x, V, 1.0, 0, top_p); break;
                case 5: on = min_p > 0; if (on) lmt_logits_warp_min_p(x, V, min_p); break;
                }
                if (!on) continue;
                const lmt_json *want = &steps->items[stage++].items[r];
                for (int v = 0; v < V; v++) {
                    bool want_inf = want->items[v].type == LMT_JSON_NULL;
                    if (want_inf != (isinf(x[v]) != 0) || (!want_inf && fabs(x[v] - want->items[v].num) > 1e-6 * fmax(1.0, fabs(want->items[v].num)))) bad++;
                }
                CHECK_MSG(bad == 0, "processor case %zu row %zu, stage %d: %d scores differ", c, r, k, bad);
                if (bad) break;
            }
            CHECK(stage == (int)steps->len);
        }
    }
    free(x);
}

static void check_defaults(lmt_model *m) {
    lmt_gen_opts o = lmt_gen_opts_from_model(m);
    CHECK(o.n_eos == 3 && o.eos_ids[0] == 3 && o.pad_token_id == 1 && o.top_k == 50 && !o.do_sample);
    int32_t p[1] = {5};
    int32_t *out = NULL;
    int w = 0;
    o.repetition_penalty = 0;
    CHECK(lmt_generate(m, p, 1, &o, &out, &w) == LMT_ERR_ARG);
    o.repetition_penalty = 1;
    const int32_t *ps[1] = {p};
    int lens[1] = {0};
    CHECK(lmt_generate_batch(m, ps, lens, 1, &o, &out, &w) == LMT_ERR_ARG);
}

int main(void) {
    lmt_json *ref = NULL;
    CHECK_OK(lmt_json_parse_file(FXD "reference.json", &ref));
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(FXD "fp32-sharded", &m));
    if (!ref || !m) return lmt_test_finish();
    check_case(m, ref, "greedy", false);
    check_case(m, ref, "greedy_eos", true);
    check_case(m, ref, "repetition_penalty", false);
    check_case(m, ref, "no_repeat_ngram", false);
    check_case(m, ref, "both", false);
    check_processors(ref);
    check_defaults(m);
    lmt_model_free(m);
    lmt_json_free(ref);
    return lmt_test_finish();
}
