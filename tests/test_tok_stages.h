/* Shared by the tokenizer stage tests: tests/fixtures/tokenizers/stages.json
 * (made by tools/reference/make_tokenizer_fixtures.py from the tokenizers
 * library's own components). */
#ifndef LMT_TEST_TOK_STAGES_H
#define LMT_TEST_TOK_STAGES_H
#include "core/json.h"
#include "tokenizers/bytelevel.h"
#include "tokenizers/utf8.h"

static inline lmt_json *load_stages(void) {
    lmt_json *j = NULL;
    CHECK_OK(lmt_json_parse_file(LMT_SOURCE_DIR "/tests/fixtures/tokenizers/stages.json", &j));
    return j;
}

/* Byte-level string ("Ġworld") -> the raw bytes it stands for; returns length. */
static inline size_t unbytelevel(const char *s, size_t n, unsigned char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t l;
        int b = lmt_bytelevel_cp_to_byte(lmt_utf8_decode((const unsigned char *)s + i, n - i, &l));
        out[o++] = (unsigned char)(b < 0 ? '?' : b);
        i += l;
    }
    return o;
}

static inline size_t count_chars(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}
#endif
