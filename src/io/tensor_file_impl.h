/* Internals shared by the checkpoint readers (not part of the io API). */
#ifndef LMT_IO_TENSOR_FILE_IMPL_H
#define LMT_IO_TENSOR_FILE_IMPL_H
#include "io/tensor_file.h"

enum { LMT_TENSOR_FILE_SAFETENSORS = 1, LMT_TENSOR_FILE_TORCH = 2 };

/* Buffers a reader allocated for its entries (gathered views, realigned copies). */
typedef struct { void **p; size_t n, cap; } lmt_owned;
lmt_status lmt_owned_add(lmt_owned *o, void *buf);   /* frees buf if it cannot be recorded */
void lmt_owned_free(lmt_owned *o);
/* Copies every entry whose data is not aligned to its element size (a
 * header length that is not a multiple of 8, an unpadded zip member) so
 * that callers may read data as the dtype's C type. */
lmt_status lmt_tensor_file_align(lmt_tensor_file *f, lmt_owned *o);

void lmt_safetensors_impl_free(void *impl);
void lmt_torch_bin_impl_free(void *impl);
/* Builds f->index over f->entries; fails naming the file and the tensor if a
 * name appears twice (a dict cannot hold it twice, so the file is forged). */
lmt_status lmt_tensor_file_build_index(lmt_tensor_file *f);
#endif
