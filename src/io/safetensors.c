/* safetensors: mmap'd zero-copy reading with every header field validated as
 * the reference (Rust) implementation does, and writing in its exact layout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "io/tensor_file.h"

#define MAX_HEADER (100u * 1000u * 1000u)   /* the reference library's limit */

typedef struct { lmt_mmap map; } st_impl;

static int dtype_from_name(const char *s) {
    for (int t = 0; t < LMT_DTYPE_COUNT; t++)
        if (!strcmp(s, lmt_dtype_name((lmt_dtype)t))) return t;
    return -1;
}

static int cmp_by_begin(const void *a, const void *b, void *ctx) {
    const size_t *begins = ctx;
    size_t x = begins[*(const size_t *)a], y = begins[*(const size_t *)b];
    return x < y ? -1 : x > y;
}

/* Sets *out to a non-negative integer that fits size_t, from a JSON number. */
static bool json_size(const lmt_json *v, size_t *out) {
    if (!v || v->type != LMT_JSON_NUMBER || !v->is_int || v->i64 < 0) return false;
    *out = (size_t)v->i64;
    return true;
}

static lmt_status parse_entry(const char *path, const char *name, const lmt_json *v, size_t data_len,
                              lmt_tensor_entry *e, size_t *begin, size_t *end) {
    if (v->type != LMT_JSON_OBJECT)
        return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": header entry must be an object", path, name);
    for (size_t k = 0; k < v->len; k++)
        if (strcmp(v->keys[k], "dtype") && strcmp(v->keys[k], "shape") && strcmp(v->keys[k], "data_offsets"))
            return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": unknown header field \"%s\"", path, name, v->keys[k]);
    const lmt_json *dt = lmt_json_get(v, "dtype"), *shape = lmt_json_get(v, "shape"), *offs = lmt_json_get(v, "data_offsets");
    if (!dt || dt->type != LMT_JSON_STRING)
        return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": missing or non-string \"dtype\"", path, name);
    int t = dtype_from_name(dt->str);
    if (t < 0) return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: tensor \"%s\": unsupported dtype \"%s\"", path, name, dt->str);
    if (!shape || shape->type != LMT_JSON_ARRAY)
        return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": missing or non-array \"shape\"", path, name);
    if (shape->len > LMT_MAX_DIMS)
        return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: tensor \"%s\": %zu dimensions (at most %d)", path, name, shape->len, LMT_MAX_DIMS);
    size_t numel = 1;
    for (size_t d = 0; d < shape->len; d++) {
        size_t n;
        if (!json_size(&shape->items[d], &n))
            return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": shape[%zu] is not a non-negative integer", path, name, d);
        if (n && numel > SIZE_MAX / n)
            return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": shape overflows", path, name);
        numel *= n;
        e->shape[d] = (int64_t)n;
    }
    size_t esize = lmt_dtype_size((lmt_dtype)t);
    if (numel > SIZE_MAX / esize) return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": shape overflows", path, name);
    if (!offs || offs->type != LMT_JSON_ARRAY || offs->len != 2 || !json_size(&offs->items[0], begin) || !json_size(&offs->items[1], end))
        return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": \"data_offsets\" must be two non-negative integers", path, name);
    if (*end < *begin) return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": data_offsets end %zu before begin %zu", path, name, *end, *begin);
    if (*end > data_len)
        return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": data_offsets [%zu, %zu] past the end of the data (%zu bytes; file truncated?)",
                        path, name, *begin, *end, data_len);
    if (*end - *begin != numel * esize)
        return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": shape and dtype %s need %zu bytes but data_offsets span %zu",
                        path, name, dt->str, numel * esize, *end - *begin);
    e->dtype = (lmt_dtype)t;
    e->ndim = (int)shape->len;
    e->nbytes = numel * esize;
    return LMT_OK;
}

