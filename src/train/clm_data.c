#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/json.h"
#include "data/dataset.h"
#include "core/util.h"
#include "train/clm_data.h"

lmt_status lmt_text_lines_load(const char *path, char ***lines, size_t **lens, size_t *n) {
    char *d;
    size_t len;
    *lines = NULL; *lens = NULL; *n = 0;
    LMT_TRY(lmt_read_file(path, &d, &len));
    size_t count = 0;
    for (size_t i = 0; i < len; i++) count += d[i] == '\n';
    if (len && d[len - 1] != '\n') count++;
    if (count == 0) { free(d); return lmt_fail(LMT_ERR_FORMAT, "%s: the file is empty (no examples)", path); }
    char **l = calloc(count, sizeof *l);
    size_t *ll = calloc(count, sizeof *ll);
    if (!l || !ll) { free(d); free(l); free(ll); return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path); }
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= len && k < count; i++) {
        if (i < len && d[i] != '\n') continue;
        size_t e = i < len ? i + 1 : len;
        if (e == start) break;
        l[k] = lmt_strndup(d + start, e - start);
        if (!l[k]) { free(d); lmt_text_lines_free(l, ll, k); return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path); }
        ll[k++] = e - start;
        start = e;
    }
    free(d);
    *lines = l; *lens = ll; *n = k;
    return LMT_OK;
}

static bool ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* The string (or list of strings, joined by spaces) at a dotted path. */
static char *column_text(const lmt_json *obj, const char *column, size_t *len) {
    char key[256];
    const lmt_json *v = obj;
    for (const char *p = column; v && *p;) {
        const char *dot = strchr(p, '.');
        size_t kl = dot ? (size_t)(dot - p) : strlen(p);
        if (kl >= sizeof key) return NULL;
        memcpy(key, p, kl);
        key[kl] = '\0';
        v = lmt_json_get(v, key);
        p += kl + (dot ? 1 : 0);
    }
    if (!v) return NULL;
    if (v->type == LMT_JSON_STRING) { *len = v->len; return lmt_strndup(v->str, v->len); }
    if (v->type != LMT_JSON_ARRAY) return NULL;
    lmt_strbuf b;
    lmt_sb_init(&b);
    for (size_t i = 0; i < v->len; i++) {
        if (v->items[i].type != LMT_JSON_STRING) { lmt_sb_free(&b); return NULL; }
        if (i) lmt_sb_putc(&b, ' ');
        lmt_sb_append(&b, v->items[i].str, v->items[i].len);
    }
    *len = b.len;
    return lmt_sb_take(&b);
}

/* WikiText's raw files are read as HF's `wikitext` dataset reads them:
 * whitespace-only lines become "" (the SPEC's train example 0); other text
 * files keep every line with its "\n" (the text loader, keep_linebreaks). */
static lmt_status load_text_examples(const char *path, bool keep_linebreaks, char ***lines, size_t **lens, size_t *n) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    bool wikitext = strncmp(base, "wiki.", 5) == 0 && ends_with(base, ".raw");
    lmt_dataset ds;
    LMT_TRY(lmt_ds_load_text(path, wikitext ? LMT_TEXT_WIKITEXT : keep_linebreaks ? LMT_TEXT_KEEP_LINEBREAKS : LMT_TEXT_STRIP_LINEBREAKS, &ds));
    const lmt_ds_column *c = ds.n_cols ? ds.cols[0] : NULL;
    lmt_status s = (!c || c->type != LMT_DS_STR || ds.n_rows == 0) ? lmt_fail(LMT_ERR_FORMAT, "%s: no examples", path) : LMT_OK;
    char **l = NULL;
    size_t *ll = NULL;
    if (s == LMT_OK) {
        l = calloc((size_t)ds.n_rows, sizeof *l);
        ll = calloc((size_t)ds.n_rows, sizeof *ll);
        if (!l || !ll) s = lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path);
    }
    for (int64_t r = 0; s == LMT_OK && r < ds.n_rows; r++) {
        size_t len;
        const char *t = lmt_col_str(c, r, &len);
        if (!(l[r] = lmt_strndup(t, len))) s = lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path);
        ll[r] = len;
    }
    if (s == LMT_OK) { *lines = l; *lens = ll; *n = (size_t)ds.n_rows; }
    else lmt_text_lines_free(l, ll, l ? (size_t)ds.n_rows : 0);
    lmt_ds_free(&ds);
    return s;
}

lmt_status lmt_examples_load(const char *path, const char *column, char ***lines, size_t **lens, size_t *n) {
    return lmt_examples_load_lb(path, column, true, lines, lens, n);
}

