/* safetensors reading: the file is mmap'd and tensors point into it. The
 * header is held to the rules of the reference (Rust) implementation, so a
 * file lmtune accepts is one `safetensors` accepts (checked on the corpus in
 * tests/fixtures/io/st_verdicts.txt). Deliberate extra refusals: a name given
 * twice (the reference silently keeps the last), a name holding a NUL byte
 * (not a C string), more than LMT_MAX_DIMS dimensions, dtypes lmtune has no
 * use for (F8_*, U16, ...). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "io/tensor_file.h"
#include "io/tensor_file_impl.h"

#define MAX_HEADER 100000000u   /* the reference's MAX_HEADER_SIZE */

typedef struct { lmt_mmap map; lmt_owned owned; } st_impl;

void lmt_safetensors_impl_free(void *impl) {
    st_impl *i = impl;
    if (!i) return;
    lmt_owned_free(&i->owned);
    lmt_mmap_close(&i->map);
    free(i);
}

/* Valid safetensors dtypes lmtune has no use for: named as such in errors. */
static const char *const foreign_dtypes[] = {"F4", "F6_E2M3", "F6_E3M2", "F8_E5M2", "F8_E4M3", "F8_E8M0",
                                             "F8_E4M3FNUZ", "F8_E5M2FNUZ", "U16", "U32", "U64", "C64"};

static lmt_status parse_dtype(const char *path, const char *name, const char *s, lmt_dtype *out) {
    for (int t = 0; t < LMT_DTYPE_COUNT; t++)
        if (!strcmp(s, lmt_dtype_name((lmt_dtype)t))) { *out = (lmt_dtype)t; return LMT_OK; }
    for (size_t i = 0; i < sizeof foreign_dtypes / sizeof *foreign_dtypes; i++)
        if (!strcmp(s, foreign_dtypes[i]))
            return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: tensor \"%s\": dtype %s is not supported (lmtune reads "
                                                 "F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)", path, name, s);
    return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": unknown dtype \"%.40s\"", path, name, s);
}

/* A JSON number usable as usize: integral, non-negative, no exponent. */
static bool json_size(const lmt_json *v, size_t *out) {
    if (!v || v->type != LMT_JSON_NUMBER || !v->is_int || v->i64 < 0) return false;
    if (v->i64 == 0 && signbit(v->num)) return false;   /* "-0" is a float to serde */
    *out = (size_t)v->i64;
    return true;
}

/* The member `key` of a tensor entry; NULL if absent, error if repeated. */
static lmt_status field(const char *path, const char *name, const lmt_json *v, const char *key, const lmt_json **out) {
    *out = NULL;
    for (size_t k = 0; k < v->len; k++) {
        if (strcmp(v->keys[k], key) || v->key_lens[k] != strlen(key)) continue;
        if (*out) return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": field \"%s\" appears twice", path, name, key);
        *out = &v->items[k];
    }
    if (!*out) return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": missing \"%s\"", path, name, key);
    return LMT_OK;
}

/* Fills e (but its name and data) and the entry's [begin, end) span. */
static lmt_status parse_entry(const char *path, const char *name, const lmt_json *v, lmt_tensor_entry *e,
                              size_t *begin, size_t *end) {
    if (v->type != LMT_JSON_OBJECT)
        return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": header entry must be an object", path, name);
    const lmt_json *dt, *shape, *offs;
    LMT_TRY(field(path, name, v, "dtype", &dt));
    LMT_TRY(field(path, name, v, "shape", &shape));
    LMT_TRY(field(path, name, v, "data_offsets", &offs));
    if (dt->type != LMT_JSON_STRING) return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": \"dtype\" must be a string", path, name);
    LMT_TRY(parse_dtype(path, name, dt->str, &e->dtype));
    if (shape->type != LMT_JSON_ARRAY)
        return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": \"shape\" must be an array", path, name);
    size_t numel = 1;
    bool overflow = false;
    for (size_t d = 0; d < shape->len; d++) {
        size_t n;
        if (!json_size(&shape->items[d], &n))
            return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": shape[%zu] is not a non-negative integer", path, name, d);
        if (n && numel > SIZE_MAX / n) overflow = true;
        else numel *= n;
        if (d < LMT_MAX_DIMS) e->shape[d] = (int64_t)n;
    }
    if (overflow) return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": the shape's element count overflows", path, name);
    if (shape->len > LMT_MAX_DIMS)
        return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: tensor \"%s\": %zu dimensions (lmtune handles at most %d)", path, name,
                        shape->len, LMT_MAX_DIMS);
    size_t esize = lmt_dtype_size(e->dtype);
    if (numel > SIZE_MAX / esize) return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": the shape's byte size overflows", path, name);
    if (offs->type != LMT_JSON_ARRAY || offs->len != 2 || !json_size(&offs->items[0], begin) || !json_size(&offs->items[1], end))
        return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": \"data_offsets\" must be two non-negative integers", path, name);
    if (*end < *begin)
        return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": data_offsets end %zu is before begin %zu", path, name, *end, *begin);
    if (*end - *begin != numel * esize)
        return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": shape and dtype %s need %zu bytes but data_offsets [%zu, %zu] span %zu",
                        path, name, dt->str, numel * esize, *begin, *end, *end - *begin);
    e->ndim = (int)shape->len;
    e->nbytes = numel * esize;
    return LMT_OK;
}