lmt_status lmt_safetensors_open(const char *path, lmt_tensor_file **out) {
    *out = NULL;
    lmt_tensor_file *f = calloc(1, sizeof *f);
    st_impl *impl = calloc(1, sizeof *impl);
    lmt_json *hdr = NULL;
    size_t *begins = NULL, *ends = NULL, *order = NULL;
    lmt_status s = LMT_OK;
    if (f) { f->impl = impl; f->kind = 1; } else free(impl);
    if (!f || !impl || !(f->path = lmt_strdup(path))) { s = lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path); goto fail; }
    if ((s = lmt_mmap_open(path, &impl->map)) != LMT_OK) goto fail;
    const unsigned char *p = impl->map.data;
    size_t len = impl->map.len;
    if (len < 8) { s = lmt_fail(LMT_ERR_FORMAT, "%s: too small to be a safetensors file (%zu bytes)", path, len); goto fail; }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | p[i];
    if (n > MAX_HEADER) { s = lmt_fail(LMT_ERR_FORMAT, "%s: header length %llu is too large (not a safetensors file?)", path, (unsigned long long)n); goto fail; }
    if (n > len - 8) { s = lmt_fail(LMT_ERR_FORMAT, "%s: header length %llu runs past the end of the file (%zu bytes; truncated?)", path, (unsigned long long)n, len); goto fail; }
    if (n < 2 || p[8] != '{') { s = lmt_fail(LMT_ERR_FORMAT, "%s: header does not start with '{' (not a safetensors file?)", path); goto fail; }
    if ((s = lmt_json_parse((const char *)p + 8, (size_t)n, path, &hdr)) != LMT_OK) { lmt_fail_wrap(s, "safetensors header"); goto fail; }
    if (hdr->type != LMT_JSON_OBJECT) { s = lmt_fail(LMT_ERR_FORMAT, "%s: header must be a JSON object", path); goto fail; }
    size_t data_len = len - 8 - (size_t)n;
    const unsigned char *data = p + 8 + n;
    size_t count = 0;
    for (size_t i = 0; i < hdr->len; i++) if (strcmp(hdr->keys[i], "__metadata__")) count++;
    f->entries = calloc(count ? count : 1, sizeof *f->entries);
    begins = calloc(count ? count : 1, sizeof *begins);
    ends = calloc(count ? count : 1, sizeof *ends);
    order = calloc(count ? count : 1, sizeof *order);
    if (!f->entries || !begins || !ends || !order) { s = lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path); goto fail; }
    for (size_t i = 0; i < hdr->len; i++) {
        const char *key = hdr->keys[i];
        const lmt_json *v = &hdr->items[i];
        if (!strcmp(key, "__metadata__")) {
            if (f->metadata) { s = lmt_fail(LMT_ERR_FORMAT, "%s: duplicate \"__metadata__\"", path); goto fail; }
            if (v->type != LMT_JSON_OBJECT) { s = lmt_fail(LMT_ERR_FORMAT, "%s: \"__metadata__\" must be an object of strings", path); goto fail; }
            for (size_t k = 0; k < v->len; k++)
                if (v->items[k].type != LMT_JSON_STRING) {
                    s = lmt_fail(LMT_ERR_FORMAT, "%s: \"__metadata__\" value of \"%s\" must be a string", path, v->keys[k]);
                    goto fail;
                }
            if (!(f->metadata = lmt_json_clone(v))) { s = lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path); goto fail; }
            continue;
        }
        if (hdr->key_lens[i] != strlen(key)) { s = lmt_fail(LMT_ERR_FORMAT, "%s: tensor name contains a NUL byte", path); goto fail; }
        for (size_t e = 0; e < f->n; e++)
            if (!strcmp(f->entries[e].name, key)) { s = lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\" appears twice in the header", path, key); goto fail; }
        lmt_tensor_entry *e = &f->entries[f->n];
        if ((s = parse_entry(path, key, v, data_len, e, &begins[f->n], &ends[f->n])) != LMT_OK) goto fail;
        if (!(e->name = lmt_strdup(key))) { s = lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path); goto fail; }
        e->data = data + begins[f->n];
        order[f->n] = f->n;
        f->n++;
    }
    /* As the reference implementation: tensors tile the data region exactly,
     * in offset order, with no gap, overlap or trailing bytes. */
    qsort_r(order, f->n, sizeof *order, cmp_by_begin, begins);
    size_t pos = 0;
    for (size_t k = 0; k < f->n; k++) {
        size_t i = order[k];
        if (begins[i] != pos) {
            s = lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": data_offsets [%zu, %zu] %s the previous tensor (expected to start at %zu)",
                         path, f->entries[i].name, begins[i], ends[i], begins[i] < pos ? "overlap" : "leave a gap after", pos);
            goto fail;
        }
        pos = ends[i];
    }
    if (pos != data_len) {
        s = lmt_fail(LMT_ERR_FORMAT, "%s: the tensors cover %zu bytes but the data region holds %zu", path, pos, data_len);
        goto fail;
    }
    free(begins); free(ends); free(order);
    lmt_json_free(hdr);
    *out = f;
    return LMT_OK;
fail:
    free(begins); free(ends); free(order);
    lmt_json_free(hdr);
    lmt_tensor_file_free(f);
    return s;
}