lmt_status lmt_examples_load_lb(const char *path, const char *column, bool keep_linebreaks, char ***lines, size_t **lens,
                                size_t *n) {
    if (!ends_with(path, ".jsonl") && !ends_with(path, ".json")) return load_text_examples(path, keep_linebreaks, lines, lens, n);
    if (!column) column = "text";
    char **raw;
    size_t *rl, nr;
    LMT_TRY(lmt_text_lines_load(path, &raw, &rl, &nr));
    char **l = calloc(nr, sizeof *l);
    size_t *ll = calloc(nr, sizeof *ll), k = 0;
    lmt_status s = (!l || !ll) ? lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path) : LMT_OK;
    for (size_t i = 0; i < nr && s == LMT_OK; i++) {
        size_t j = 0;
        while (j < rl[i] && (raw[i][j] == ' ' || raw[i][j] == '\n' || raw[i][j] == '\r' || raw[i][j] == '\t')) j++;
        if (j == rl[i]) continue;   /* blank line */
        lmt_json *obj = NULL;
        char src[600];
        snprintf(src, sizeof src, "%s: line %zu", path, i + 1);
        if ((s = lmt_json_parse(raw[i], rl[i], src, &obj)) != LMT_OK) break;
        if (!(l[k] = column_text(obj, column, &ll[k])))
            s = lmt_fail(LMT_ERR_FORMAT, "%s: line %zu has no string (or list of strings) at \"%s\"", path, i + 1, column);
        else k++;
        lmt_json_free(obj);
    }
    lmt_text_lines_free(raw, rl, nr);
    if (s == LMT_OK && k == 0) s = lmt_fail(LMT_ERR_FORMAT, "%s: no examples", path);
    if (s != LMT_OK) { lmt_text_lines_free(l, ll, k); return s; }
    *lines = l; *lens = ll; *n = k;
    return LMT_OK;
}

void lmt_text_lines_free(char **lines, size_t *lens, size_t n) {
    for (size_t i = 0; i < n; i++) free(lines[i]);
    free(lines);
    free(lens);
}

lmt_status lmt_group_texts(const lmt_encoding *enc, size_t n, int block_size, int map_batch_size, lmt_clm_blocks *out) {
    memset(out, 0, sizeof *out);
    if (block_size < 2) return lmt_fail(LMT_ERR_ARG, "block_size must be at least 2 (got %d)", block_size);
    if (map_batch_size < 1) return lmt_fail(LMT_ERR_ARG, "the map batch size must be at least 1 (got %d)", map_batch_size);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += enc[i].n;
    out->ids = malloc((total / (size_t)block_size + 1) * (size_t)block_size * sizeof(int32_t));
    if (!out->ids) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    out->block_size = block_size;
    out->n_examples = (int64_t)n;
    out->n_tokens = (int64_t)total;
    size_t w = 0;
    for (size_t b0 = 0; b0 < n; b0 += (size_t)map_batch_size) {
        size_t b1 = b0 + (size_t)map_batch_size < n ? b0 + (size_t)map_batch_size : n, batch_tokens = 0;
        for (size_t i = b0; i < b1; i++) batch_tokens += enc[i].n;
        size_t keep = batch_tokens / (size_t)block_size * (size_t)block_size, copied = 0;
        for (size_t i = b0; i < b1 && copied < keep; i++) {
            size_t take = enc[i].n < keep - copied ? enc[i].n : keep - copied;
            memcpy(out->ids + w, enc[i].ids, take * sizeof(int32_t));
            w += take;
            copied += take;
        }
        out->n_dropped += (int64_t)(batch_tokens - keep);
    }
    out->n_blocks = (int64_t)(w / (size_t)block_size);
    return LMT_OK;
}

lmt_status lmt_clm_prepare_examples(const lmt_tokenizer *tok, char *const *lines, const size_t *lens, size_t n, const char *source,
                                    int block_size, int map_batch_size, lmt_clm_blocks *out) {
    memset(out, 0, sizeof *out);
    if (n == 0) return lmt_fail(LMT_ERR_ARG, "%s: no examples", source);
    lmt_encoding *enc = calloc(n, sizeof *enc);
    if (!enc) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_encode_opts o = lmt_encode_opts_default();
    lmt_status s = lmt_tokenizer_encode_batch(tok, (const char *const *)lines, lens, NULL, NULL, n, &o, enc);
    if (s == LMT_OK) s = lmt_group_texts(enc, n, block_size, map_batch_size, out);
    if (s == LMT_OK && out->n_blocks == 0)
        s = lmt_fail(LMT_ERR_ARG, "%s: %lld tokens give no block of %d tokens (empty dataset after group_texts)", source,
                     (long long)out->n_tokens, block_size);
    else if (s != LMT_OK && !strstr(lmt_last_error(), source)) s = lmt_fail_wrap(s, "%s", source);
    for (size_t i = 0; i < n; i++) lmt_encoding_free(&enc[i]);
    free(enc);
    if (s != LMT_OK) lmt_clm_blocks_free(out);
    return s;
}

lmt_status lmt_clm_prepare(const lmt_tokenizer *tok, const char *path, int block_size, int map_batch_size, int64_t max_examples,
                           lmt_clm_blocks *out) {
    memset(out, 0, sizeof *out);
    char **lines;
    size_t *lens, n_all;
    LMT_TRY(lmt_examples_load(path, NULL, &lines, &lens, &n_all));
    size_t n = max_examples > 0 && (size_t)max_examples < n_all ? (size_t)max_examples : n_all;
    lmt_status s = lmt_clm_prepare_examples(tok, lines, lens, n, path, block_size, map_batch_size, out);
    lmt_text_lines_free(lines, lens, n_all);
    return s;
}

void lmt_clm_blocks_free(lmt_clm_blocks *b) {
    free(b->ids);
    memset(b, 0, sizeof *b);
}
