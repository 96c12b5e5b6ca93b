/* pytorch_model.bin: torch.save's zip archive of data.pkl + data/<key>
 * storages. Contiguous tensors point into the mapped file; strided views
 * are gathered into owned buffers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "io/pickle.h"
#include "io/tensor_file.h"
#include "io/zip.h"

typedef struct { lmt_mmap map; void **owned; size_t n_owned; } bin_impl;

void lmt_torch_bin_impl_free(void *impl) {
    bin_impl *b = impl;
    if (!b) return;
    for (size_t i = 0; i < b->n_owned; i++) free(b->owned[i]);
    free(b->owned);
    lmt_mmap_close(&b->map);
    free(b);
}

static void gather(unsigned char *dst, const unsigned char *src, const lmt_pickle_tensor *t, size_t es, int d, int64_t off, size_t *pos) {
    if (d == t->ndim) { memcpy(dst + *pos * es, src + (size_t)off * es, es); (*pos)++; return; }
    for (int64_t i = 0; i < t->size[d]; i++) gather(dst, src, t, es, d + 1, off + i * t->stride[d], pos);
}

lmt_status lmt_torch_bin_open(const char *path, lmt_tensor_file **out) {
    *out = NULL;
    lmt_tensor_file *f = calloc(1, sizeof *f);
    bin_impl *impl = calloc(1, sizeof *impl);
    lmt_zip z = {0};
    lmt_pickle_state_dict sd = {0};
    char *prefix = NULL;
    lmt_status s = LMT_OK;
    if (!f || !impl || !(f->path = lmt_strdup(path))) { free(impl); s = lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path); goto fail; }
    f->impl = impl;
    f->kind = 2;
    if ((s = lmt_mmap_open(path, &impl->map)) != LMT_OK) goto fail;
    const unsigned char *buf = impl->map.data;
    size_t len = impl->map.len;
    if (len >= 2 && buf[0] == 0x80 && buf[1] == 0x02) {
        s = lmt_fail(LMT_ERR_UNSUPPORTED, "%s: legacy (pre-1.6, non-zip) torch serialization is not supported; "
                                          "re-save it with a current torch.save or convert it to model.safetensors", path);
        goto fail;
    }
    if (len < 4 || memcmp(buf, "PK\x03\x04", 4) != 0) { s = lmt_fail(LMT_ERR_FORMAT, "%s: not a zip archive (torch.save format expected)", path); goto fail; }
    if ((s = lmt_zip_open(buf, len, path, &z)) != LMT_OK) goto fail;
    const lmt_zip_member *pkl = NULL;
    for (size_t i = 0; i < z.n; i++) {
        const char *nm = z.members[i].name, *slash = strchr(nm, '/');
        if (slash && !strcmp(slash, "/data.pkl")) { pkl = &z.members[i]; prefix = lmt_strndup(nm, (size_t)(slash - nm)); break; }
    }
    if (!pkl || !prefix) { s = lmt_fail(LMT_ERR_FORMAT, "%s: zip archive has no <name>/data.pkl member (not a torch.save file?)", path); goto fail; }
    const lmt_zip_member *bo;
    {
        char name[512];
        snprintf(name, sizeof name, "%s/byteorder", prefix);
        bo = lmt_zip_find(&z, name);
        if (bo && !(bo->size == 6 && !memcmp(bo->data, "little", 6))) { s = lmt_fail(LMT_ERR_UNSUPPORTED, "%s: big-endian torch archives are not supported", path); goto fail; }
    }
    if ((s = lmt_zip_check_crc(pkl, path)) != LMT_OK) goto fail;
    if ((s = lmt_pickle_load_state_dict(pkl->data, pkl->size, path, &sd)) != LMT_OK) goto fail;
    f->entries = calloc(sd.n ? sd.n : 1, sizeof *f->entries);
    impl->owned = calloc(sd.n ? sd.n : 1, sizeof *impl->owned);
    if (!f->entries || !impl->owned) { s = lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path); goto fail; }
    /* Each storage member is CRC-checked once, however many tensors share it. */
    unsigned char *checked = calloc(z.n ? z.n : 1, 1);
    if (!checked) { s = lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path); goto fail; }
    for (size_t i = 0; i < sd.n && s == LMT_OK; i++) {
        const lmt_pickle_tensor *t = &sd.tensors[i];
        char name[1024];
        snprintf(name, sizeof name, "%s/data/%s", prefix, t->storage_key);
        const lmt_zip_member *m = lmt_zip_find(&z, name);
        if (!m) { s = lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": storage member \"%s\" is missing", path, t->name, name); break; }
        size_t mi = (size_t)(m - z.members);
        if (!checked[mi]) { if ((s = lmt_zip_check_crc(m, path)) != LMT_OK) break; checked[mi] = 1; }
        size_t es = lmt_dtype_size(t->dtype);
        if ((uint64_t)t->storage_numel > m->size / es) {
            s = lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": storage \"%s\" holds %zu bytes, fewer than its %lld elements", path, t->name, name, m->size, (long long)t->storage_numel);
            break;
        }
        /* bounds: offset + sum((size-1)*stride) must stay inside the storage */
        size_t numel = 1;
        int64_t last = t->offset;
        bool contiguous = true, empty = false;
        int64_t expect = 1;
        for (int d = t->ndim - 1; d >= 0; d--) {
            if (t->size[d] < 0 || t->stride[d] < 0) { s = lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": negative size or stride", path, t->name); break; }
            if (t->size[d] == 0) empty = true;
            if (t->size[d] > 1 && t->stride[d] != expect) contiguous = false;
            if (t->size[d] && (size_t)t->size[d] > SIZE_MAX / (numel ? numel : 1)) { s = lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": size overflows", path, t->name); break; }
            numel *= (size_t)t->size[d];
            if (t->size[d] > 0) {
                if (t->stride[d] > 0 && (t->size[d] - 1) > (INT64_MAX - last) / t->stride[d]) { s = lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": stride overflows", path, t->name); break; }
                last += (t->size[d] - 1) * t->stride[d];
            }
            expect *= t->size[d] ? t->size[d] : 1;
        }
        if (s != LMT_OK) break;
        if (t->offset < 0 || (!empty && last >= t->storage_numel)) {
            s = lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": view (offset %lld) reaches past its storage of %lld elements", path, t->name, (long long)t->offset, (long long)t->storage_numel);
            break;
        }
        lmt_tensor_entry *e = &f->entries[f->n];
        if (!(e->name = lmt_strdup(t->name))) { s = lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path); break; }
        f->n++;
        e->dtype = t->dtype;
        e->ndim = t->ndim;
        for (int d = 0; d < t->ndim; d++) e->shape[d] = t->size[d];
        e->nbytes = empty ? 0 : numel * es;
        if (empty) { e->data = m->data; continue; }
        if (contiguous) { e->data = m->data + (size_t)t->offset * es; continue; }
        unsigned char *copy = malloc(e->nbytes);
        if (!copy) { s = lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path); break; }
        size_t pos = 0;
        gather(copy, m->data, t, es, 0, t->offset, &pos);
        impl->owned[impl->n_owned++] = copy;
        e->data = copy;
    }
    free(checked);
    if (s != LMT_OK) goto fail;
    lmt_pickle_state_dict_free(&sd);
    lmt_zip_free(&z);
    free(prefix);
    *out = f;
    return LMT_OK;
fail:
    lmt_pickle_state_dict_free(&sd);
    lmt_zip_free(&z);
    free(prefix);
    lmt_tensor_file_free(f);
    return s;
}
