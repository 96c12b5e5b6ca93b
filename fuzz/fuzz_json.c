/* The JSON parser (every .json file lmtune reads), and the writers on what it
 * accepted: a document written back must parse again to the same text. */
#include "fuzz_common.h"
#include "core/json.h"

int lmt_fuzz_one(const uint8_t *data, size_t size) {
    lmt_json *j = NULL;
    if (lmt_json_parse((const char *)data, size, "input.json", &j) != LMT_OK) return 0;
    lmt_strbuf a, b, py;
    lmt_sb_init(&a);
    lmt_sb_init(&b);
    lmt_sb_init(&py);
    lmt_json_write(&a, j, 0);
    lmt_json_write_py(&py, j, 2, true);
    lmt_json *k = NULL;
    if (!a.oom && lmt_json_parse(a.data ? a.data : "", a.len, "written", &k) != LMT_OK) abort();
    if (k) {
        lmt_json_write(&b, k, 0);
        if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len))) abort();
    }
    lmt_json *c = lmt_json_clone(j);
    lmt_json_free(c);
    lmt_json_free(k);
    lmt_json_free(j);
    lmt_sb_free(&a);
    lmt_sb_free(&b);
    lmt_sb_free(&py);
    return 0;
}
