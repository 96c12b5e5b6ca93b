/* safetensors: the header's JSON, offsets, dtypes and shapes
 * (lmt_safetensors_open, as every model load reads it); each tensor's bytes
 * are read so that an entry pointing outside the mapping shows up. */
#include "fuzz_common.h"
#include "io/tensor_file.h"

int lmt_fuzz_one(const uint8_t *data, size_t size) {
    char path[512];
    lmt_fuzz_write(lmt_fuzz_scratch(), "model.safetensors", data, size, path, sizeof path);
    lmt_tensor_file *f = NULL;
    if (lmt_tensor_file_open(path, &f) != LMT_OK) return 0;
    for (size_t i = 0; i < f->n; i++) {
        lmt_fuzz_touch(f->entries[i].data, f->entries[i].nbytes);
        if (lmt_tensor_file_find(f, f->entries[i].name) == NULL) abort();
    }
    lmt_tensor_file_free(f);
    return 0;
}
