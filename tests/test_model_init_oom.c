/* lmt_model_init when the parameters cannot be allocated (issue 18): a
 * config whose weights need ~200 TB fails with "out of memory allocating N
 * parameters", and reads nothing of the model after freeing it (ASan reported
 * a heap-use-after-free of m->layout.num_floats there). */
#include <stdio.h>
#include <string.h>
#include "harness.h"
#include "core/json.h"
#include "models/config.h"
#include "models/model.h"

/* under ASan, a failed huge malloc returns NULL as glibc's does, instead of aborting */
const char *__asan_default_options(void);
__attribute__((visibility("default"), used)) const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

int main(void) {
    static const char huge[] =
        "{\"model_type\": \"gpt2\", \"vocab_size\": 16000000, \"n_embd\": 65536, \"n_layer\": 1024, \"n_head\": 1024, "
        "\"n_positions\": 1024}";
    lmt_json *j = NULL;
    CHECK_OK(lmt_json_parse(huge, strlen(huge), "huge.json", &j));
    lmt_config cfg;
    CHECK_OK(lmt_config_from_json(j, "huge.json", &cfg));
    lmt_model *m = (lmt_model *)1;
    lmt_status s = lmt_model_init(&cfg, 42, &m);
    CHECK_MSG(s == LMT_ERR_NOMEM && strstr(lmt_last_error(), "out of memory allocating"), "%d: %s", (int)s, lmt_last_error());
    CHECK(m == NULL);
    lmt_config_free(&cfg);
    return lmt_test_finish();
}
