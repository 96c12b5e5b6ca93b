/* tokenizer.json (normalizers, pre-tokenizers, BPE / WordPiece / Unigram
 * models, added tokens, post-processors, decoders) as
 * Tokenizer.from_file reads it, then used. */
#include "fuzz_tok_common.h"

int lmt_fuzz_one(const uint8_t *data, size_t size) {
    char path[512];
    lmt_fuzz_write(lmt_fuzz_scratch(), "tokenizer.json", data, size, path, sizeof path);
    lmt_tokenizer *t = NULL;
    if (lmt_tokenizer_load_file(path, &t) != LMT_OK) return 0;
    lmt_fuzz_exercise_tokenizer(t);
    lmt_tokenizer_free(t);
    return 0;
}
