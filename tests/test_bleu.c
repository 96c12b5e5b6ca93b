/* BLEU against sacrebleu 2.6.0: the SPEC §3 examples, and corpora/tokenizer
 * cases written by tools/reference/make_bleu_fixtures.py. */
#include "harness.h"
#include <stdlib.h>
#include "eval/bleu.h"
#include "core/json.h"

#define FIX LMT_SOURCE_DIR "/tests/fixtures/bleu/bleu.json"

static void test_spec(void) {
    const char *ref = "This plugin allows you to automatically translate web pages between several languages.";
    const char *hyp = "This plugin lets you translate web pages between several languages automatically.";
    const char *r0[] = {ref};
    const char *const *refs[] = {r0};
    lmt_bleu_result r;
    CHECK_OK(lmt_bleu_corpus(&hyp, 1, refs, 1, NULL, &r));
    CHECK_NEAR(r.score, 46.750469682990165, 1e-9);
    CHECK(r.counts[0] == 11 && r.counts[1] == 6 && r.counts[2] == 4 && r.counts[3] == 3);
    CHECK(r.totals[0] == 12 && r.totals[1] == 11 && r.totals[2] == 10 && r.totals[3] == 9);
    CHECK_NEAR(r.bp, 0.9200444146, 1e-10);
    CHECK(r.sys_len == 12 && r.ref_len == 13);
    const char *bad = "This This This This";
    CHECK_OK(lmt_bleu_corpus(&bad, 1, refs, 1, NULL, &r));
    CHECK_NEAR(r.score, 1.683602693167689, 1e-9);
}

static void test_errors(void) {
    const char *hyp = "a";
    const char *r0[] = {NULL};
    const char *const *refs[] = {r0};
    lmt_bleu_result r;
    CHECK(lmt_bleu_corpus(&hyp, 1, refs, 1, NULL, &r) == LMT_ERR_ARG);   /* no reference */
    CHECK(lmt_bleu_corpus(&hyp, 1, refs, 0, NULL, &r) == LMT_ERR_ARG);
    const char *bad_utf8 = "caf\xc3";
    const char *r1[] = {bad_utf8};
    const char *const *refs1[] = {r1};
    CHECK(lmt_bleu_corpus(&hyp, 1, refs1, 1, NULL, &r) == LMT_ERR_FORMAT);
    lmt_bleu_opts o = lmt_bleu_opts_default();
    o.max_order = 5;
    CHECK(lmt_bleu_corpus(&hyp, 1, refs1, 1, &o, &r) == LMT_ERR_ARG);
    CHECK_OK(lmt_bleu_corpus(NULL, 0, NULL, 0, NULL, &r));
    CHECK(r.score == 0.0 && r.sys_len == 0);
}

static const char **strings(const lmt_json *arr, size_t *n) {
    *n = arr->len;
    const char **v = calloc(arr->len ? arr->len : 1, sizeof *v);
    for (size_t i = 0; v && i < arr->len; i++)
        /* "" explicitly: core's JSON parser may leave an empty string unterminated */
        v[i] = arr->items[i].type != LMT_JSON_STRING ? NULL : arr->items[i].len ? arr->items[i].str : "";
    return v;
}

