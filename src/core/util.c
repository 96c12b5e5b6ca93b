/* Files, strings, allocation and number-format helpers. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "core/error.h"
#include "core/util.h"

/* ---- string builder ---- */
void lmt_sb_init(lmt_strbuf *b) { memset(b, 0, sizeof *b); }
void lmt_sb_free(lmt_strbuf *b) { free(b->data); memset(b, 0, sizeof *b); }

static bool sb_reserve(lmt_strbuf *b, size_t extra) {
    if (b->oom) return false;
    if (b->len + extra + 1 <= b->cap) return true;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < b->len + extra + 1) {
        if (ncap > SIZE_MAX / 2) { b->oom = true; return false; }
        ncap *= 2;
    }
    char *nd = realloc(b->data, ncap);
    if (!nd) { b->oom = true; return false; }
    b->data = nd;
    b->cap = ncap;
    return true;
}

void lmt_sb_append(lmt_strbuf *b, const char *s, size_t n) {
    if (!sb_reserve(b, n)) return;
    if (n) memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}
void lmt_sb_puts(lmt_strbuf *b, const char *s) { lmt_sb_append(b, s, strlen(s)); }
void lmt_sb_putc(lmt_strbuf *b, char c) { lmt_sb_append(b, &c, 1); }

void lmt_sb_printf(lmt_strbuf *b, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !sb_reserve(b, (size_t)n)) { va_end(ap2); return; }
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
}

char *lmt_sb_take(lmt_strbuf *b) {
    if (b->oom) { lmt_sb_free(b); return NULL; }
    if (!b->data) {
        if (!sb_reserve(b, 0)) return NULL;
        b->data[0] = '\0';   /* an empty string is still a string */
    }
    char *d = b->data;
    memset(b, 0, sizeof *b);
    return d;
}

/* ---- files ---- */
lmt_status lmt_read_file(const char *path, char **data, size_t *len) {
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return lmt_fail(errno == ENOENT ? LMT_ERR_NOT_FOUND : LMT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || S_ISDIR(st.st_mode)) {
        fclose(f);
        return lmt_fail(LMT_ERR_IO, "%s: not a regular file", path);
    }
    size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) { fclose(f); return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory reading file", path); }
    for (;;) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); fclose(f); return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory reading file", path); }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) { free(buf); return lmt_fail(LMT_ERR_IO, "%s: read error", path); }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return LMT_OK;
}

lmt_status lmt_atomic_open(lmt_atomic_file *f, const char *path) {
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->path = path;
    size_t plen = strlen(path) + 32;
    if (!(f->tmp = malloc(plen))) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path);
    snprintf(f->tmp, plen, "%s.tmp-%ld", path, (long)getpid());
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (f->fd < 0) {
        lmt_status s = lmt_fail(LMT_ERR_IO, "%s: cannot create: %s", f->tmp, strerror(errno));
        free(f->tmp);
        f->tmp = NULL;
        return s;
    }
    return LMT_OK;
}

void lmt_atomic_write(lmt_atomic_file *f, const void *data, size_t n) {
    const char *p = data;
    while (!f->failed && n > 0) {
        ssize_t w = write(f->fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { f->failed = true; break; }
        p += w;
        n -= (size_t)w;
    }
}

void lmt_atomic_abort(lmt_atomic_file *f) {
    if (f->fd >= 0) close(f->fd);
    if (f->tmp) unlink(f->tmp);
    free(f->tmp);
    f->fd = -1;
    f->tmp = NULL;
}

lmt_status lmt_atomic_commit(lmt_atomic_file *f) {
    const char *what = f->failed ? "write failed" : NULL;
    if (!what && fsync(f->fd) != 0) what = "cannot flush";
    if (close(f->fd) != 0 && !what) what = "cannot close";
    f->fd = -1;
    lmt_status s = LMT_OK;
    if (what) s = lmt_fail(LMT_ERR_IO, "%s: %s: %s", f->tmp, what, strerror(errno));
    else if (rename(f->tmp, f->path) != 0) s = lmt_fail(LMT_ERR_IO, "%s: cannot rename into place: %s", f->path, strerror(errno));
    if (s != LMT_OK) unlink(f->tmp);
    free(f->tmp);
    f->tmp = NULL;
    return s;
}

lmt_status lmt_write_file_atomic(const char *path, const void *data, size_t len) {
    lmt_atomic_file f;
    LMT_TRY(lmt_atomic_open(&f, path));
    lmt_atomic_write(&f, data, len);
    return lmt_atomic_commit(&f);
}

lmt_status lmt_mmap_open(const char *path, lmt_mmap *m) {
    m->data = NULL;
    m->len = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return lmt_fail(errno == ENOENT ? LMT_ERR_NOT_FOUND : LMT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return lmt_fail(LMT_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) { close(fd); return LMT_OK; }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return lmt_fail(LMT_ERR_IO, "%s: mmap failed: %s", path, strerror(errno));
    m->data = p;
    m->len = (size_t)st.st_size;
    return LMT_OK;
}

void lmt_mmap_close(lmt_mmap *m) {
    if (m->data) munmap(m->data, m->len);
    m->data = NULL;
    m->len = 0;
}

bool lmt_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool lmt_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

lmt_status lmt_mkdirs(const char *path) {
    char *p = lmt_strdup(path);
    if (!p) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path);
    for (char *s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                lmt_status st = lmt_fail(LMT_ERR_IO, "%s: cannot create directory: %s", p, strerror(errno));
                free(p);
                return st;
            }
            *s = c;
            if (c == '\0') break;
        }
    }
    free(p);
    if (!lmt_is_dir(path)) return lmt_fail(LMT_ERR_IO, "%s: exists and is not a directory", path);
    return LMT_OK;
}

