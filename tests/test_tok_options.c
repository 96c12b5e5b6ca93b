/* tokenizer.json's "truncation" and "padding": applied by plain calls of a
 * lmt_tokenizer_load_file tokenizer as tokenizers' Tokenizer.from_file(...)
 * encode / encode_batch apply them, and read by lmt_tokenizer_load only as
 * transformers' AutoTokenizer reads them (padding/truncation side and pad
 * token; the rest is reset per call). References:
 * tools/reference/make_tokenizer_options_fixtures.py ->
 * tests/fixtures/tokenizers_json/options.json (tokenizers 0.23.3,
 * transformers 5.23), over the synthetic WordPiece tokenizer: ids, type ids,
 * masks, offsets, word ids and the overflowing encodings' ids. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "core/json.h"
#include "core/util.h"
#include "lmtune/tokenizer.h"

#define FIX LMT_SOURCE_DIR "/tests/fixtures"

static const lmt_json *field(const lmt_json *o, const char *k) { return lmt_json_get(o, k); }

/* e against the reference row (ids, type_ids, attention_mask, special, offsets, word_ids). */
static void check_row(const lmt_encoding *e, const lmt_json *row, const char *what) {
    static const char *const keys[] = {"ids", "type_ids", "attention_mask", "special", "word_ids"};
    const int32_t *got[] = {e->ids, e->type_ids, e->attention_mask, e->special_tokens_mask, e->word_ids};
    for (int k = 0; k < 5; k++) {
        const lmt_json *a = field(row, keys[k]);
        if (!a) continue;
        bool same = a->len == e->n;
        for (size_t i = 0; same && i < e->n; i++) same = a->items[i].i64 == got[k][i];
        CHECK_MSG(same, "%s: %s differ (%zu vs %zu tokens)", what, keys[k], e->n, a->len);
    }
    const lmt_json *ov = field(row, "overflowing");
    if (ov) {
        bool same = ov->len == e->n_overflowing;
        for (size_t k = 0; same && k < ov->len; k++) {
            const lmt_json *a = &ov->items[k];
            same = a->len == e->overflowing[k].n;
            for (size_t i = 0; same && i < a->len; i++) same = a->items[i].i64 == e->overflowing[k].ids[i];
        }
        CHECK_MSG(same, "%s: overflowing differ (%zu vs %zu encodings)", what, e->n_overflowing, ov->len);
    }
    const lmt_json *off = field(row, "offsets");
    if (off && off->len == e->n) {
        bool same = true;
        for (size_t i = 0; same && i < e->n; i++)
            same = off->items[i].items[0].i64 == e->offset_start[i] && off->items[i].items[1].i64 == e->offset_end[i];
        CHECK_MSG(same, "%s: offsets differ", what);
    }
}

static void check_one(lmt_tokenizer *t, const char *a, const char *b, const lmt_encode_opts *o, const lmt_json *row, const char *what) {
    lmt_encoding e;
    lmt_status s = lmt_tokenizer_encode(t, a, strlen(a), b, b ? strlen(b) : 0, o, &e);
    if (field(row, "error")) { CHECK_MSG(s != LMT_OK, "%s: tokenizers fails (%s), lmtune does not", what, field(row, "error")->str); if (s == LMT_OK) lmt_encoding_free(&e); return; }
    CHECK_MSG(s == LMT_OK, "%s: %s", what, lmt_last_error());
    if (s != LMT_OK) return;
    check_row(&e, row, what);
    lmt_encoding_free(&e);
}

static void check_batch(lmt_tokenizer *t, const lmt_json *texts, const lmt_json *pairs, const lmt_encode_opts *o,
                        const lmt_json *want, const char *what) {
    size_t n = pairs ? pairs->len : texts->len;
    const char **a = calloc(n, sizeof *a), **b = calloc(n, sizeof *b);
    size_t *al = calloc(n, sizeof *al), *bl = calloc(n, sizeof *bl);
    lmt_encoding *e = calloc(n, sizeof *e);
    for (size_t i = 0; i < n; i++) {
        a[i] = pairs ? pairs->items[i].items[0].str : texts->items[i].str;
        b[i] = pairs ? pairs->items[i].items[1].str : NULL;
        al[i] = strlen(a[i]);
        bl[i] = b[i] ? strlen(b[i]) : 0;
    }
    lmt_status s = lmt_tokenizer_encode_batch(t, a, al, pairs ? b : NULL, pairs ? bl : NULL, n, o, e);
    if (field(want, "error")) CHECK_MSG(s != LMT_OK, "%s: tokenizers fails, lmtune does not", what);
    else {
        CHECK_MSG(s == LMT_OK && want->len == n, "%s: %s", what, s == LMT_OK ? "row count" : lmt_last_error());
        for (size_t i = 0; s == LMT_OK && i < n && i < want->len; i++) {
            char w[300];
            snprintf(w, sizeof w, "%s[%zu]", what, i);
            check_row(&e[i], &want->items[i], w);
        }
    }
    if (s == LMT_OK) for (size_t i = 0; i < n; i++) lmt_encoding_free(&e[i]);
    free(a); free(b); free(al); free(bl); free(e);
}

static void write_json(const char *path, const lmt_json *j) {
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_json_write(&b, j, 0);
    CHECK_OK(lmt_write_file_atomic(path, b.data, b.len));
    lmt_sb_free(&b);
}

