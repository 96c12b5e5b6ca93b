/* Shared by the libFuzzer harnesses (fuzz/fuzz_*.c) and the replay test
 * (tests/test_fuzz_replay.c): a private scratch folder per process, writing
 * an input into a file there, and splitting one input into several files.
 *
 * Most parsers read paths (they mmap or read whole files and name the path
 * in errors), so a harness writes the input to a file and calls the same
 * entry point the library uses. Inputs that stand for several files (a
 * tokenizer folder, a parallel corpus, a checkpoint) hold them one after
 * the other, separated by LMT_FUZZ_SEP; the seeds are built that way by
 * fuzz/make_seeds.sh and the dictionaries list the separator. */
#ifndef LMT_FUZZ_COMMON_H
#define LMT_FUZZ_COMMON_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lmtune/lmtune.h"
#include "core/fs.h"
#include "core/util.h"

#define LMT_FUZZ_SEP "\n--lmt-fuzz-file--\n"

/* Every harness defines this one (LLVMFuzzerTestOneInput calls it). */
int lmt_fuzz_one(const uint8_t *data, size_t size);
/* A harness whose seeds cannot be cut from tests/fixtures (they must match
 * what it builds itself) defines this: writes seed files into dir
 * (fuzz_replay_<name> --make-seeds DIR; fuzz/make_seeds.sh calls it). */
int lmt_fuzz_make_seeds(const char *dir) __attribute__((weak));

static char lmt_fuzz_dir_[200];

static void lmt_fuzz_cleanup_(void) {
    if (lmt_fuzz_dir_[0]) lmt_rm_rf(lmt_fuzz_dir_);
}
static void lmt_fuzz_quiet_(int level, const char *msg, void *user) { (void)level; (void)msg; (void)user; }

/* The process's scratch folder (created once, removed at exit), under
 * TMPDIR: the harnesses write their inputs to files at every execution. */
static const char *lmt_fuzz_scratch(void) {
    if (!lmt_fuzz_dir_[0]) {
        const char *tmp = getenv("TMPDIR");   /* tools/fuzz.sh points it at a tmpfs */
        if (!tmp || !*tmp || strlen(tmp) > sizeof lmt_fuzz_dir_ - 20) tmp = "/tmp";
        snprintf(lmt_fuzz_dir_, sizeof lmt_fuzz_dir_, "%s/lmt-fuzz-XXXXXX", tmp);
        if (!mkdtemp(lmt_fuzz_dir_)) { perror("mkdtemp"); abort(); }
        atexit(lmt_fuzz_cleanup_);
        lmt_set_log(lmt_fuzz_quiet_, NULL);   /* warnings about the inputs are expected */
    }
    return lmt_fuzz_dir_;
}

/* scratch/<sub>/ (created, emptied). */
static __attribute__((unused)) const char *lmt_fuzz_subdir(const char *sub, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/%s", lmt_fuzz_scratch(), sub);
    lmt_rm_rf(buf);
    if (lmt_mkdirs(buf) != LMT_OK) abort();
    return buf;
}

/* Writes data to dir/name (plainly: no temporary name, no fsync). */
static const char *lmt_fuzz_write(const char *dir, const char *name, const void *data, size_t size, char *path, size_t cap) {
    if (snprintf(path, cap, "%s/%s", dir, name) >= (int)cap) abort();
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); abort(); }
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    return path;
}

/* Splits data at each LMT_FUZZ_SEP into at most max parts; returns how many. */
static __attribute__((unused)) size_t lmt_fuzz_split(const uint8_t *data, size_t size, const uint8_t **part, size_t *len, size_t max) {
    const size_t sl = sizeof LMT_FUZZ_SEP - 1;
    size_t n = 0, at = 0;
    while (n + 1 < max) {
        const uint8_t *hit = NULL;
        for (size_t i = at; i + sl <= size; i++)
            if (data[i] == '\n' && !memcmp(data + i, LMT_FUZZ_SEP, sl)) { hit = data + i; break; }
        if (!hit) break;
        part[n] = data + at;
        len[n++] = (size_t)(hit - (data + at));
        at = (size_t)(hit - data) + sl;
    }
    part[n] = data + at;
    len[n++] = size - at;
    return n;
}

/* Writes part k under name when present (absent parts leave the file out). */
static __attribute__((unused)) void lmt_fuzz_write_part(const char *dir, const char *name, const uint8_t *const *part, const size_t *len, size_t n,
                                size_t k) {
    char path[512];
    if (k < n) lmt_fuzz_write(dir, name, part[k], len[k], path, sizeof path);
}

/* Reads bytes p[0..n) (sparsely, and the last one), so that a pointer or size
 * past what was mapped or allocated shows up under ASan. */
static __attribute__((unused)) void lmt_fuzz_touch(const void *p, size_t n) {
    const volatile unsigned char *b = p;
    unsigned sum = 0;
    for (size_t k = 0; k < n; k += 61) sum += b[k];
    if (n) sum += b[n - 1];
    (void)sum;
}

#ifdef LMT_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return lmt_fuzz_one(data, size); }
#endif
#endif
