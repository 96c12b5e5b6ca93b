/* A restricted unpickler for what torch.save(state_dict) writes: it builds
 * plain values, dicts, tuples, storages and tensors, allows a short list of
 * globals (OrderedDict, torch._utils._rebuild_tensor_v2, torch.*Storage) and
 * refuses everything else. Nothing is ever executed. */
#ifndef LMT_IO_PICKLE_H
#define LMT_IO_PICKLE_H
#include <stddef.h>
#include <stdint.h>
#include "lmtune/lmtune.h"

typedef struct lmt_pickle_tensor {
    char *name;           /* key in the top-level dict */
    lmt_dtype dtype;
    char *storage_key;    /* archive member data/<key> */
    int64_t storage_numel;
    int64_t offset;       /* in elements */
    int ndim;
    int64_t size[LMT_MAX_DIMS], stride[LMT_MAX_DIMS];
} lmt_pickle_tensor;

typedef struct lmt_pickle_state_dict {
    lmt_pickle_tensor *tensors;
    size_t n;
} lmt_pickle_state_dict;

/* Unpickles a dict of tensors from data[0..len); `source` names it in errors. */
lmt_status lmt_pickle_load_state_dict(const unsigned char *data, size_t len, const char *source, lmt_pickle_state_dict *out);
void lmt_pickle_state_dict_free(lmt_pickle_state_dict *sd);
#endif
