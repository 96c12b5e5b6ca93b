/* pytorch_model.bin: torch.save's zip archive of <top>/data.pkl plus one
 * <top>/data/<key> member per storage. Contiguous tensors point into the
 * mapped file; strided views (transposes, column slices) are gathered into
 * owned contiguous buffers. Several tensors may share a storage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "io/pickle.h"
#include "io/tensor_file.h"
#include "io/tensor_file_impl.h"
#include "io/zip.h"

/* A gathered view may repeat storage elements (stride 0, as expand()
 * makes); beyond this many bytes more than its storage it is forged. */
#define MAX_EXPANSION ((size_t)1 << 30)

typedef struct { lmt_mmap map; lmt_owned owned; } bin_impl;

void lmt_torch_bin_impl_free(void *impl) {
    bin_impl *b = impl;
    if (!b) return;
    lmt_owned_free(&b->owned);
    lmt_mmap_close(&b->map);
    free(b);
}

/* Copies the view's elements in row-major order; depth <= LMT_MAX_DIMS. */
static void gather(unsigned char *dst, const unsigned char *src, const lmt_pickle_tensor *t, size_t es, int d, int64_t off,
                   size_t *pos) {
    if (d == t->ndim) {
        memcpy(dst + *pos * es, src + (size_t)off * es, es);
        (*pos)++;
        return;
    }
    for (int64_t i = 0; i < t->size[d]; i++) gather(dst, src, t, es, d + 1, off + i * t->stride[d], pos);
}

typedef struct { size_t numel; int64_t last; bool contiguous; } view_info;

/* Checks that every element of the view lies inside its storage:
 * offset + sum((size - 1) * stride) < numel, computed without overflow. */
static lmt_status check_view(const char *path, const lmt_pickle_tensor *t, view_info *v) {
    if (t->offset < 0) return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": negative storage offset", path, t->name);
    v->numel = 1;
    v->last = t->offset;
    v->contiguous = true;
    int64_t expect = 1;
    bool empty = false;
    for (int d = t->ndim - 1; d >= 0; d--) {
        int64_t n = t->size[d], st = t->stride[d];
        if (n < 0 || st < 0) return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": negative size or stride", path, t->name);
        if (n == 0) empty = true;
        if (n > 1 && st != expect) v->contiguous = false;
        if (n && v->numel > SIZE_MAX / (uint64_t)n) return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": size overflows", path, t->name);
        v->numel *= (size_t)n;
        if (n > 1 && st > 0) {
            if (n - 1 > (INT64_MAX - v->last) / st) return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": stride overflows", path, t->name);
            v->last += (n - 1) * st;
        }
        if (n > 1 && expect > INT64_MAX / n) return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": size overflows", path, t->name);
        if (n > 1) expect *= n;
    }
    if (empty) { v->numel = 0; v->contiguous = true; return LMT_OK; }
    if (v->last >= t->storage_numel)
        return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": view (offset %lld, last element %lld) reaches past its storage of %lld elements",
                        path, t->name, (long long)t->offset, (long long)v->last, (long long)t->storage_numel);
    return LMT_OK;
}

/* Fills entry e for tensor t whose storage is member m. */
static lmt_status load_tensor(const char *path, bin_impl *impl, const lmt_pickle_tensor *t, const lmt_zip_member *m,
                              lmt_tensor_entry *e) {
    size_t es = lmt_dtype_size(t->dtype);
    if ((uint64_t)t->storage_numel > m->size / es)
        return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": storage \"%s\" holds %zu bytes, fewer than its %lld elements", path,
                        t->name, m->name, m->size, (long long)t->storage_numel);
    view_info v = {0, 0, true};
    LMT_TRY(check_view(path, t, &v));
    if (v.numel > SIZE_MAX / es) return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": size overflows", path, t->name);
    e->dtype = t->dtype;
    e->ndim = t->ndim;
    for (int d = 0; d < t->ndim; d++) e->shape[d] = t->size[d];
    e->nbytes = v.numel * es;
    if (v.contiguous) {
        e->data = v.numel ? m->data + (size_t)t->offset * es : m->data;
        return LMT_OK;
    }
    if (e->nbytes > m->size && e->nbytes - m->size > MAX_EXPANSION)
        return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": a %zu-byte view of a %zu-byte storage", path, t->name, e->nbytes, m->size);
    unsigned char *copy = malloc(e->nbytes);
    if (!copy || lmt_owned_add(&impl->owned, copy) != LMT_OK)
        return lmt_fail(LMT_ERR_NOMEM, "%s: tensor \"%s\": out of memory (%zu bytes)", path, t->name, e->nbytes);
    size_t pos = 0;
    gather(copy, m->data, t, es, 0, t->offset, &pos);
    e->data = copy;
    return LMT_OK;
}

