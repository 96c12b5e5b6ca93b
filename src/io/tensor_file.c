/* Format dispatch, name lookup and lifetime of checkpoint files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/hashmap.h"
#include "core/util.h"
#include "io/tensor_file.h"
#include "io/tensor_file_impl.h"

/* torch.save before 1.6: a bare pickle starting PROTO 2, LONG1 of 10 bytes
 * (the magic number 0x1950a86a20f9469cfc6c). Four bytes are enough to tell it
 * from a safetensors header length, which would be > 100 MB. */
static const unsigned char legacy_magic[4] = {0x80, 0x02, 0x8a, 0x0a};

lmt_status lmt_tensor_file_open(const char *path, lmt_tensor_file **out) {
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return lmt_fail(errno == ENOENT ? LMT_ERR_NOT_FOUND : LMT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char head[4] = {0};
    size_t n = fread(head, 1, sizeof head, fp);
    fclose(fp);
    if (n == 4 && (memcmp(head, "PK\x03\x04", 4) == 0 || memcmp(head, legacy_magic, 4) == 0))
        return lmt_torch_bin_open(path, out);
    return lmt_safetensors_open(path, out);
}

lmt_status lmt_tensor_file_build_index(lmt_tensor_file *f) {
    lmt_strmap *m = lmt_strmap_new(f->n);
    if (!m) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", f->path);
    for (size_t i = 0; i < f->n; i++) {
        const char *name = f->entries[i].name;
        int64_t prev;
        if (lmt_strmap_get(m, name, strlen(name), &prev)) {
            lmt_strmap_free(m);
            return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\" appears twice", f->path, name);
        }
        if (lmt_strmap_put(m, name, strlen(name), (int64_t)i) != LMT_OK) {
            lmt_strmap_free(m);
            return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", f->path);
        }
    }
    f->index = m;
    return LMT_OK;
}

lmt_status lmt_owned_add(lmt_owned *o, void *buf) {
    if (o->n == o->cap) {
        size_t nc = o->cap ? 2 * o->cap : 16;
        void **np = realloc(o->p, nc * sizeof *np);
        if (!np) { free(buf); return LMT_ERR_NOMEM; }
        o->p = np;
        o->cap = nc;
    }
    o->p[o->n++] = buf;
    return LMT_OK;
}

void lmt_owned_free(lmt_owned *o) {
    for (size_t i = 0; i < o->n; i++) free(o->p[i]);
    free(o->p);
    memset(o, 0, sizeof *o);
}

lmt_status lmt_tensor_file_align(lmt_tensor_file *f, lmt_owned *o) {
    for (size_t i = 0; i < f->n; i++) {
        lmt_tensor_entry *e = &f->entries[i];
        size_t es = lmt_dtype_size(e->dtype);
        if (!e->nbytes || (uintptr_t)e->data % es == 0) continue;
        void *copy = malloc(e->nbytes);   /* malloc aligns for every C type */
        if (!copy || lmt_owned_add(o, copy) != LMT_OK)
            return lmt_fail(LMT_ERR_NOMEM, "%s: tensor \"%s\": out of memory (%zu bytes)", f->path, e->name, e->nbytes);
        memcpy(copy, e->data, e->nbytes);
        e->data = copy;
    }
    return LMT_OK;
}

void lmt_tensor_file_free(lmt_tensor_file *f) {
    if (!f) return;
    for (size_t i = 0; i < f->n; i++) free(f->entries[i].name);
    free(f->entries);
    lmt_json_free(f->metadata);
    lmt_strmap_free(f->index);
    if (f->kind == LMT_TENSOR_FILE_TORCH) lmt_torch_bin_impl_free(f->impl);
    else lmt_safetensors_impl_free(f->impl);
    free(f->path);
    free(f);
}

const lmt_tensor_entry *lmt_tensor_file_find(const lmt_tensor_file *f, const char *name) {
    if (!f || !name) return NULL;
    int64_t i;
    if (f->index) return lmt_strmap_get(f->index, name, strlen(name), &i) ? &f->entries[i] : NULL;
    for (size_t k = 0; k < f->n; k++)
        if (!strcmp(f->entries[k].name, name)) return &f->entries[k];
    return NULL;
}
