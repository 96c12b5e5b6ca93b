/* Helpers for the data tests: fixtures of tools/reference/make_data_fixtures.py
 * (compact index lists: first/last 50 + FNV-1a 64 of the little-endian int64s). */
#ifndef LMT_TEST_DATA_FIXTURES_H
#define LMT_TEST_DATA_FIXTURES_H
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/json.h"
#include "harness.h"

#define DATA_FIX LMT_SOURCE_DIR "/tests/fixtures/data/"

static inline lmt_json *fixture_json(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s%s", DATA_FIX, name);
    lmt_json *j = NULL;
    if (lmt_json_parse_file(path, &j) != LMT_OK) {
        fprintf(stderr, "cannot read %s: %s\n", path, lmt_last_error());
        exit(1);
    }
    return j;
}

static inline uint64_t fnv_bytes(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}
#define FNV_OFFSET 0xcbf29ce484222325ULL

/* little-endian host assumed (x86-64 / aarch64) */
static inline uint64_t fnv_i64(const int64_t *v, size_t n) { return fnv_bytes(FNV_OFFSET, v, n * sizeof *v); }
static inline uint64_t fnv_i32(const int32_t *v, size_t n) { return fnv_bytes(FNV_OFFSET, v, n * sizeof *v); }

static inline uint64_t hex_u64(const lmt_json *s) { return s && s->str ? strtoull(s->str, NULL, 16) : 0; }

static inline int64_t jint(const lmt_json *o, const char *key) {
    const lmt_json *v = lmt_json_get(o, key);
    return v && v->type == LMT_JSON_NUMBER ? v->i64 : -999;
}

/* Decimal string -> 32-bit words, least significant first (a Python int). */
static inline size_t dec_to_words(const char *s, uint32_t *w, size_t cap) {
    size_t n = 1;
    w[0] = 0;
    for (; *s; s++) {
        uint64_t carry = (uint64_t)(*s - '0');
        for (size_t i = 0; i < n; i++) {
            uint64_t x = (uint64_t)w[i] * 10 + carry;
            w[i] = (uint32_t)x;
            carry = x >> 32;
        }
        if (carry && n < cap) w[n++] = (uint32_t)carry;
    }
    while (n > 1 && w[n - 1] == 0) n--;
    return n;
}

/* Checks a computed index list against a compact reference {n, first, last, fnv}. */
static inline void check_compact(const char *what, const int64_t *v, int64_t n, const lmt_json *ref) {
    CHECK_MSG(n == jint(ref, "n"), "%s: %lld rows, expected %lld", what, (long long)n, (long long)jint(ref, "n"));
    if (n != jint(ref, "n")) return;
    const lmt_json *first = lmt_json_get(ref, "first"), *last = lmt_json_get(ref, "last");
    int bad = 0;
    for (size_t i = 0; i < first->len; i++) bad += v[i] != first->items[i].i64;
    for (size_t i = 0; i < last->len; i++) bad += v[n - (int64_t)last->len + (int64_t)i] != last->items[i].i64;
    CHECK_MSG(bad == 0, "%s: %d of the first/last indices differ (first: %lld vs %lld)", what, bad, (long long)v[0],
              (long long)first->items[0].i64);
    CHECK_MSG(fnv_i64(v, (size_t)n) == hex_u64(lmt_json_get(ref, "fnv")), "%s: hash of the full list differs", what);
}
#endif
