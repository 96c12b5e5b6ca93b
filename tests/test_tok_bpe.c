/* The BPE model alone: GPT-2's merges applied to single pieces, against
 * tokenizers' BPE.tokenize (stages.json), with and without the cache. */
#include <stdlib.h>
#include "harness.h"
#include "lmtune/tokenizer.h"
#include "test_tok_stages.h"
#include "tokenizers/tokenizer_impl.h"

int main(void) {
    lmt_tokenizer *t = NULL;
    CHECK_OK(lmt_tokenizer_load(LMT_SHARED_DATA "/tokenizers/gpt2", &t));
    lmt_json *st = load_stages();
    const lmt_json *cases = lmt_json_get(st, "bpe");
    CHECK(t && cases && cases->len >= 8);
    CHECK(t && t->bpe.n_merges == 50000);
    lmt_bpe_cache *cache = lmt_bpe_cache_new();
    for (int pass = 0; t && pass < 3; pass++) {   /* uncached, cache fill, cache hit */
        for (size_t i = 0; cases && i < cases->len; i++) {
            const lmt_json *piece = lmt_json_get(&cases->items[i], "piece"), *ids = lmt_json_get(&cases->items[i], "ids");
            unsigned char raw[1024];
            size_t n = unbytelevel(piece->str, piece->len, raw);
            lmt_bpe_tok *toks = NULL;
            size_t cnt = 0, cap = 0;
            CHECK(lmt_bpe_encode(&t->bpe, pass ? cache : NULL, raw, n, &toks, &cnt, &cap) == 0);
            bool ok = cnt == ids->len;
            for (size_t k = 0; ok && k < cnt; k++)
                ok = toks[k].id == ids->items[k].i64 && (k == 0 ? toks[k].start == 0 : toks[k].start == toks[k - 1].end);
            CHECK_MSG(ok && (!cnt || toks[cnt - 1].end == n), "pass %d piece %zu (%s)", pass, i, piece->str);
            free(toks);
        }
    }
    lmt_bpe_cache_free(cache);
    lmt_json_free(st);
    lmt_tokenizer_free(t);
    return lmt_test_finish();
}