void lmt_safetensors_impl_free(void *impl) {
    st_impl *i = impl;
    if (!i) return;
    lmt_mmap_close(&i->map);
    free(i);
}

/* ---- writing ---- */

/* The reference writer orders tensors by dtype (largest first, its enum
 * order) and then by name. */
static int dtype_rank(lmt_dtype t) {
    switch (t) {
    case LMT_BOOL: return 0;
    case LMT_U8: return 1;
    case LMT_I8: return 2;
    case LMT_I16: return 3;
    case LMT_F16: return 4;
    case LMT_BF16: return 5;
    case LMT_I32: return 6;
    case LMT_F32: return 7;
    case LMT_F64: return 8;
    case LMT_I64: return 9;
    default: return -1;
    }
}

static int cmp_out(const void *a, const void *b, void *ctx) {
    const lmt_tensor_out *t = ctx;
    const lmt_tensor_out *x = &t[*(const size_t *)a], *y = &t[*(const size_t *)b];
    int rx = dtype_rank(x->dtype), ry = dtype_rank(y->dtype);
    if (rx != ry) return ry - rx;
    return strcmp(x->name, y->name);
}

lmt_status lmt_safetensors_write(const char *path, const lmt_tensor_out *t, size_t n, const char *const *metadata) {
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!order) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        order[i] = i;
        if (dtype_rank(t[i].dtype) < 0 || t[i].ndim < 0 || t[i].ndim > LMT_MAX_DIMS) {
            free(order);
            return lmt_fail(LMT_ERR_ARG, "%s: tensor \"%s\": invalid dtype or rank", path, t[i].name);
        }
        for (size_t k = 0; k < i; k++)
            if (!strcmp(t[k].name, t[i].name)) { free(order); return lmt_fail(LMT_ERR_ARG, "%s: tensor \"%s\" given twice", path, t[i].name); }
    }
    qsort_r(order, n, sizeof *order, cmp_out, (void *)t);
    lmt_strbuf h;
    lmt_sb_init(&h);
    lmt_sb_putc(&h, '{');
    bool first = true;
    if (metadata && metadata[0]) {
        lmt_sb_puts(&h, "\"__metadata__\":{");
        for (size_t k = 0; metadata[k] && metadata[k + 1]; k += 2) {
            if (k) lmt_sb_putc(&h, ',');
            lmt_json_write_string(&h, metadata[k], strlen(metadata[k]), false);
            lmt_sb_putc(&h, ':');
            lmt_json_write_string(&h, metadata[k + 1], strlen(metadata[k + 1]), false);
        }
        lmt_sb_putc(&h, '}');
        first = false;
    }
    size_t offset = 0;
    size_t *sizes = malloc((n ? n : 1) * sizeof *sizes);
    if (!sizes) { free(order); lmt_sb_free(&h); return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path); }
    for (size_t k = 0; k < n; k++) {
        const lmt_tensor_out *x = &t[order[k]];
        size_t numel = 1;
        for (int d = 0; d < x->ndim; d++) numel *= (size_t)x->shape[d];
        sizes[order[k]] = numel * lmt_dtype_size(x->dtype);
        if (!first) lmt_sb_putc(&h, ',');
        first = false;
        lmt_json_write_string(&h, x->name, strlen(x->name), false);
        lmt_sb_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[", lmt_dtype_name(x->dtype));
        for (int d = 0; d < x->ndim; d++) lmt_sb_printf(&h, "%s%lld", d ? "," : "", (long long)x->shape[d]);
        lmt_sb_printf(&h, "],\"data_offsets\":[%zu,%zu]}", offset, offset + sizes[order[k]]);
        offset += sizes[order[k]];
    }
    lmt_sb_putc(&h, '}');
    while (h.len % 8) lmt_sb_putc(&h, ' ');
    if (h.oom) { free(order); free(sizes); lmt_sb_free(&h); return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path); }
    size_t total = 8 + h.len + offset;
    unsigned char *buf = malloc(total);
    if (!buf) { free(order); free(sizes); lmt_sb_free(&h); return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory (%zu bytes)", path, total); }
    uint64_t hl = h.len;
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(hl >> (8 * i));
    memcpy(buf + 8, h.data, h.len);
    size_t pos = 8 + h.len;
    for (size_t k = 0; k < n; k++) {
        if (sizes[order[k]]) memcpy(buf + pos, t[order[k]].data, sizes[order[k]]);
        pos += sizes[order[k]];
    }
    lmt_status s = lmt_write_file_atomic(path, buf, total);
    free(buf);
    free(order);
    free(sizes);
    lmt_sb_free(&h);
    return s;
}
