/* The text loader (one example per line; universal newlines; UTF-8 checked)
 * in its three modes: keep_linebreaks, the default, and WikiText's. */
#include "fuzz_ds_common.h"

int lmt_fuzz_one(const uint8_t *data, size_t size) {
    char path[512];
    lmt_fuzz_write(lmt_fuzz_scratch(), "train.txt", data, size, path, sizeof path);
    static const lmt_text_mode modes[] = {LMT_TEXT_KEEP_LINEBREAKS, LMT_TEXT_STRIP_LINEBREAKS, LMT_TEXT_WIKITEXT};
    for (int m = 0; m < 3; m++) {
        lmt_dataset ds;
        lmt_ds_init(&ds);
        if (lmt_ds_load_text(path, modes[m], &ds) == LMT_OK) lmt_fuzz_read_dataset(&ds);
        lmt_ds_free(&ds);
    }
    return 0;
}
