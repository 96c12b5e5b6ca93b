/* config.json: the architectures' field names and checks (lmt_config_load),
 * then writing it back as save_pretrained does. */
#include "fuzz_common.h"
#include "models/config.h"

int lmt_fuzz_one(const uint8_t *data, size_t size) {
    char path[512];
    lmt_fuzz_write(lmt_fuzz_scratch(), "config.json", data, size, path, sizeof path);
    lmt_config cfg;
    memset(&cfg, 0, sizeof cfg);
    if (lmt_config_load(path, &cfg) != LMT_OK) return 0;
    char *s = lmt_config_to_json(&cfg);
    free(s);
    lmt_config_free(&cfg);
    return 0;
}
