/* Tokenizer throughput: a tokenizer folder (GPT-2 by default; any folder
 * lmt_tokenizer_load reads, Marian's included) over WikiText-2 (validation
 * + test, one example per line) and the first IMDb train reviews, batch
 * encoded at 1 and 2 threads; prints MB/s (input bytes) per thread count.
 * bench/run_tokenizer_bench.sh runs it next to HF tokenizers (or, for a
 * slow tokenizer such as MarianTokenizer, next to its batch call). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/json.h"
#include "core/util.h"
#include "lmtune/tokenizer.h"

typedef struct { char **s; size_t *len; size_t n, cap, bytes; } corpus;

static void push(corpus *c, const char *s, size_t n) {
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 4096;
        c->s = realloc(c->s, c->cap * sizeof *c->s);
        c->len = realloc(c->len, c->cap * sizeof *c->len);
        if (!c->s || !c->len) { fprintf(stderr, "out of memory\n"); exit(1); }
    }
    c->s[c->n] = lmt_strndup(s, n);
    c->len[c->n++] = n;
    c->bytes += n;
}

static int load_lines(const char *path, corpus *c) {
    char *d;
    size_t n;
    if (lmt_read_file(path, &d, &n) != LMT_OK) { fprintf(stderr, "%s\n", lmt_last_error()); return -1; }
    size_t st = 0;
    for (size_t i = 0; i < n; i++)
        if (d[i] == '\n') { push(c, d + st, i + 1 - st); st = i + 1; }
    if (st < n) push(c, d + st, n - st);
    free(d);
    return 0;
}

static int load_imdb(const char *path, size_t limit, corpus *c) {
    char *d;
    size_t n;
    if (lmt_read_file(path, &d, &n) != LMT_OK) { fprintf(stderr, "%s\n", lmt_last_error()); return -1; }
    size_t st = 0, count = 0;
    for (size_t i = 0; i < n && count < limit; i++) {
        if (d[i] != '\n') continue;
        lmt_json *j;
        if (lmt_json_parse(d + st, i - st, path, &j) == LMT_OK) {
            const lmt_json *t = lmt_json_get(j, "text");
            if (t && t->type == LMT_JSON_STRING) { push(c, t->str, t->len); count++; }
            lmt_json_free(j);
        }
        st = i + 1;
    }
    free(d);
    return 0;
}

int main(int argc, char **argv) {
    const char *data = argc > 1 ? argv[1] : "../shared/data";
    const char *tokdir = argc > 2 ? argv[2] : NULL;
    size_t n_imdb = argc > 3 ? (size_t)atol(argv[3]) : 5000;
    int reps = argc > 4 ? atoi(argv[4]) : 3;
    char path[4096];
    corpus c = {0};
    snprintf(path, sizeof path, "%s/wikitext-2-raw-v1/wiki.valid.raw", data);
    if (load_lines(path, &c)) return 1;
    snprintf(path, sizeof path, "%s/wikitext-2-raw-v1/wiki.test.raw", data);
    if (load_lines(path, &c)) return 1;
    snprintf(path, sizeof path, "%s/imdb/train.jsonl", data);
    if (load_imdb(path, n_imdb, &c)) return 1;
    snprintf(path, sizeof path, "%s/tokenizers/gpt2", data);
    lmt_tokenizer *t;
    if (lmt_tokenizer_load(tokdir ? tokdir : path, &t) != LMT_OK) { fprintf(stderr, "%s\n", lmt_last_error()); return 1; }
    lmt_encoding *enc = calloc(c.n, sizeof *enc);
    lmt_encode_opts o = lmt_encode_opts_default();
    printf("corpus: %zu examples, %.2f MB\n", c.n, c.bytes / 1e6);
    for (int threads = 1; threads <= 2; threads++) {
        omp_set_num_threads(threads);
        double best = 1e30;
        size_t ntok = 0;
        for (int r = 0; r < reps; r++) {
            double t0 = lmt_time_s();
            if (lmt_tokenizer_encode_batch(t, (const char *const *)c.s, c.len, NULL, NULL, c.n, &o, enc) != LMT_OK) {
                fprintf(stderr, "%s\n", lmt_last_error());
                return 1;
            }
            double dt = lmt_time_s() - t0;
            if (dt < best) best = dt;
            ntok = 0;
            for (size_t i = 0; i < c.n; i++) { ntok += enc[i].n; lmt_encoding_free(&enc[i]); }
        }
        printf("lmtune threads=%d tokens=%zu seconds=%.3f MB/s=%.2f\n", threads, ntok, best, c.bytes / 1e6 / best);
    }
    free(enc);
    lmt_tokenizer_free(t);
    for (size_t i = 0; i < c.n; i++) free(c.s[i]);
    free(c.s);
    free(c.len);
    return 0;
}
