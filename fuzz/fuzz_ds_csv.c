/* The CSV / TSV loader: header, RFC 4180 quoting, pandas' type inference and
 * NA strings; the input is read as both. */
#include "fuzz_ds_common.h"

int lmt_fuzz_one(const uint8_t *data, size_t size) {
    char path[512];
    lmt_fuzz_write(lmt_fuzz_scratch(), "train.csv", data, size, path, sizeof path);
    for (int k = 0; k < 2; k++) {
        lmt_dataset ds;
        lmt_ds_init(&ds);
        if (lmt_ds_load_csv(path, k ? '\t' : ',', &ds) == LMT_OK) lmt_fuzz_read_dataset(&ds);
        lmt_ds_free(&ds);
    }
    return 0;
}