static void test_fixtures(void) {
    lmt_json *j = NULL;
    CHECK_OK(lmt_json_parse_file(FIX, &j));
    if (!j) return;
    const lmt_json *toks = lmt_json_get(j, "tokenize_13a");
    for (size_t i = 0; toks && i < toks->len; i++) {
        const lmt_json *in = lmt_json_get(&toks->items[i], "in"), *exp = lmt_json_get(&toks->items[i], "out");
        char *out = NULL;
        size_t len = 0;
        CHECK_OK(lmt_bleu_tokenize_13a(in->len ? in->str : "", in->len, &out, &len));
        if (out) CHECK_MSG(len == exp->len && (len == 0 || memcmp(out, exp->str, len) == 0), "13a(%s) = \"%s\", want \"%s\"", in->str, out, exp->str);
        free(out);
    }
    const lmt_json *corpora = lmt_json_get(j, "corpora"), *cases = lmt_json_get(j, "cases");
    for (size_t c = 0; cases && c < cases->len; c++) {
        const lmt_json *cs = &cases->items[c];
        const char *name = lmt_json_get(cs, "name")->str;
        size_t n = 0, m = 0;
        const char **hyps = strings(lmt_json_get(corpora, lmt_json_get(cs, "hyps")->str), &n);
        const lmt_json *rn = lmt_json_get(cs, "refs");
        const char **refs[2] = {NULL, NULL};
        for (size_t r = 0; r < rn->len && r < 2; r++) refs[r] = strings(lmt_json_get(corpora, rn->items[r].str), &m);
        lmt_bleu_opts o = lmt_bleu_opts_default();
        const char *sm = lmt_json_get(cs, "smooth")->str;
        o.smooth = !strcmp(sm, "exp") ? LMT_BLEU_SMOOTH_EXP : !strcmp(sm, "floor") ? LMT_BLEU_SMOOTH_FLOOR
                 : !strcmp(sm, "add-k") ? LMT_BLEU_SMOOTH_ADD_K : LMT_BLEU_SMOOTH_NONE;
        const lmt_json *sv = lmt_json_get(cs, "smooth_value");
        if (sv && sv->type == LMT_JSON_NUMBER) o.smooth_value = sv->num;
        o.tokenize_none = !strcmp(lmt_json_get(cs, "tokenize")->str, "none");
        o.effective_order = lmt_json_get(cs, "effective_order")->boolean;
        o.max_order = (int)lmt_json_get(cs, "max_order")->i64;
        lmt_bleu_result r;
        CHECK_OK(lmt_bleu_corpus(hyps, n, (const char *const *const *)refs, rn->len, &o, &r));
        CHECK_MSG(fabs(r.score - lmt_json_get(cs, "score")->num) <= 1e-9, "%s: score %.17g vs %.17g", name, r.score, lmt_json_get(cs, "score")->num);
        CHECK_MSG(fabs(r.bp - lmt_json_get(cs, "bp")->num) <= 1e-12, "%s: bp", name);
        CHECK_MSG(r.sys_len == lmt_json_get(cs, "sys_len")->i64 && r.ref_len == lmt_json_get(cs, "ref_len")->i64,
                  "%s: len %lld/%lld", name, (long long)r.sys_len, (long long)r.ref_len);
        /* sacrebleu reports add-k counts/totals with k added from order 2 on */
        double k = o.smooth == LMT_BLEU_SMOOTH_ADD_K ? (o.smooth_value >= 0 ? o.smooth_value : 1.0) : 0.0;
        bool zero = true;
        for (int q = 0; q < o.max_order; q++) zero = zero && r.counts[q] == 0;
        for (int q = 0; q < o.max_order; q++) {
            int64_t add = (q > 0 && !zero) ? (int64_t)k : 0;
            const lmt_json *ec = lmt_json_get(cs, "counts"), *et = lmt_json_get(cs, "totals"), *ep = lmt_json_get(cs, "precisions");
            CHECK_MSG(r.counts[q] + add == ec->items[q].i64 && r.totals[q] + add == et->items[q].i64,
                      "%s: order %d counts %lld/%lld vs %lld/%lld", name, q + 1, (long long)r.counts[q],
                      (long long)r.totals[q], (long long)ec->items[q].i64, (long long)et->items[q].i64);
            CHECK_MSG(fabs(r.precisions[q] - ep->items[q].num) <= 1e-9, "%s: precision %d", name, q + 1);
        }
        free(hyps);
        free(refs[0]);
        free(refs[1]);
    }
    lmt_json_free(j);
}

int main(void) {
    test_spec();
    test_errors();
    test_fixtures();
    return lmt_test_finish();
}
