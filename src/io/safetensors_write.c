/* safetensors writing, byte for byte as the reference library (Rust
 * safetensors::serialize, behind safetensors.torch.save_file and
 * save_pretrained) writes: tensors sorted by dtype (descending, in the
 * library's Dtype enum order) then by name; compact serde_json header with
 * "__metadata__" first; header padded with spaces to a multiple of 8; data
 * in header order. Streamed to a temporary file renamed into place, so a
 * crash never leaves a half-written checkpoint and no copy of the model is
 * held in memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/error.h"
#include "core/hashmap.h"
#include "core/json.h"
#include "core/util.h"
#include "io/tensor_file.h"

#define MAX_HEADER 100000000u   /* the reference refuses to write more */

/* Position of the dtype in the reference's `enum Dtype` (derive(Ord)). */
static int dtype_rank(lmt_dtype t) {
    switch (t) {
    case LMT_BOOL: return 0;
    case LMT_U8: return 4;
    case LMT_I8: return 5;
    case LMT_I16: return 11;
    case LMT_F16: return 13;
    case LMT_BF16: return 14;
    case LMT_I32: return 15;
    case LMT_F32: return 17;
    case LMT_F64: return 19;
    case LMT_I64: return 20;
    default: return -1;
    }
}

static int cmp_out(const void *a, const void *b, void *ctx) {
    const lmt_tensor_out *t = ctx;
    const lmt_tensor_out *x = &t[*(const size_t *)a], *y = &t[*(const size_t *)b];
    int rx = dtype_rank(x->dtype), ry = dtype_rank(y->dtype);
    if (rx != ry) return ry - rx;
    return strcmp(x->name, y->name);   /* Rust str order: bytewise */
}

/* Byte size of each tensor; rejects what the reference would refuse. */
static lmt_status check_inputs(const char *path, const lmt_tensor_out *t, size_t n, const char *const *metadata, size_t *sizes) {
    for (size_t i = 0; i < n; i++) {
        const char *name = t[i].name ? t[i].name : "(null)";
        if (!t[i].name || !strcmp(t[i].name, "__metadata__"))
            return lmt_fail(LMT_ERR_ARG, "%s: tensor \"%s\": invalid tensor name", path, name);
        if (dtype_rank(t[i].dtype) < 0 || t[i].ndim < 0 || t[i].ndim > LMT_MAX_DIMS)
            return lmt_fail(LMT_ERR_ARG, "%s: tensor \"%s\": invalid dtype or rank", path, name);
        size_t numel = 1;
        for (int d = 0; d < t[i].ndim; d++) {
            int64_t k = t[i].shape[d];
            if (k < 0) return lmt_fail(LMT_ERR_ARG, "%s: tensor \"%s\": negative dimension", path, name);
            if (k && numel > SIZE_MAX / (uint64_t)k) return lmt_fail(LMT_ERR_ARG, "%s: tensor \"%s\": size overflows", path, name);
            numel *= (size_t)k;
        }
        if (numel > SIZE_MAX / 8) return lmt_fail(LMT_ERR_ARG, "%s: tensor \"%s\": size overflows", path, name);
        sizes[i] = numel * lmt_dtype_size(t[i].dtype);
        if (sizes[i] && !t[i].data) return lmt_fail(LMT_ERR_ARG, "%s: tensor \"%s\": no data", path, name);
    }
    size_t k = 0;
    for (; metadata && metadata[k]; k += 2) {
        if (!metadata[k + 1]) return lmt_fail(LMT_ERR_ARG, "%s: metadata key \"%s\" has no value", path, metadata[k]);
        for (size_t j = 0; j < k; j += 2)
            if (!strcmp(metadata[j], metadata[k])) return lmt_fail(LMT_ERR_ARG, "%s: metadata key \"%s\" given twice", path, metadata[k]);
    }
    return LMT_OK;
}

