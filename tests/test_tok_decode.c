/* Decoder stage: the ByteLevel decoder on token lists (tokenizers'
 * decoders.ByteLevel().decode, stages.json) and UTF-8 repair against
 * Python's bytes.decode("utf-8", errors="replace"). */
#include <stdlib.h>
#include "harness.h"
#include "lmtune/tokenizer.h"
#include "test_tok_stages.h"

int main(void) {
    lmt_json *st = load_stages();
    const lmt_json *rep = lmt_json_get(st, "repair");
    CHECK(rep && rep->len >= 10);
    for (size_t i = 0; rep && i < rep->len; i++) {
        const lmt_json *hex = lmt_json_get(&rep->items[i], "hex"), *want = lmt_json_get(&rep->items[i], "text");
        char raw[64];
        size_t n = hex->len / 2;
        for (size_t k = 0; k < n; k++) { unsigned v; sscanf(hex->str + 2 * k, "%2x", &v); raw[k] = (char)v; }
        size_t ol = 0;
        char *fixed = lmt_utf8_repair(raw, n, &ol);
        const char *got = fixed ? fixed : raw;
        if (!fixed) ol = n;
        CHECK_MSG(ol == want->len && !memcmp(got, want->str, ol), "repair of %s", hex->str);
        free(fixed);
    }
    /* decoding through the tokenizer: token strings -> ids -> text */
    lmt_tokenizer *t = NULL;
    CHECK_OK(lmt_tokenizer_load(LMT_SHARED_DATA "/tokenizers/roberta-base", &t));
    const lmt_json *dec = lmt_json_get(st, "decoder");
    for (size_t i = 0; t && dec && i < dec->len; i++) {
        const lmt_json *toks = lmt_json_get(&dec->items[i], "tokens"), *want = lmt_json_get(&dec->items[i], "text");
        int32_t ids[16];
        bool known = toks->len <= 16;
        for (size_t k = 0; known && k < toks->len; k++) known = (ids[k] = lmt_tokenizer_token_to_id(t, toks->items[k].str)) >= 0;
        if (!known) continue;   /* a token outside roberta's vocabulary */
        char *out;
        size_t ol;
        CHECK_OK(lmt_tokenizer_decode(t, ids, toks->len, false, false, &out, &ol));
        CHECK_MSG(ol == want->len && !memcmp(out, want->str, ol), "decoder case %zu: \"%s\"", i, out);
        free(out);
    }
    /* skip_special_tokens drops <s> </s> <pad>; unknown ids are dropped as tokenizers does */
    int32_t ids[] = {0, 31414, 1, 232, 2, 999999, -5};
    char *out;
    size_t ol;
    CHECK_OK(lmt_tokenizer_decode(t, ids, 7, false, false, &out, &ol));
    CHECK_STREQ(out, "<s>Hello<pad> world</s>");
    free(out);
    CHECK_OK(lmt_tokenizer_decode(t, ids, 7, true, true, &out, &ol));
    CHECK_STREQ(out, "Hello world");
    free(out);
    CHECK_OK(lmt_tokenizer_decode(t, ids, 0, false, false, &out, &ol));
    CHECK(ol == 0 && out && out[0] == '\0');
    free(out);
    lmt_tokenizer_free(t);
    lmt_json_free(st);
    return lmt_test_finish();
}
