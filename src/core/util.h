/* Files, growable strings and small helpers shared by every module. */
#ifndef LMT_CORE_UTIL_H
#define LMT_CORE_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "lmtune/lmtune.h"

/* Growable byte string; always NUL-terminated. Allocation failure aborts the
 * builder into an error state (oom=true) instead of crashing. */
struct lmt_strbuf { char *data; size_t len, cap; bool oom; };
typedef struct lmt_strbuf lmt_strbuf;
void lmt_sb_init(lmt_strbuf *b);
void lmt_sb_free(lmt_strbuf *b);
void lmt_sb_append(lmt_strbuf *b, const char *s, size_t n);
void lmt_sb_puts(lmt_strbuf *b, const char *s);
void lmt_sb_putc(lmt_strbuf *b, char c);
void lmt_sb_printf(lmt_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Takes the buffer (caller frees); b is reset. NULL if oom. */
char *lmt_sb_take(lmt_strbuf *b);

/* Reads a whole file (adds a NUL after the data). Errors name the path. */
lmt_status lmt_read_file(const char *path, char **data, size_t *len);
/* Writes data to path atomically: path.tmp-<pid>, fsync, rename. */
lmt_status lmt_write_file_atomic(const char *path, const void *data, size_t len);
/* The same in pieces, for files too large to build in memory:
 * open -> write... -> commit (fsync + rename) or abort (unlink). */
typedef struct lmt_atomic_file { int fd; char *tmp; const char *path; bool failed; } lmt_atomic_file;
lmt_status lmt_atomic_open(lmt_atomic_file *f, const char *path);
void lmt_atomic_write(lmt_atomic_file *f, const void *data, size_t len);
lmt_status lmt_atomic_commit(lmt_atomic_file *f);
void lmt_atomic_abort(lmt_atomic_file *f);

/* Read-only memory map of a whole file (empty files give data=NULL,len=0). */
typedef struct lmt_mmap { void *data; size_t len; } lmt_mmap;
lmt_status lmt_mmap_open(const char *path, lmt_mmap *m);
void lmt_mmap_close(lmt_mmap *m);

bool lmt_file_exists(const char *path);
bool lmt_is_dir(const char *path);
/* mkdir -p. */
lmt_status lmt_mkdirs(const char *path);
/* Joins dir and name with '/'; caller frees. */
char *lmt_path_join(const char *dir, const char *name);
char *lmt_strdup(const char *s);
char *lmt_strndup(const char *s, size_t n);

/* Aborting allocators are NOT used in the library: these return NULL. */
void *lmt_malloc(size_t n);
void *lmt_calloc(size_t n, size_t sz);
/* 64-byte aligned (for SIMD and the flat parameter buffers). */
void *lmt_aligned_alloc(size_t n);
void lmt_aligned_free(void *p);

/* fp16 / bf16 <-> fp32, bit exact (round-to-nearest-even on the way down). */
float lmt_f16_to_f32(uint16_t h);
uint16_t lmt_f32_to_f16(float f);
float lmt_bf16_to_f32(uint16_t h);
uint16_t lmt_f32_to_bf16(float f);
/* Converts n elements of src (dtype t) to fp32; fails for non-float dtypes. */
lmt_status lmt_convert_to_f32(lmt_dtype t, const void *src, size_t n, float *dst);

/* Monotonic time in seconds. */
double lmt_time_s(void);
#endif
