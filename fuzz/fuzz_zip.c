/* The zip reader alone (what torch.save writes around data.pkl), with each
 * member's CRC-32 checked and its bytes read. */
#include "fuzz_common.h"
#include "io/zip.h"

int lmt_fuzz_one(const uint8_t *data, size_t size) {
    lmt_zip z = {0};
    if (lmt_zip_open(data, size, "archive.zip", &z) != LMT_OK) return 0;
    for (size_t i = 0; i < z.n; i++) {
        (void)lmt_zip_check_crc(&z.members[i], "archive.zip");
        if (lmt_zip_find(&z, z.members[i].name) == NULL) abort();
    }
    lmt_zip_free(&z);
    return 0;
}