static lmt_status parse_metadata(const char *path, const lmt_json *v, lmt_json **out) {
    if (v->type == LMT_JSON_NULL) return LMT_OK;   /* the reference reads null as "no metadata" */
    if (v->type != LMT_JSON_OBJECT) return lmt_fail(LMT_ERR_FORMAT, "%s: \"__metadata__\" must be an object of strings", path);
    for (size_t k = 0; k < v->len; k++)
        if (v->items[k].type != LMT_JSON_STRING)
            return lmt_fail(LMT_ERR_FORMAT, "%s: \"__metadata__\" value of \"%s\" must be a string", path, v->keys[k]);
    if (!(*out = lmt_json_clone(v))) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path);
    return LMT_OK;
}

/* Strict UTF-8: no overlong forms, no surrogates, at most U+10FFFF. */
static bool utf8_ok(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (!k || n - i < k) return false;
        unsigned cp = k == 1 ? c : k == 2 ? (c & 0x1F) : k == 3 ? (c & 0x0F) : (c & 0x07);
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        static const unsigned min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += k;
    }
    return true;
}

/* What core's parser accepts beyond serde_json, which the reference uses:
 * NaN/Infinity/out-of-range numbers, lone surrogate escapes and nesting past
 * serde's recursion limit (127 levels), anywhere (unknown fields included). */
static bool serde_compatible(const lmt_json *v, int depth) {
    switch (v->type) {
    case LMT_JSON_NUMBER: return isfinite(v->num);
    case LMT_JSON_STRING: return utf8_ok((const unsigned char *)v->str, v->len);
    case LMT_JSON_ARRAY:
    case LMT_JSON_OBJECT:
        if (depth > 127) return false;
        for (size_t i = 0; i < v->len; i++) {
            if (v->type == LMT_JSON_OBJECT && !utf8_ok((const unsigned char *)v->keys[i], v->key_lens[i])) return false;
            if (!serde_compatible(&v->items[i], depth + 1)) return false;
        }
        return true;
    default: return true;
    }
}

typedef struct { size_t begin, end, entry; } span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->entry < y->entry ? -1 : x->entry > y->entry;
}

/* As the reference: sorted by (begin, end), the spans tile the data region
 * exactly - no overlap, no gap, no trailing bytes. */
static lmt_status check_tiling(const lmt_tensor_file *f, span *spans, size_t data_len) {
    qsort(spans, f->n, sizeof *spans, cmp_span);
    size_t pos = 0;
    for (size_t k = 0; k < f->n; k++) {
        const span *s = &spans[k];
        if (s->begin != pos)
            return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": data_offsets [%zu, %zu] %s (the previous tensor ends at %zu)",
                            f->path, f->entries[s->entry].name, s->begin, s->end,
                            s->begin < pos ? "overlap another tensor" : "leave a gap", pos);
        if (s->end > data_len)
            return lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\": data_offsets [%zu, %zu] run past the end of the data "
                                            "(%zu bytes; file truncated?)", f->path, f->entries[s->entry].name, s->begin, s->end, data_len);
        pos = s->end;
    }
    if (pos != data_len)
        return lmt_fail(LMT_ERR_FORMAT, "%s: the tensors cover %zu bytes but the data region holds %zu", f->path, pos, data_len);
    return LMT_OK;
}