/* A dict cannot hold a name twice; a file that did would be unreadable. */
static lmt_status check_unique(const char *path, const lmt_tensor_out *t, size_t n) {
    lmt_strmap *m = lmt_strmap_new(n);
    lmt_status s = m ? LMT_OK : lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n && s == LMT_OK; i++) {
        int64_t prev;
        if (lmt_strmap_get(m, t[i].name, strlen(t[i].name), &prev))
            s = lmt_fail(LMT_ERR_ARG, "%s: tensor \"%s\" given twice", path, t[i].name);
        else if (lmt_strmap_put(m, t[i].name, strlen(t[i].name), (int64_t)i) != LMT_OK)
            s = lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path);
    }
    lmt_strmap_free(m);
    return s;
}

static void put_header(lmt_strbuf *h, const lmt_tensor_out *t, size_t n, const size_t *order, const size_t *sizes,
                       const char *const *metadata) {
    lmt_sb_putc(h, '{');
    bool first = true;
    if (metadata) {
        lmt_sb_puts(h, "\"__metadata__\":{");
        for (size_t k = 0; metadata[k]; k += 2) {
            if (k) lmt_sb_putc(h, ',');
            lmt_json_write_string(h, metadata[k], strlen(metadata[k]), false);
            lmt_sb_putc(h, ':');
            lmt_json_write_string(h, metadata[k + 1], strlen(metadata[k + 1]), false);
        }
        lmt_sb_putc(h, '}');
        first = false;
    }
    size_t offset = 0;
    for (size_t k = 0; k < n; k++) {
        const lmt_tensor_out *x = &t[order[k]];
        if (!first) lmt_sb_putc(h, ',');
        first = false;
        lmt_json_write_string(h, x->name, strlen(x->name), false);
        lmt_sb_printf(h, ":{\"dtype\":\"%s\",\"shape\":[", lmt_dtype_name(x->dtype));
        for (int d = 0; d < x->ndim; d++) lmt_sb_printf(h, "%s%lld", d ? "," : "", (long long)x->shape[d]);
        lmt_sb_printf(h, "],\"data_offsets\":[%zu,%zu]}", offset, offset + sizes[order[k]]);
        offset += sizes[order[k]];
    }
    lmt_sb_putc(h, '}');
    while (h->len % 8) lmt_sb_putc(h, ' ');
}

/* Streams header and tensors to a temporary file renamed into place, so a
 * model-sized checkpoint is never copied in memory nor left half-written. */
static lmt_status write_stream(const char *path, const lmt_strbuf *h, const lmt_tensor_out *t, size_t n, const size_t *order,
                               const size_t *sizes) {
    lmt_atomic_file f;
    LMT_TRY(lmt_atomic_open(&f, path));
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)h->len >> (8 * i));
    lmt_atomic_write(&f, len8, 8);
    lmt_atomic_write(&f, h->data, h->len);
    for (size_t k = 0; k < n; k++) lmt_atomic_write(&f, t[order[k]].data, sizes[order[k]]);
    return lmt_atomic_commit(&f);
}

lmt_status lmt_safetensors_write(const char *path, const lmt_tensor_out *t, size_t n, const char *const *metadata) {
    size_t *order = malloc((n ? n : 1) * sizeof *order), *sizes = malloc((n ? n : 1) * sizeof *sizes);
    lmt_strbuf h;
    lmt_sb_init(&h);
    lmt_status s = LMT_OK;
    if (!order || !sizes) s = lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path);
    if (s == LMT_OK) s = check_inputs(path, t, n, metadata, sizes);
    if (s == LMT_OK) {
        for (size_t i = 0; i < n; i++) order[i] = i;
        qsort_r(order, n, sizeof *order, cmp_out, (void *)t);
        s = check_unique(path, t, n);
    }
    size_t total = 0;
    for (size_t i = 0; s == LMT_OK && i < n; i++) {
        if (sizes[i] > SIZE_MAX - total) s = lmt_fail(LMT_ERR_ARG, "%s: tensors too large", path);
        else total += sizes[i];
    }
    if (s == LMT_OK) {
        put_header(&h, t, n, order, sizes, metadata);
        if (h.oom) s = lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path);
        else if (h.len > MAX_HEADER) s = lmt_fail(LMT_ERR_ARG, "%s: header of %zu bytes is over the 100 MB limit", path, h.len);
    }
    if (s == LMT_OK) s = write_stream(path, &h, t, n, order, sizes);
    lmt_sb_free(&h);
    free(order);
    free(sizes);
    return s;
}
