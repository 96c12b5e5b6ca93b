/* pytorch_model.bin: the zip container (central directory, ZIP64, CRC-32)
 * and the restricted unpickler behind it (lmt_torch_bin_open); the tensors'
 * bytes are read back. */
#include "fuzz_common.h"
#include "io/tensor_file.h"

int lmt_fuzz_one(const uint8_t *data, size_t size) {
    char path[512];
    lmt_fuzz_write(lmt_fuzz_scratch(), "pytorch_model.bin", data, size, path, sizeof path);
    lmt_tensor_file *f = NULL;
    if (lmt_torch_bin_open(path, &f) != LMT_OK) return 0;
    for (size_t i = 0; i < f->n; i++) {
        lmt_fuzz_touch(f->entries[i].data, f->entries[i].nbytes);
    }
    lmt_tensor_file_free(f);
    return 0;
}