char *lmt_path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *r = malloc(a + b + 2);
    if (!r) return NULL;
    memcpy(r, dir, a);
    size_t n = a;
    if (a > 0 && dir[a - 1] != '/') r[n++] = '/';
    memcpy(r + n, name, b + 1);
    return r;
}

char *lmt_strdup(const char *s) { return s ? lmt_strndup(s, strlen(s)) : NULL; }

char *lmt_strndup(const char *s, size_t n) {
    char *r = malloc(n + 1);
    if (!r) return NULL;
    memcpy(r, s, n);
    r[n] = '\0';
    return r;
}

void *lmt_malloc(size_t n) { return malloc(n ? n : 1); }
void *lmt_calloc(size_t n, size_t sz) { return calloc(n ? n : 1, sz ? sz : 1); }

void *lmt_aligned_alloc(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? n : 64) != 0) return NULL;
    return p;
}
void lmt_aligned_free(void *p) { free(p); }

/* ---- half precision ---- */
static inline uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

float lmt_bf16_to_f32(uint16_t h) { return u2f((uint32_t)h << 16); }

uint16_t lmt_f32_to_bf16(float f) {
    uint32_t u = f2u(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float lmt_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0) {
        if (man == 0) return u2f(sign);
        /* subnormal: value = man * 2^-24 */
        float v = (float)man * 5.9604644775390625e-8f;
        return sign ? -v : v;
    }
    if (exp == 31) return u2f(sign | 0x7f800000u | (man << 13));
    return u2f(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t lmt_f32_to_f16(float f) {
    uint32_t u = f2u(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return sign | 0x7e00u;           /* NaN */
    if (a >= 0x477ff000u) return sign | 0x7c00u;          /* overflow -> inf (rounds up past 65504) */
    if (a < 0x38800000u) {                                 /* subnormal or zero in f16 */
        if (a < 0x33000000u) return sign;                  /* < 2^-25: rounds to 0 */
        uint32_t exp = a >> 23, man = (a & 0x7fffffu) | 0x800000u;
        int shift = 126 - (int)exp;                        /* 14..24 */
        uint32_t half = 1u << (shift - 1), rem = man & ((1u << shift) - 1), r = man >> shift;
        if (rem > half || (rem == half && (r & 1u))) r++;
        return sign | (uint16_t)r;
    }
    uint32_t r = a - 0x38000000u;                          /* rebias 127 -> 15 */
    uint32_t rem = r & 0x1fffu;
    r >>= 13;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) r++;
    return sign | (uint16_t)r;
}

lmt_status lmt_convert_to_f32(lmt_dtype t, const void *src, size_t n, float *dst) {
    switch (t) {
    case LMT_F32: memcpy(dst, src, n * 4); return LMT_OK;
    case LMT_F16: { const uint16_t *s = src; for (size_t i = 0; i < n; i++) { uint16_t v; memcpy(&v, s + i, 2); dst[i] = lmt_f16_to_f32(v); } return LMT_OK; }
    case LMT_BF16: { const uint16_t *s = src; for (size_t i = 0; i < n; i++) { uint16_t v; memcpy(&v, s + i, 2); dst[i] = lmt_bf16_to_f32(v); } return LMT_OK; }
    case LMT_F64: { const double *s = src; for (size_t i = 0; i < n; i++) { double v; memcpy(&v, s + i, 8); dst[i] = (float)v; } return LMT_OK; }
    default: return lmt_fail(LMT_ERR_UNSUPPORTED, "cannot convert %s to F32", lmt_dtype_name(t));
    }
}

double lmt_time_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- dtypes (public) ---- */
static const char *const dtype_names[LMT_DTYPE_COUNT] = {
    "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"};
static const size_t dtype_sizes[LMT_DTYPE_COUNT] = {4, 2, 2, 8, 8, 4, 2, 1, 1, 1};

const char *lmt_dtype_name(lmt_dtype t) { return (unsigned)t < LMT_DTYPE_COUNT ? dtype_names[t] : "?"; }
size_t lmt_dtype_size(lmt_dtype t) { return (unsigned)t < LMT_DTYPE_COUNT ? dtype_sizes[t] : 0; }
