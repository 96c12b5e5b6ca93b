/* Checkpoint files as a list of named tensors: safetensors (mmap, zero copy)
 * and PyTorch's pytorch_model.bin (zip + pickle; tensors copied contiguous). */
#ifndef LMT_IO_TENSOR_FILE_H
#define LMT_IO_TENSOR_FILE_H
#include <stddef.h>
#include <stdint.h>
#include "lmtune/lmtune.h"
#include "core/json.h"

typedef struct lmt_tensor_entry {
    char *name;
    lmt_dtype dtype;
    int ndim;
    int64_t shape[LMT_MAX_DIMS];
    const void *data;   /* contiguous row-major, nbytes = numel * dtype size,
                           aligned to the dtype size */
    size_t nbytes;
} lmt_tensor_entry;

typedef struct lmt_tensor_file {
    char *path;
    lmt_tensor_entry *entries;   /* in file order */
    size_t n;
    lmt_json *metadata;          /* safetensors "__metadata__" object, or NULL */
    void *impl;                  /* format-specific (mmap, owned buffers) */
    int kind;                    /* 1 safetensors, 2 torch zip */
    void *index;                 /* name -> entry, for lmt_tensor_file_find */
} lmt_tensor_file;

/* Validates every header field; errors name the path and the tensor. */
lmt_status lmt_safetensors_open(const char *path, lmt_tensor_file **out);
lmt_status lmt_torch_bin_open(const char *path, lmt_tensor_file **out);
/* Picks the reader by content: zip magic -> torch, the legacy torch pickle
 * magic -> a clear "re-save it" error, anything else -> safetensors. */
lmt_status lmt_tensor_file_open(const char *path, lmt_tensor_file **out);
void lmt_tensor_file_free(lmt_tensor_file *f);
const lmt_tensor_entry *lmt_tensor_file_find(const lmt_tensor_file *f, const char *name);

typedef struct lmt_tensor_out {
    const char *name;
    lmt_dtype dtype;
    int ndim;
    int64_t shape[LMT_MAX_DIMS];
    const void *data;
} lmt_tensor_out;
/* Writes a safetensors file laid out as the `safetensors` Python library
 * writes it (the layout transformers' save_pretrained produces), atomically.
 * metadata: NULL-terminated array of key, value, key, value, ..., NULL;
 * NULL writes no "__metadata__" (Python's metadata=None), an empty array
 * writes "__metadata__":{} (metadata={}). With two or more keys the Python
 * library's order is that of a randomly seeded Rust HashMap; lmtune keeps
 * the given order. */
lmt_status lmt_safetensors_write(const char *path, const lmt_tensor_out *tensors, size_t n,
                                 const char *const *metadata);
#endif
