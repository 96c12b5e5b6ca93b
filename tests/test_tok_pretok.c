/* GPT-2 pre-tokenizer against tokenizers' ByteLevel(use_regex=True)
 * pre_tokenize_str on the adversarial strings and edge cases (stages.json):
 * same pieces, same character offsets. */
#include <stdlib.h>
#include "harness.h"
#include "test_tok_stages.h"
#include "tokenizers/pretok_gpt2.h"

int main(void) {
    lmt_json *st = load_stages();
    const lmt_json *cases = lmt_json_get(st, "pretok");
    CHECK(cases && cases->len > 30);
    for (size_t i = 0; cases && i < cases->len; i++) {
        const lmt_json *text = lmt_json_get(&cases->items[i], "text"), *splits = lmt_json_get(&cases->items[i], "splits");
        lmt_spans sp = {0};
        CHECK(lmt_pretok_gpt2(text->str, text->len, 0, &sp) == 0);
        bool ok = sp.n == splits->len;
        for (size_t k = 0; ok && k < sp.n; k++) {
            const lmt_json *w = &splits->items[k];
            static unsigned char raw[1 << 16];
            size_t rl = w->items[0].len <= sizeof raw ? unbytelevel(w->items[0].str, w->items[0].len, raw) : 0;
            size_t cs = count_chars(text->str, sp.v[k].start), ce = count_chars(text->str, sp.v[k].end);
            ok = rl == sp.v[k].end - sp.v[k].start && !memcmp(raw, text->str + sp.v[k].start, rl) &&
                 (int64_t)cs == w->items[1].i64 && (int64_t)ce == w->items[2].i64;
        }
        CHECK_MSG(ok, "case %zu (\"%.40s\"): %zu pieces, tokenizers has %zu", i, text->str, sp.n, splits->len);
        free(sp.v);
    }
    /* offsets move with base */
    lmt_spans sp = {0};
    CHECK(lmt_pretok_gpt2("a b", 3, 10, &sp) == 0 && sp.n == 2 && sp.v[1].start == 11 && sp.v[1].end == 13);
    free(sp.v);
    lmt_json_free(st);
    return lmt_test_finish();
}
