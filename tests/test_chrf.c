/* chrF / chrF++ against sacrebleu 2.6.0 CHRF, on the corpora written by
 * tools/reference/make_bleu_fixtures.py. */
#include "harness.h"
#include <stdlib.h>
#include "eval/chrf.h"
#include "core/json.h"

#define FIX LMT_SOURCE_DIR "/tests/fixtures/bleu/bleu.json"

static const char **strings(const lmt_json *arr) {
    const char **v = calloc(arr->len ? arr->len : 1, sizeof *v);
    for (size_t i = 0; v && i < arr->len; i++) /* "" explicitly: core may leave it unterminated */
        v[i] = arr->items[i].type != LMT_JSON_STRING ? NULL : arr->items[i].len ? arr->items[i].str : "";
    return v;
}

static void test_errors(void) {
    const char *hyp = "a", *none[] = {NULL}, *bad[] = {"\xff"};
    const char *const *r_none[] = {none}, *const *r_bad[] = {bad};
    double s;
    CHECK(lmt_chrf_corpus(&hyp, 1, r_none, 1, NULL, &s) == LMT_ERR_ARG);
    CHECK(lmt_chrf_corpus(&hyp, 1, r_bad, 1, NULL, &s) == LMT_ERR_FORMAT);
    lmt_chrf_opts o = lmt_chrf_opts_default();
    o.char_order = 0;
    CHECK(lmt_chrf_corpus(&hyp, 1, r_bad, 1, &o, &s) == LMT_ERR_ARG);
}

int main(void) {
    test_errors();
    lmt_json *j = NULL;
    CHECK_OK(lmt_json_parse_file(FIX, &j));
    if (!j) return lmt_test_finish();
    const lmt_json *corpora = lmt_json_get(j, "corpora"), *cases = lmt_json_get(j, "chrf_cases");
    CHECK(cases && cases->len >= 10);
    for (size_t c = 0; cases && c < cases->len; c++) {
        const lmt_json *cs = &cases->items[c];
        const char *name = lmt_json_get(cs, "name")->str;
        const lmt_json *h = lmt_json_get(corpora, lmt_json_get(cs, "hyps")->str), *rn = lmt_json_get(cs, "refs");
        const char **hyps = strings(h), **refs[2] = {NULL, NULL};
        for (size_t r = 0; r < rn->len && r < 2; r++) refs[r] = strings(lmt_json_get(corpora, rn->items[r].str));
        lmt_chrf_opts o = lmt_chrf_opts_default();
        o.char_order = (int)lmt_json_get(cs, "char_order")->i64;
        o.word_order = (int)lmt_json_get(cs, "word_order")->i64;
        o.beta = (int)lmt_json_get(cs, "beta")->i64;
        o.whitespace = lmt_json_get(cs, "whitespace")->boolean;
        o.eps_smoothing = lmt_json_get(cs, "eps_smoothing")->boolean;
        double s = -1, want = lmt_json_get(cs, "score")->num;
        CHECK_OK(lmt_chrf_corpus(hyps, h->len, (const char *const *const *)refs, rn->len, &o, &s));
        CHECK_MSG(fabs(s - want) <= 1e-9, "%s: chrF %.17g vs %.17g", name, s, want);
        free(hyps);
        free(refs[0]);
        free(refs[1]);
    }
    lmt_json_free(j);
    return lmt_test_finish();
}
