/* lmt_fill_mask against transformers' pipeline("fill-mask", top_k=3) on the
 * tiny BERT + 96-token WordPiece fixture (tools/reference/
 * make_fill_mask_pipeline_fixtures.py): tokens, token_str and sequence
 * exactly, scores within 1e-5; then the bad inputs the pipeline refuses. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "harness.h"
#include "core/json.h"
#include "generate/fill_mask_pipeline.h"

#define DIR LMT_SOURCE_DIR "/tests/fixtures/models/bert-fillmask"

int main(void) {
    lmt_json *ref = NULL;
    CHECK_OK(lmt_json_parse_file(DIR "/pipeline.json", &ref));
    lmt_model *m = NULL;
    lmt_tokenizer *tok = NULL;
    CHECK_OK(lmt_model_load(DIR, &m));
    CHECK_OK(lmt_tokenizer_load(DIR, &tok));
    if (!ref || !m || !tok) return lmt_test_finish();
    int top_k = (int)lmt_json_get(ref, "top_k")->i64;
    const lmt_json *cases = lmt_json_get(ref, "cases");
    CHECK(cases->len == 3);
    int masks = 0;
    double worst = 0;
    for (size_t c = 0; c < cases->len; c++) {
        const char *text = lmt_json_get(&cases->items[c], "text")->str;
        const lmt_json *want = lmt_json_get(&cases->items[c], "results");
        lmt_fill_mask_output o;
        CHECK_OK(lmt_fill_mask(m, tok, text, top_k, false, &o));
        CHECK_MSG(o.n_masks == (int)want->len && o.top_k == top_k, "%s: %d masks x %d", text, o.n_masks, o.top_k);
        for (int i = 0; i < o.n_masks && i < (int)want->len; i++)
            for (int k = 0; k < top_k; k++) {
                const lmt_json *w = &want->items[i].items[k];
                const lmt_fill_mask_result *r = &o.results[i * top_k + k];
                const char *ws = lmt_json_get(w, "token_str")->str, *wq = lmt_json_get(w, "sequence")->str;
                CHECK_MSG(r->token == lmt_json_get(w, "token")->i64, "%s mask %d #%d: token %d, pipeline %lld", text, i, k,
                          r->token, (long long)lmt_json_get(w, "token")->i64);
                CHECK_MSG(!strcmp(r->token_str, ws), "%s: token_str \"%s\", pipeline \"%s\"", text, r->token_str, ws);
                CHECK_MSG(!strcmp(r->sequence, wq), "%s: sequence \"%s\", pipeline \"%s\"", text, r->sequence, wq);
                double d = fabs(r->score - lmt_json_get(w, "score")->num);
                if (d > worst) worst = d;
            }
        masks += o.n_masks;
        lmt_fill_mask_output_free(&o);
    }
    CHECK(masks == 4);
    CHECK_MSG(worst <= 1e-5, "scores differ from the pipeline's by up to %.3g", worst);

    /* a text without a mask token */
    lmt_fill_mask_output o;
    CHECK(lmt_fill_mask(m, tok, "the cat sat on the road.", 3, false, &o) == LMT_ERR_ARG);
    CHECK_MSG(strstr(lmt_last_error(), "no mask token") && strstr(lmt_last_error(), "[MASK]"), "%s", lmt_last_error());
    CHECK(o.results == NULL && o.n_masks == 0);
    CHECK(lmt_fill_mask(m, tok, "the [MASK] sat.", 0, false, &o) == LMT_ERR_ARG);
    CHECK(lmt_fill_mask(m, tok, "the [MASK] sat.", 97, false, &o) == LMT_ERR_ARG);
    CHECK(lmt_fill_mask(m, tok, "the [MASK] sat. the cat sat on the road. the cat sat on the road. the cat sat on the road. the cat sat on the road.", 3, false, &o) == LMT_ERR_ARG);

    /* a tokenizer without a mask token: the same vocabulary with [MASK] renamed */
    char d[] = "/tmp/lmt-fillmask-XXXXXX";
    CHECK(mkdtemp(d) != NULL);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "sed 's/^\\[MASK\\]$/[MASQ]/' %s/vocab.txt > %s/vocab.txt && "
             "printf '{\"tokenizer_class\": \"BertTokenizer\", \"do_lower_case\": true, \"mask_token\": null}' > %s/tokenizer_config.json",
             DIR, d, d);
    CHECK(system(cmd) == 0);
    lmt_tokenizer *nomask = NULL;
    lmt_status st = lmt_tokenizer_load(d, &nomask);
    CHECK_MSG(st == LMT_OK, "%s", lmt_last_error());
    if (nomask) {
        if (lmt_tokenizer_special_ids(nomask).mask >= 0) fprintf(stderr, "note: the renamed vocabulary still has a mask id\n");
        CHECK(lmt_fill_mask(m, nomask, "the [MASK] sat.", 3, false, &o) == LMT_ERR_ARG);
        CHECK_MSG(strstr(lmt_last_error(), "mask token") != NULL, "%s", lmt_last_error());
        lmt_tokenizer_free(nomask);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", d);
    CHECK(system(cmd) == 0);

    /* a model that is not a masked LM */
    lmt_model *gpt2 = NULL;
    CHECK_OK(lmt_model_load(LMT_SOURCE_DIR "/tests/fixtures/models/gpt2", &gpt2));
    CHECK(lmt_fill_mask(gpt2, tok, "the [MASK] sat.", 3, false, &o) == LMT_ERR_ARG);
    CHECK_MSG(strstr(lmt_last_error(), "masked-LM") != NULL, "%s", lmt_last_error());
    lmt_model_free(gpt2);

    lmt_tokenizer_free(tok);
    lmt_model_free(m);
    lmt_json_free(ref);
    return lmt_test_finish();
}
