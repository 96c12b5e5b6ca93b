/* Corpora for the tokenizer parity tests: string lists, the FNV-1a hash the
 * reference scripts also compute, WikiText lines and JSON Lines fields. */
#ifndef LMT_TEST_TOK_CORPUS_H
#define LMT_TEST_TOK_CORPUS_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "core/json.h"
#include "core/util.h"
#include "core/base64.h"
#include "tokenizers/spm.h"
#include "lmtune/tokenizer.h"

typedef struct { char **s; size_t *len; size_t n, cap; } strlist;

static inline void sl_push(strlist *l, const char *s, size_t n) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->s = realloc(l->s, l->cap * sizeof *l->s);
        l->len = realloc(l->len, l->cap * sizeof *l->len);
    }
    l->s[l->n] = lmt_strndup(s, n);
    l->len[l->n++] = n;
}

static inline void sl_free(strlist *l) {
    for (size_t i = 0; i < l->n; i++) free(l->s[i]);
    free(l->s);
    free(l->len);
    memset(l, 0, sizeof *l);
}

static inline uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) { h ^= s[i]; h *= 0x100000001b3ULL; }
    return h;
}

static inline uint64_t fnv_i32(uint64_t h, int32_t v) {
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    return fnv(h, b, 4);
}

static inline void load_lines(const char *path, strlist *out) {
    char *d;
    size_t n;
    if (lmt_read_file(path, &d, &n) != LMT_OK) { CHECK_MSG(0, "%s", lmt_last_error()); return; }
    size_t start = 0;
    for (size_t i = 0; i < n; i++)
        if (d[i] == '\n') { sl_push(out, d + start, i + 1 - start); start = i + 1; }
    if (start < n) sl_push(out, d + start, n - start);
    free(d);
}

static inline void load_jsonl(const char *path, const char *k1, const char *k2, const char *k3, size_t limit, strlist *out) {
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

/* make_tokenizer_fixtures.py's example_bytes hashed: i32 n, per token id,
 * start, end, word, special; then both decodes, each followed by 0xFF. */
static inline uint64_t example_hash2(uint64_t h, const lmt_encoding *e, const char *d0, size_t l0, const char *d1, size_t l1) {
    h = fnv_i32(h, (int32_t)e->n);
    for (size_t k = 0; k < e->n; k++) {
        h = fnv_i32(h, e->ids[k]);
        h = fnv_i32(h, e->offset_start[k]);
        h = fnv_i32(h, e->offset_end[k]);
        h = fnv_i32(h, e->word_ids[k]);
        h = fnv_i32(h, e->special_tokens_mask[k]);
    }
    const unsigned char sep = 0xff;
    h = fnv(h, d0, l0); h = fnv(h, &sep, 1);
    h = fnv(h, d1, l1); h = fnv(h, &sep, 1);
    return h;
}

/* adversarial.bin (make_tokenizer_fixtures.py): entries u32 repeat, u32
 * length, bytes; each input is the bytes repeated. */
static inline void load_adversarial_bin(const char *path, strlist *out) {
    char *d;
    size_t n;
    if (lmt_read_file(path, &d, &n) != LMT_OK) { CHECK_MSG(0, "%s", lmt_last_error()); return; }
    for (size_t p = 0; p + 8 <= n;) {
        const unsigned char *u = (const unsigned char *)d + p;
        uint32_t rep = (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
        uint32_t l = (uint32_t)u[4] | (uint32_t)u[5] << 8 | (uint32_t)u[6] << 16 | (uint32_t)u[7] << 24;
        CHECK(l <= n - p - 8);
        if (l > n - p - 8) break;
        char *x = malloc((size_t)rep * l + 1);
        for (uint32_t k = 0; k < rep; k++) memcpy(x + (size_t)k * l, d + p + 8, l);
        sl_push(out, x, (size_t)rep * l);
        free(x);
        p += 8 + l;
    }
    free(d);
}

/* example_hash2 over the encodings [from, to), decoded with and without
 * special tokens. */
static inline uint64_t block_hash2(const lmt_tokenizer *tok, const lmt_encoding *enc, size_t from, size_t to) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = from; i < to; i++) {
        char *d0 = NULL, *d1 = NULL;
        size_t l0 = 0, l1 = 0;
        lmt_tokenizer_decode(tok, enc[i].ids, enc[i].n, false, false, &d0, &l0);
        lmt_tokenizer_decode(tok, enc[i].ids, enc[i].n, true, false, &d1, &l1);
        h = example_hash2(h, &enc[i], d0 ? d0 : "", l0, d1 ? d1 : "", l1);
        free(d0);
        free(d1);
    }
    return h;
}

/* The precompiled_charsmap of a SentencePiece model under the shared
 * tokenizers folder (rel: "opus-mt-tc-big-en-pt/source.spm"), appended to
 * out as base64 (as tokenizer.json holds it). 0, or -1 with a failed check. */
static inline int spm_charsmap_b64(const char *rel, lmt_strbuf *out) {
    char path[512];
    snprintf(path, sizeof path, LMT_SHARED_DATA "/tokenizers/%s", rel);
    lmt_spm m;
    if (lmt_spm_load(path, &m) != LMT_OK) { CHECK_MSG(0, "%s", lmt_last_error()); return -1; }
    size_t ts = m.trie_n * 4, n = 4 + ts + m.norm_n;
    unsigned char *raw = malloc(n);
    raw[0] = (unsigned char)ts; raw[1] = (unsigned char)(ts >> 8); raw[2] = (unsigned char)(ts >> 16); raw[3] = (unsigned char)(ts >> 24);
    for (size_t i = 0; i < m.trie_n; i++)
        for (int b = 0; b < 4; b++) raw[4 + 4 * i + (size_t)b] = (unsigned char)(m.trie[i] >> (8 * b));
    memcpy(raw + 4 + ts, m.norm, m.norm_n);
    lmt_base64_append(out, raw, n);
    free(raw);
    lmt_spm_free(&m);
    return 0;
}

#endif
