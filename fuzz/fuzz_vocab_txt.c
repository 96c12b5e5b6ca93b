/* A BERT-style folder: vocab.txt and (optional) tokenizer_config.json and
 * special_tokens_map.json (LMT_FUZZ_SEP between them), as lmt_tokenizer_load
 * reads it, then used. */
#include "fuzz_tok_common.h"

int lmt_fuzz_one(const uint8_t *data, size_t size) {
    const uint8_t *part[3];
    size_t len[3];
    size_t n = lmt_fuzz_split(data, size, part, len, 3);
    char dir[512];
    lmt_fuzz_subdir("tok", dir, sizeof dir);
    static const char *const names[] = {"vocab.txt", "tokenizer_config.json", "special_tokens_map.json"};
    for (size_t k = 0; k < 3; k++) lmt_fuzz_write_part(dir, names[k], part, len, n, k);
    lmt_tokenizer *t = NULL;
    if (lmt_tokenizer_load(dir, &t) != LMT_OK) return 0;
    lmt_fuzz_exercise_tokenizer(t);
    lmt_tokenizer_free(t);
    return 0;
}