/* The archive's top folder: torch names it after the file, but any works. */
static lmt_status find_pickle(const char *path, const lmt_zip *z, const lmt_zip_member **pkl, char **prefix) {
    for (size_t i = 0; i < z->n; i++) {
        const char *nm = z->members[i].name, *slash = strchr(nm, '/');
        if (slash && !strcmp(slash, "/data.pkl")) {
            *pkl = &z->members[i];
            if (!(*prefix = lmt_strndup(nm, (size_t)(slash - nm)))) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path);
            return LMT_OK;
        }
    }
    return lmt_fail(LMT_ERR_FORMAT, "%s: zip archive without a <name>/data.pkl member (not a torch.save file?)", path);
}

static lmt_status load_tensors(lmt_tensor_file *f, bin_impl *impl, const lmt_zip *z, const char *prefix,
                               const lmt_pickle_state_dict *sd) {
    const char *path = f->path;
    f->entries = calloc(sd->n ? sd->n : 1, sizeof *f->entries);
    unsigned char *checked = calloc(z->n ? z->n : 1, 1);   /* CRC each shared storage once */
    size_t cap = strlen(prefix) + 64;
    char *member = NULL;
    lmt_status s = LMT_OK;
    if (!f->entries || !checked) s = lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < sd->n && s == LMT_OK; i++) {
        const lmt_pickle_tensor *t = &sd->tensors[i];
        char *grown = realloc(member, cap + strlen(t->storage_key));
        if (!grown) { s = lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path); break; }
        member = grown;
        sprintf(member, "%s/data/%s", prefix, t->storage_key);
        const lmt_zip_member *m = lmt_zip_find(z, member);
        if (!m) { s = lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": storage member \"%s\" is missing", path, t->name, member); break; }
        size_t mi = (size_t)(m - z->members);
        if (!checked[mi]) {
            if ((s = lmt_zip_check_crc(m, path)) != LMT_OK) break;
            checked[mi] = 1;
        }
        lmt_tensor_entry *e = &f->entries[f->n];
        if ((s = load_tensor(path, impl, t, m, e)) != LMT_OK) break;
        if (!(e->name = lmt_strdup(t->name))) { s = lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path); break; }
        f->n++;
    }
    free(member);
    free(checked);
    return s;
}

lmt_status lmt_torch_bin_open(const char *path, lmt_tensor_file **out) {
    *out = NULL;
    lmt_tensor_file *f = calloc(1, sizeof *f);
    bin_impl *impl = calloc(1, sizeof *impl);
    if (!f || !impl || !(f->path = lmt_strdup(path))) {
        free(impl);
        free(f);
        return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path);
    }
    f->impl = impl;
    f->kind = LMT_TENSOR_FILE_TORCH;
    lmt_zip z = {0};
    lmt_pickle_state_dict sd = {0};
    const lmt_zip_member *pkl = NULL;
    char *prefix = NULL;
    lmt_status s = lmt_mmap_open(path, &impl->map);
    const unsigned char *buf = impl->map.data;
    size_t len = impl->map.len;
    if (s == LMT_OK && len >= 4 && !memcmp(buf, "\x80\x02\x8a\x0a", 4))
        s = lmt_fail(LMT_ERR_UNSUPPORTED, "%s: legacy (pre-1.6, non-zip) torch serialization is not supported; re-save it "
                                          "with a current torch.save or convert it to model.safetensors", path);
    else if (s == LMT_OK && (len < 4 || memcmp(buf, "PK\x03\x04", 4)))
        s = lmt_fail(LMT_ERR_FORMAT, "%s: not a zip archive (the torch.save format was expected)", path);
    if (s == LMT_OK) s = lmt_zip_open(buf, len, path, &z);
    if (s == LMT_OK) s = find_pickle(path, &z, &pkl, &prefix);
    if (s == LMT_OK) {
        char *name = malloc(strlen(prefix) + 16);
        if (!name) s = lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path);
        else {
            sprintf(name, "%s/byteorder", prefix);
            const lmt_zip_member *bo = lmt_zip_find(&z, name);   /* absent before torch 2.1: little-endian */
            if (bo && !(bo->size == 6 && !memcmp(bo->data, "little", 6)))
                s = lmt_fail(LMT_ERR_UNSUPPORTED, "%s: big-endian torch archives are not supported", path);
            free(name);
        }
    }
    if (s == LMT_OK) s = lmt_zip_check_crc(pkl, path);
    if (s == LMT_OK) s = lmt_pickle_load_state_dict(pkl->data, pkl->size, path, &sd);
    if (s == LMT_OK) s = load_tensors(f, impl, &z, prefix, &sd);
    if (s == LMT_OK) s = lmt_tensor_file_build_index(f);
    if (s == LMT_OK) s = lmt_tensor_file_align(f, &impl->owned);
    lmt_pickle_state_dict_free(&sd);
    lmt_zip_free(&z);
    free(prefix);
    if (s != LMT_OK) { lmt_tensor_file_free(f); return s; }
    *out = f;
    return LMT_OK;
}
