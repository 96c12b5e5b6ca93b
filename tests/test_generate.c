/* Generation against transformers: greedy generate() of the tiny GPT-2
 * model (32 new tokens; the prompt in one pass), and the temperature /
 * top-k / top-p warpers on fixed logits. The one-pass prompt against the
 * same tokens one step at a time: the same logits up to rounding, and the
 * same following step; bad prompts refused. */
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "core/json.h"
#include "generate/generate.h"
#include "models/gpt2_decode.h"
#include "models/config.h"
#include <omp.h>

static void check_prefill(lmt_model *m) {
    enum { N = 12 };
    const int V = (int)m->cfg.vocab_size;
    int32_t toks[N];
    for (int i = 0; i < N; i++) toks[i] = (int32_t)((i * 37 + 5) % V);
    lmt_gpt2_kv *a = NULL, *b = NULL;
    CHECK_OK(lmt_gpt2_kv_create(m, N + 1, &a));
    CHECK_OK(lmt_gpt2_kv_create(m, N + 1, &b));
    if (!a || !b) return;
    const float *la = NULL, *lb = NULL;
    CHECK_OK(lmt_gpt2_kv_prefill(a, toks, N, &la));
    for (int i = 0; i < N; i++) CHECK_OK(lmt_gpt2_kv_step(b, toks[i], &lb));
    CHECK(lmt_gpt2_kv_length(a) == N && lmt_gpt2_kv_length(b) == N);
    for (int round = 0; round < 2; round++) {
        double scale = 0, worst = 0;
        for (int v = 0; v < V; v++) {
            scale = fmax(scale, fabs(lb[v]));
            worst = fmax(worst, fabs(la[v] - lb[v]));
        }
        CHECK_MSG(worst <= 1e-5 * scale, "prefill vs steps (%s): worst logit difference %.3g of %.3g",
                  round ? "the next step" : "the prompt's last token", worst, scale);
        if (round == 0) {   /* the step after: reads the cache the prompt filled */
            CHECK_OK(lmt_gpt2_kv_step(a, 3, &la));
            CHECK_OK(lmt_gpt2_kv_step(b, 3, &lb));
        }
    }
    int32_t bad[2] = {1, V};
    CHECK(lmt_gpt2_kv_prefill(a, toks, 1, &la) == LMT_ERR_ARG);   /* past max_len */
    lmt_gpt2_kv_free(a);
    CHECK_OK(lmt_gpt2_kv_create(m, N, &a));
    CHECK(lmt_gpt2_kv_prefill(a, bad, 2, &la) == LMT_ERR_ARG && lmt_gpt2_kv_length(a) == 0);
    CHECK(lmt_gpt2_kv_prefill(a, toks, 0, &la) == LMT_ERR_ARG);
    CHECK(lmt_gpt2_kv_prefill(a, toks, N + 1, &la) == LMT_ERR_ARG);
    lmt_gpt2_kv_free(a);
    lmt_gpt2_kv_free(b);
}

/* Long caches split the attention's heads between threads: the logits do not
 * depend on the thread count (the demo GPT-2, 128 wide, 120-token prompt). */
static void check_threads(void) {
    lmt_config cfg;
    lmt_model *m = NULL;
    CHECK_OK(lmt_config_load(LMT_SOURCE_DIR "/examples/gpt2-demo/config.json", &cfg));
    CHECK_OK(lmt_model_init(&cfg, 3, &m));
    if (!m) return;
    enum { N = 120, STEPS = 5 };
    const int V = (int)m->cfg.vocab_size;
    int32_t toks[N];
    for (int i = 0; i < N; i++) toks[i] = (int32_t)((i * 7919 + 11) % V);
    float *logits[2] = {malloc((size_t)V * STEPS * sizeof(float)), malloc((size_t)V * STEPS * sizeof(float))};
    int saved = omp_get_max_threads();
    for (int run = 0; run < 2; run++) {
        omp_set_num_threads(run ? 2 : 1);
        lmt_gpt2_kv *kv = NULL;
        CHECK_OK(lmt_gpt2_kv_create(m, N + STEPS, &kv));
        if (!kv) break;
        const float *l = NULL;
        CHECK_OK(lmt_gpt2_kv_prefill(kv, toks, N, &l));
        for (int s = 0; s < STEPS; s++) {
            memcpy(logits[run] + (size_t)s * V, l, (size_t)V * sizeof(float));
            if (s + 1 < STEPS) CHECK_OK(lmt_gpt2_kv_step(kv, (int32_t)(s * 13 % V), &l));
        }
        lmt_gpt2_kv_free(kv);
    }
    omp_set_num_threads(saved);
    CHECK_MSG(!memcmp(logits[0], logits[1], (size_t)V * STEPS * sizeof(float)), "decoding on 1 and 2 threads differs");
    free(logits[0]);
    free(logits[1]);
    lmt_model_free(m);
}

int main(void) {
    lmt_json *ref = NULL;
    CHECK_OK(lmt_json_parse_file(LMT_SOURCE_DIR "/tests/fixtures/generate/reference.json", &ref));
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(LMT_SOURCE_DIR "/tests/fixtures/generate/model", &m));
    if (!ref || !m) return lmt_test_finish();
    const lmt_json *greedy = lmt_json_get(ref, "greedy");
    for (size_t c = 0; c < greedy->len; c++) {
        const lmt_json *p = lmt_json_get(&greedy->items[c], "prompt"), *w = lmt_json_get(&greedy->items[c], "output");
        int32_t prompt[16];
        for (size_t i = 0; i < p->len; i++) prompt[i] = (int32_t)p->items[i].i64;
        lmt_gen_opts o = lmt_gen_opts_default();
        o.max_new_tokens = 32;
        int32_t *out = NULL;
        int n = 0;
        CHECK_OK(lmt_generate(m, prompt, (int)p->len, &o, &out, &n));
        bool same = out && (size_t)n == w->len;
        for (int i = 0; same && i < n; i++) same = out[i] == w->items[i].i64;
        CHECK_MSG(same, "greedy case %zu differs from transformers' generate()", c);
        free(out);
    }
    const lmt_json *logits = lmt_json_get(ref, "logits"), *warps = lmt_json_get(ref, "warpers");
    for (size_t c = 0; c < warps->len; c++) {
        const lmt_json *w = &warps->items[c];
        float x[96];
        for (int i = 0; i < 96; i++) x[i] = (float)logits->items[i].num;
        lmt_logits_warp(x, 96, lmt_json_get(w, "temperature")->num, (int)lmt_json_get(w, "top_k")->i64, lmt_json_get(w, "top_p")->num);
        const lmt_json *want = lmt_json_get(w, "output");
        int bad = 0;
        for (int i = 0; i < 96; i++) {
            bool want_inf = want->items[i].type == LMT_JSON_NULL;
            if (want_inf != (isinf(x[i]) != 0) || (!want_inf && fabs(x[i] - want->items[i].num) > 1e-5 * fabs(want->items[i].num) + 1e-6)) bad++;
        }
        CHECK_MSG(bad == 0, "warper case %zu: %d logits differ", c, bad);
    }
    check_prefill(m);
    check_threads();
    lmt_gen_opts o = lmt_gen_opts_default();
    int32_t *out;
    int n;
    CHECK(lmt_generate(m, NULL, 0, &o, &out, &n) == LMT_ERR_ARG);
    lmt_model_free(m);
    lmt_json_free(ref);
    return lmt_test_finish();
}