int main(void) {
    lmt_json *fx = NULL, *base = NULL;
    CHECK_OK(lmt_json_parse_file(FIX "/tokenizers_json/options.json", &fx));
    if (!fx) return lmt_test_finish();
    char bp[512];
    snprintf(bp, sizeof bp, FIX "/%s", field(fx, "base")->str);
    CHECK_OK(lmt_json_parse_file(bp, &base));
    char dir[] = "/tmp/lmt-tokopt-XXXXXX";
    if (!base || !mkdtemp(dir)) { CHECK(false); return lmt_test_finish(); }
    char tj[600], tc[600];
    snprintf(tj, sizeof tj, "%s/tokenizer.json", dir);
    snprintf(tc, sizeof tc, "%s/tokenizer_config.json", dir);
    const char *cfg = "{\"tokenizer_class\": \"PreTrainedTokenizerFast\", \"model_max_length\": 512}";
    CHECK_OK(lmt_write_file_atomic(tc, cfg, strlen(cfg)));
    const lmt_json *texts = field(fx, "texts"), *pairs = field(fx, "pairs"), *cfgs = field(fx, "configs");
    for (size_t c = 0; c < cfgs->len; c++) {
        const lmt_json *cf = &cfgs->items[c];
        const char *name = field(cf, "name")->str;
        CHECK_OK(lmt_json_object_set(base, "truncation", lmt_json_clone(field(cf, "truncation"))));
        CHECK_OK(lmt_json_object_set(base, "padding", lmt_json_clone(field(cf, "padding"))));
        write_json(tj, base);
        /* Tokenizer.from_file: plain calls apply the file's settings */
        lmt_tokenizer *t = NULL;
        CHECK_OK(lmt_tokenizer_load_file(tj, &t));
        if (!t) continue;
        char what[200];
        lmt_encode_opts nospec = lmt_tokenizer_encode_opts(t);
        nospec.add_special_tokens = false;
        for (size_t i = 0; i < texts->len; i++) {
            snprintf(what, sizeof what, "%s single %zu", name, i);
            check_one(t, texts->items[i].str, NULL, NULL, &field(cf, "single")->items[i], what);
            snprintf(what, sizeof what, "%s single_nospecial %zu", name, i);
            check_one(t, texts->items[i].str, NULL, &nospec, &field(cf, "single_nospecial")->items[i], what);
        }
        for (size_t i = 0; i < pairs->len; i++) {
            snprintf(what, sizeof what, "%s pair %zu", name, i);
            check_one(t, pairs->items[i].items[0].str, pairs->items[i].items[1].str, NULL, &field(cf, "pair")->items[i], what);
        }
        snprintf(what, sizeof what, "%s batch", name);
        check_batch(t, texts, NULL, NULL, field(cf, "batch"), what);
        snprintf(what, sizeof what, "%s batch_pairs", name);
        check_batch(t, texts, pairs, NULL, field(cf, "batch_pairs"), what);
        lmt_tokenizer_free(t);
        /* AutoTokenizer: sides and pad token from the file, the rest per call */
        t = NULL;
        CHECK_OK(lmt_tokenizer_load(dir, &t));
        if (!t) continue;
        const lmt_json *au = field(cf, "auto");
        lmt_encode_opts o = lmt_tokenizer_encode_opts(t);
        CHECK_MSG(o.pad_left == !strcmp(field(au, "padding_side")->str, "left"), "%s: padding_side", name);
        CHECK_MSG(o.truncate_left == !strcmp(field(au, "truncation_side")->str, "left"), "%s: truncation_side", name);
        CHECK_MSG(lmt_tokenizer_special_ids(t).pad == field(au, "pad_token_id")->i64, "%s: pad id %d vs %lld", name,
                  lmt_tokenizer_special_ids(t).pad, (long long)field(au, "pad_token_id")->i64);
        CHECK_MSG(o.truncation == LMT_TRUNCATE_NONE && o.padding == LMT_PAD_NONE, "%s: AutoTokenizer call applies neither", name);
        snprintf(what, sizeof what, "%s auto plain", name);
        check_batch(t, texts, NULL, NULL, field(au, "plain"), what);
        lmt_encode_opts p = o;
        p.padding = LMT_PAD_LONGEST;
        snprintf(what, sizeof what, "%s auto padding", name);
        check_batch(t, texts, NULL, &p, field(au, "padding"), what);
        p = o;
        p.truncation = LMT_TRUNCATE_LONGEST_FIRST;
        p.max_length = 6;
        snprintf(what, sizeof what, "%s auto truncation", name);
        check_batch(t, texts, NULL, &p, field(au, "truncation"), what);
        p = o;
        p.padding = LMT_PAD_MAX_LENGTH;
        p.max_length = 12;
        snprintf(what, sizeof what, "%s auto max_length", name);
        check_batch(t, texts, NULL, &p, field(au, "max_length"), what);
        lmt_tokenizer_free(t);
    }
    /* a malformed setting names the file */
    lmt_json *bad;
    const char *bs = "{\"strategy\": \"Sideways\", \"max_length\": 4}";
    CHECK_OK(lmt_json_parse(bs, strlen(bs), "t", &bad));
    CHECK_OK(lmt_json_object_set(base, "truncation", bad));
    write_json(tj, base);
    lmt_tokenizer *t = NULL;
    CHECK(lmt_tokenizer_load_file(tj, &t) == LMT_ERR_FORMAT && strstr(lmt_last_error(), "tokenizer.json") && strstr(lmt_last_error(), "Sideways"));
    unlink(tj);
    unlink(tc);
    rmdir(dir);
    lmt_json_free(base);
    lmt_json_free(fx);
    return lmt_test_finish();
}
