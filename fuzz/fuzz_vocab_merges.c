/* A GPT-2 / RoBERTa / Qwen2 style folder: vocab.json, merges.txt and
 * (optional) tokenizer_config.json and special_tokens_map.json, one after
 * the other in the input (LMT_FUZZ_SEP), loaded as lmt_tokenizer_load does. */
#include "fuzz_tok_common.h"

int lmt_fuzz_one(const uint8_t *data, size_t size) {
    const uint8_t *part[4];
    size_t len[4];
    size_t n = lmt_fuzz_split(data, size, part, len, 4);
    char dir[512];
    lmt_fuzz_subdir("tok", dir, sizeof dir);
    static const char *const names[] = {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"};
    for (size_t k = 0; k < 4; k++) lmt_fuzz_write_part(dir, names[k], part, len, n, k);
    if (n < 2) lmt_fuzz_write(dir, "merges.txt", "", 0, (char[512]){0}, 512);
    lmt_tokenizer *t = NULL;
    if (lmt_tokenizer_load(dir, &t) != LMT_OK) return 0;
    lmt_fuzz_exercise_tokenizer(t);
    lmt_tokenizer_free(t);
    return 0;
}