/* Parses the header text into f (entries, metadata); spans[i] for entry i. */
static lmt_status parse_header(lmt_tensor_file *f, const char *text, size_t n, span **spans_out) {
    const char *path = f->path;
    /* serde_json reads the header as UTF-8 text without a BOM */
    if (n >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) return lmt_fail(LMT_ERR_FORMAT, "%s: safetensors header starts with a BOM", path);
    lmt_json *hdr = NULL;
    lmt_status s = lmt_json_parse(text, n, "header", &hdr);
    if (s != LMT_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", lmt_last_error());
        return lmt_fail(s == LMT_ERR_NOMEM ? s : LMT_ERR_FORMAT, "%s: invalid JSON in the safetensors %s", path, why);
    }
    if (hdr->type != LMT_JSON_OBJECT) {
        lmt_json_free(hdr);
        return lmt_fail(LMT_ERR_FORMAT, "%s: the safetensors header is JSON but not an object", path);
    }
    if (!serde_compatible(hdr, 1)) {
        lmt_json_free(hdr);
        return lmt_fail(LMT_ERR_FORMAT, "%s: invalid JSON in the safetensors header (NaN, Infinity, a number out of range, "
                                        "a lone surrogate escape or nesting deeper than 127)", path);
    }
    size_t count = 0;
    bool seen_meta = false;
    for (size_t i = 0; i < hdr->len; i++) {
        if (strcmp(hdr->keys[i], "__metadata__") || hdr->key_lens[i] != 12) { count++; continue; }
        if (seen_meta) { lmt_json_free(hdr); return lmt_fail(LMT_ERR_FORMAT, "%s: \"__metadata__\" appears twice", path); }
        seen_meta = true;
        if ((s = parse_metadata(path, &hdr->items[i], &f->metadata)) != LMT_OK) { lmt_json_free(hdr); return s; }
    }
    span *spans = calloc(count ? count : 1, sizeof *spans);
    f->entries = calloc(count ? count : 1, sizeof *f->entries);
    if (!spans || !f->entries) { free(spans); lmt_json_free(hdr); return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path); }
    for (size_t i = 0; i < hdr->len && s == LMT_OK; i++) {
        const char *key = hdr->keys[i];
        if (!strcmp(key, "__metadata__") && hdr->key_lens[i] == 12) continue;
        if (hdr->key_lens[i] != strlen(key)) { s = lmt_fail(LMT_ERR_FORMAT, "%s: tensor name \"%s...\" holds a NUL byte", path, key); break; }
        lmt_tensor_entry *e = &f->entries[f->n];
        if ((s = parse_entry(path, key, &hdr->items[i], e, &spans[f->n].begin, &spans[f->n].end)) != LMT_OK) break;
        if (!(e->name = lmt_strdup(key))) { s = lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path); break; }
        spans[f->n].entry = f->n;
        f->n++;
    }
    lmt_json_free(hdr);
    if (s != LMT_OK) { free(spans); return s; }
    *spans_out = spans;
    return LMT_OK;
}

lmt_status lmt_safetensors_open(const char *path, lmt_tensor_file **out) {
    *out = NULL;
    lmt_tensor_file *f = calloc(1, sizeof *f);
    st_impl *impl = calloc(1, sizeof *impl);
    if (!f || !impl || !(f->path = lmt_strdup(path))) {
        free(impl);
        if (f) free(f);
        return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path);
    }
    f->impl = impl;
    f->kind = LMT_TENSOR_FILE_SAFETENSORS;
    span *spans = NULL;
    lmt_status s = lmt_mmap_open(path, &impl->map);
    const unsigned char *p = impl->map.data;
    size_t len = impl->map.len;
    uint64_t n = 0;
    if (s == LMT_OK && len < 8)
        s = lmt_fail(LMT_ERR_FORMAT, "%s: %zu bytes, too small to be a safetensors file", path, len);
    if (s == LMT_OK) {
        for (int i = 7; i >= 0; i--) n = (n << 8) | p[i];
        if (n > MAX_HEADER)
            s = lmt_fail(LMT_ERR_FORMAT, "%s: header length %llu is over the 100 MB limit (not a safetensors file?)", path,
                         (unsigned long long)n);
        else if (n > len - 8)
            s = lmt_fail(LMT_ERR_FORMAT, "%s: header length %llu runs past the end of the file (%zu bytes; truncated?)", path,
                         (unsigned long long)n, len);
    }
    if (s == LMT_OK) s = parse_header(f, (const char *)p + 8, (size_t)n, &spans);
    if (s == LMT_OK) s = lmt_tensor_file_build_index(f);
    if (s == LMT_OK) s = check_tiling(f, spans, len - 8 - (size_t)n);
    if (s == LMT_OK)
        for (size_t i = 0; i < f->n; i++) f->entries[spans[i].entry].data = p + 8 + n + spans[i].begin;
    if (s == LMT_OK) s = lmt_tensor_file_align(f, &impl->owned);
    free(spans);
    if (s != LMT_OK) { lmt_tensor_file_free(f); return s; }
    *out = f;
    return LMT_OK;
}
