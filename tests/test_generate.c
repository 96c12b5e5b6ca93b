/* Generation against transformers: greedy generate() of the tiny GPT-2
 * model (32 new tokens), and the temperature / top-k / top-p warpers on fixed logits. */
#include <stdlib.h>
#include "harness.h"
#include "core/json.h"
#include "generate/generate.h"

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
    lmt_gen_opts o = lmt_gen_opts_default();
    int32_t *out;
    int n;
    CHECK(lmt_generate(m, NULL, 0, &o, &out, &n) == LMT_ERR_ARG);
    lmt_model_free(m);
    lmt_json_free(ref);
    return lmt_test_finish();
}
