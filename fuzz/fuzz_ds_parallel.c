/* Parallel corpora: the source and target files (LMT_FUZZ_SEP between them),
 * line i of each stripped and paired. */
#include "fuzz_ds_common.h"

int lmt_fuzz_one(const uint8_t *data, size_t size) {
    const uint8_t *part[2];
    size_t len[2];
    size_t n = lmt_fuzz_split(data, size, part, len, 2);
    char dir[512], src[512], tgt[512];
    lmt_fuzz_subdir("par", dir, sizeof dir);
    lmt_fuzz_write(dir, "train.en", part[0], len[0], src, sizeof src);
    lmt_fuzz_write(dir, "train.fr", n > 1 ? part[1] : part[0], n > 1 ? len[1] : len[0], tgt, sizeof tgt);
    lmt_dataset ds;
    lmt_ds_init(&ds);
    if (lmt_ds_load_parallel(src, tgt, "en", "fr", &ds) == LMT_OK) lmt_fuzz_read_dataset(&ds);
    lmt_ds_free(&ds);
    return 0;
}
