/* The JSON Lines loader: nested objects flattened to dotted columns, type
 * inference and promotion across rows, lists, nulls. */
#include "fuzz_ds_common.h"

int lmt_fuzz_one(const uint8_t *data, size_t size) {
    char path[512];
    lmt_fuzz_write(lmt_fuzz_scratch(), "train.jsonl", data, size, path, sizeof path);
    lmt_dataset ds;
    lmt_ds_init(&ds);
    if (lmt_ds_load_jsonl(path, &ds) == LMT_OK) lmt_fuzz_read_dataset(&ds);
    lmt_ds_free(&ds);
    return 0;
}
