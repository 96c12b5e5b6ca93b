/* The tokenizer harnesses' common part: once a folder loaded, the tokenizer
 * encodes a few texts (a pair, truncation and padding included) and decodes
 * every id it produced and a run of ids past its vocabulary. */
#ifndef LMT_FUZZ_TOK_COMMON_H
#define LMT_FUZZ_TOK_COMMON_H
#include "fuzz_common.h"
#include "lmtune/tokenizer.h"

static void lmt_fuzz_exercise_tokenizer(lmt_tokenizer *t) {
    static const char *const texts[] = {"Hello world, it's 2024!", "  déjà vu\t\n<s> [CLS] <unk>  ", "a", "",
                                        "\xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80 x\xffy"};
    lmt_encode_opts o = lmt_encode_opts_default();
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        lmt_encoding e;
        memset(&e, 0, sizeof e);
        const char *pair = i == 1 ? texts[0] : NULL;
        o.truncation = i == 1 ? LMT_TRUNCATE_LONGEST_FIRST : LMT_TRUNCATE_NONE;
        o.max_length = i == 1 ? 6 : 0;
        o.padding = i == 2 ? LMT_PAD_MAX_LENGTH : LMT_PAD_NONE;
        if (i == 2) o.max_length = 8;
        if (lmt_tokenizer_encode(t, texts[i], strlen(texts[i]), pair, pair ? strlen(pair) : 0, &o, &e) == LMT_OK) {
            char *s = NULL;
            size_t n = 0;
            if (lmt_tokenizer_decode(t, e.ids, e.n, i & 1, i & 2, &s, &n) == LMT_OK) free(s);
        }
        lmt_encoding_free(&e);
    }
    size_t v = lmt_tokenizer_vocab_size(t);
    int32_t ids[8];
    for (int k = 0; k < 8; k++) ids[k] = (int32_t)(v > 4 ? v - 4 : 0) + k - 2;
    char *s = NULL;
    size_t n = 0;
    if (lmt_tokenizer_decode(t, ids, 8, false, false, &s, &n) == LMT_OK) free(s);
    for (int k = 0; k < 8; k++) (void)lmt_tokenizer_id_to_token(t, ids[k]);
    (void)lmt_tokenizer_token_to_id(t, "<unk>");
}
#endif
