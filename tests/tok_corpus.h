/* Corpora for the tokenizer parity tests: string lists, the FNV-1a hash the
 * reference scripts also compute, WikiText lines and JSON Lines fields. */
#ifndef LMT_TEST_TOK_CORPUS_H
#define LMT_TEST_TOK_CORPUS_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "core/json.h"
#include "core/util.h"

typedef struct { char **s; size_t *len; size_t n, cap; } strlist;

static void sl_push(strlist *l, const char *s, size_t n) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->s = realloc(l->s, l->cap * sizeof *l->s);
        l->len = realloc(l->len, l->cap * sizeof *l->len);
    }
    l->s[l->n] = lmt_strndup(s, n);
    l->len[l->n++] = n;
}

static void sl_free(strlist *l) {
    for (size_t i = 0; i < l->n; i++) free(l->s[i]);
    free(l->s);
    free(l->len);
    memset(l, 0, sizeof *l);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) { h ^= s[i]; h *= 0x100000001b3ULL; }
    return h;
}

static uint64_t fnv_i32(uint64_t h, int32_t v) {
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    return fnv(h, b, 4);
}

static void load_lines(const char *path, strlist *out) {
    char *d;
    size_t n;
    if (lmt_read_file(path, &d, &n) != LMT_OK) { CHECK_MSG(0, "%s", lmt_last_error()); return; }
    size_t start = 0;
    for (size_t i = 0; i < n; i++)
        if (d[i] == '\n') { sl_push(out, d + start, i + 1 - start); start = i + 1; }
    if (start < n) sl_push(out, d + start, n - start);
    free(d);
}

static void load_jsonl(const char *path, const char *k1, const char *k2, const char *k3, size_t limit, strlist *out) {
    char *d;
    size_t n;
    if (lmt_read_file(path, &d, &n) != LMT_OK) { CHECK_MSG(0, "%s", lmt_last_error()); return; }
    size_t start = 0, count = 0;
    for (size_t i = 0; i <= n && count < limit; i++) {
        if (i < n && d[i] != '\n') continue;
        if (i > start) {
            lmt_json *j = NULL;
            if (lmt_json_parse(d + start, i - start, path, &j) == LMT_OK) {
                const char *keys[2] = {k2, k3};
                for (int q = 0; q < 2; q++) {
                    const lmt_json *v = lmt_json_get(j, k1);
                    if (keys[q]) v = lmt_json_get(v, keys[q]);
                    else if (q == 1) break;
                    if (v && v->type == LMT_JSON_STRING) sl_push(out, v->str, v->len);
                }
                count++;
            }
            lmt_json_free(j);
        }
        start = i + 1;
    }
    free(d);
}

#endif
