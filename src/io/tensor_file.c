/* Format dispatch and lifetime of checkpoint files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "io/tensor_file.h"

void lmt_safetensors_impl_free(void *impl);
void lmt_torch_bin_impl_free(void *impl);

typedef enum { KIND_SAFETENSORS = 1, KIND_TORCH = 2 } file_kind;

lmt_status lmt_tensor_file_open(const char *path, lmt_tensor_file **out) {
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return lmt_fail(LMT_ERR_NOT_FOUND, "%s: cannot open", path);
    unsigned char head[9] = {0};
    size_t n = fread(head, 1, sizeof head, fp);
    fclose(fp);
    if (n >= 4 && memcmp(head, "PK\x03\x04", 4) == 0) return lmt_torch_bin_open(path, out);
    if (n >= 2 && head[0] == 0x80 && head[1] == 0x02) return lmt_torch_bin_open(path, out);  /* legacy: clear error */
    return lmt_safetensors_open(path, out);
}

void lmt_tensor_file_free(lmt_tensor_file *f) {
    if (!f) return;
    for (size_t i = 0; i < f->n; i++) free(f->entries[i].name);
    free(f->entries);
    lmt_json_free(f->metadata);
    /* The two readers tag their impl by what they free; safetensors keeps
     * metadata, torch never does, but both free their own mapping. */
    if (f->impl) {
        if (f->kind == KIND_TORCH) lmt_torch_bin_impl_free(f->impl);
        else lmt_safetensors_impl_free(f->impl);
    }
    free(f->path);
    free(f);
}

const lmt_tensor_entry *lmt_tensor_file_find(const lmt_tensor_file *f, const char *name) {
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->entries[i].name, name)) return &f->entries[i];
    return NULL;
}
