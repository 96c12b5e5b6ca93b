/* SentencePiece unigram + MarianTokenizer parity (opus-mt-tc-big-en-pt)
 * against references from `sentencepiece` and transformers'
 * MarianTokenizer (tools/reference/make_spm_fixtures.py): full values for
 * an adversarial set, per-block hashes for every KDE and Multi30k string.
 * LMT_TEST_QUICK checks one block in 16 of the corpora. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "tok_corpus.h"
#include "lmtune/tokenizer.h"
#include "tokenizers/spm.h"

#define TOKDIR LMT_SHARED_DATA "/tokenizers/opus-mt-tc-big-en-pt"
#define FIX LMT_SOURCE_DIR "/tests/fixtures/tokenizers/marian"

static bool ids_eq(const int32_t *a, size_t n, const lmt_json *want) {
    if (!want || want->type != LMT_JSON_ARRAY || want->len != n) return false;
    for (size_t i = 0; i < n; i++) if (want->items[i].i64 != a[i]) return false;
    return true;
}

static const char *jstr(const lmt_json *o, const char *k, size_t *len) {
    const lmt_json *v = lmt_json_get(o, k);
    if (!v || v->type != LMT_JSON_STRING) return NULL;
    *len = v->len;
    return v->str;
}

static void spm_decode_ids(const lmt_spm *m, const int32_t *ids, size_t n, lmt_strbuf *b) {
    const char **p = malloc((n + 1) * sizeof *p);
    size_t *l = malloc((n + 1) * sizeof *l);
    for (size_t i = 0; i < n; i++) { p[i] = m->piece[ids[i]]; l[i] = m->piece_len[ids[i]]; }
    lmt_spm_decode_pieces(m, p, l, n, b);
    lmt_sb_append(b, "", 0);
    free(p);
    free(l);
}

static void check_marian(const lmt_tokenizer *t, const char *text, size_t len, bool target, const lmt_json *c, const char *pre, size_t idx) {
    char key[64];
    lmt_encode_opts o = lmt_encode_opts_default();
    o.text_target = target;
    lmt_encoding e;
    CHECK_OK(lmt_tokenizer_encode(t, text, len, NULL, 0, &o, &e));
    snprintf(key, sizeof key, "%s_ids", pre);
    CHECK_MSG(ids_eq(e.ids, e.n, lmt_json_get(c, key)), "case %zu: %s differ (n=%zu)", idx, key, e.n);
    const char *modes[] = {"_decode", "_decode_special"};
    for (int k = 0; k < 2; k++) {
        char *d;
        size_t dl, wl;
        snprintf(key, sizeof key, "%s%s", pre, modes[k]);
        const char *want = jstr(c, key, &wl);
        CHECK_OK(lmt_tokenizer_decode(t, e.ids, e.n, k == 0, true, &d, &dl));
        CHECK_MSG(want && dl == wl && !memcmp(d, want, dl), "case %zu: %s: \"%.80s\" vs \"%.80s\"", idx, key, d, want ? want : "?");
        free(d);
    }
    lmt_encoding_free(&e);
    o.truncation = LMT_TRUNCATE_LONGEST_FIRST;
    o.max_length = 8;
    CHECK_OK(lmt_tokenizer_encode(t, text, len, NULL, 0, &o, &e));
    snprintf(key, sizeof key, "%s_trunc8", pre);
    CHECK_MSG(ids_eq(e.ids, e.n, lmt_json_get(c, key)), "case %zu: %s differ", idx, key);
    lmt_encoding_free(&e);
    if (!target) {
        o.max_length = 16;
        o.padding = LMT_PAD_MAX_LENGTH;
        CHECK_OK(lmt_tokenizer_encode(t, text, len, NULL, 0, &o, &e));
        CHECK_MSG(ids_eq(e.ids, e.n, lmt_json_get(c, "input_pad16")), "case %zu: pad16 ids differ", idx);
        CHECK_MSG(ids_eq(e.attention_mask, e.n, lmt_json_get(c, "input_pad16_mask")), "case %zu: pad16 mask differs", idx);
        lmt_encoding_free(&e);
    }
}

static void test_adversarial(const lmt_tokenizer *t, const lmt_spm *src, const lmt_spm *tgt) {
    lmt_json *j = NULL;
    CHECK_OK(lmt_json_parse_file(FIX "/adversarial.json", &j));
    if (!j) return;
    const lmt_json *sum = lmt_json_get(j, "summary"), *cases = lmt_json_get(j, "cases");
    lmt_special_ids sp = lmt_tokenizer_special_ids(t);
    CHECK(sp.eos == lmt_json_get(sum, "eos_id")->i64);
    CHECK(sp.pad == lmt_json_get(sum, "pad_id")->i64);
    CHECK(sp.unk == lmt_json_get(sum, "unk_id")->i64);
    CHECK(lmt_tokenizer_vocab_size(t) == (size_t)lmt_json_get(sum, "len")->i64);
    CHECK_STREQ(lmt_tokenizer_id_to_token(t, sp.eos), "</s>");
    for (size_t i = 0; cases && i < cases->len; i++) {
        const lmt_json *c = &cases->items[i];
        size_t len = 0, wl = 0;
        const char *text = jstr(c, "text", &len);
        const lmt_spm *ms[2] = {src, tgt};
        const char *ik[2] = {"src_ids", "tgt_ids"}, *dk[2] = {"src_decode", "tgt_decode"};
        for (int q = 0; q < 2; q++) {
            int32_t *ids;
            size_t n;
            CHECK(lmt_spm_encode(ms[q], text, len, &ids, &n) == 0);
            CHECK_MSG(ids_eq(ids, n, lmt_json_get(c, ik[q])), "case %zu: %s differ (n=%zu) \"%.60s\"", i, ik[q], n, text);
            lmt_strbuf b;
            lmt_sb_init(&b);
            spm_decode_ids(ms[q], ids, n, &b);
            const char *want = jstr(c, dk[q], &wl);
            CHECK_MSG(want && b.len == wl && !memcmp(b.data, want, wl), "case %zu: %s \"%.60s\" vs \"%.60s\"", i, dk[q], b.data, want ? want : "?");
            lmt_sb_free(&b);
            free(ids);
        }
        check_marian(t, text, len, false, c, "input", i);
        check_marian(t, text, len, true, c, "target", i);
    }
    lmt_json_free(j);
}

static uint64_t hash_ids(uint64_t h, const int32_t *ids, size_t n) {
    h = fnv_i32(h, (int32_t)n);
    for (size_t i = 0; i < n; i++) h = fnv_i32(h, ids[i]);
    return h;
}

static void test_corpus(const char *name, const strlist *l, const lmt_tokenizer *t, const lmt_spm *src, const lmt_spm *tgt, bool quick) {
    char path[512];
    snprintf(path, sizeof path, FIX "/%s.hashes", name);
    strlist want = {0};
    load_lines(path, &want);
    size_t blocks = (l->n + 7) / 8, bad_spm = 0, bad_marian = 0, checked = 0;
    CHECK_MSG(want.n == blocks, "%s: %zu hash lines for %zu blocks", name, want.n, blocks);
    for (size_t b = 0; b < blocks && b < want.n; b++) {
        if (quick && b % 16) continue;
        uint64_t h1 = 0xcbf29ce484222325ULL, h2 = h1;
        for (size_t i = 8 * b; i < l->n && i < 8 * b + 8; i++) {
            bool target = i % 2 == 1;   /* en, fr alternate */
            int32_t *ids;
            size_t n;
            if (lmt_spm_encode(target ? tgt : src, l->s[i], l->len[i], &ids, &n)) { CHECK(0); continue; }
            h1 = hash_ids(h1, ids, n);
            free(ids);
            lmt_encode_opts o = lmt_encode_opts_default();
            o.text_target = target;
            lmt_encoding e;
            if (lmt_tokenizer_encode(t, l->s[i], l->len[i], NULL, 0, &o, &e) != LMT_OK) { CHECK(0); continue; }
            h2 = hash_ids(h2, e.ids, e.n);
            char *d;
            size_t dl;
            if (lmt_tokenizer_decode(t, e.ids, e.n, true, true, &d, &dl) == LMT_OK) {
                h2 = fnv_i32(h2, (int32_t)dl);
                h2 = fnv(h2, d, dl);
                free(d);
            }
            lmt_encoding_free(&e);
        }
        unsigned long long w1 = 0, w2 = 0;
        sscanf(want.s[b], "%llx %llx", &w1, &w2);
        if (h1 != w1) { if (bad_spm++ < 3) fprintf(stderr, "%s block %zu: sentencepiece ids differ (first string \"%.80s\")\n", name, b, l->s[8 * b]); }
        if (h2 != w2) { if (bad_marian++ < 3) fprintf(stderr, "%s block %zu: Marian ids/decode differ (first string \"%.80s\")\n", name, b, l->s[8 * b]); }
        checked++;
    }
    CHECK_MSG(bad_spm == 0, "%s: %zu of %zu blocks differ (sentencepiece)", name, bad_spm, checked);
    CHECK_MSG(bad_marian == 0, "%s: %zu of %zu blocks differ (Marian)", name, bad_marian, checked);
    printf("%s: %zu strings, %zu blocks checked\n", name, l->n, checked);
    sl_free(&want);
}

/* Truncated and corrupted models fail cleanly or load and encode safely
 * (the suite also runs this under ASan+UBSan). */
static void test_bad_models(void) {
    char *d;
    size_t n;
    CHECK_OK(lmt_read_file(TOKDIR "/source.spm", &d, &n));
    if (!d) return;
    char path[256];
    snprintf(path, sizeof path, "%s/lmt_spm_bad_%d.spm", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    size_t cuts[] = {0, 1, 3, 7, 100, n / 3, n / 2, n - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof *cuts; k++) {
        lmt_spm m;
        CHECK_OK(lmt_write_file_atomic(path, d, cuts[k]));
        lmt_status s = lmt_spm_load(path, &m);
        CHECK_MSG(s != LMT_OK && strstr(lmt_last_error(), path), "cut at %zu: %s", cuts[k], lmt_last_error());
        if (s == LMT_OK) lmt_spm_free(&m);
    }
    uint64_t r = 12345;
    for (int trial = 0; trial < 40; trial++) {
        char *c = malloc(n);
        memcpy(c, d, n);
        for (int f = 0; f < 8; f++) {
            r = r * 6364136223846793005ULL + 1442695040888963407ULL;
            size_t at = (size_t)(r >> 33) % n;
            c[at] = (char)(r >> 20);
        }
        CHECK_OK(lmt_write_file_atomic(path, c, n));
        lmt_spm m;
        if (lmt_spm_load(path, &m) == LMT_OK) {
            int32_t *ids;
            size_t k;
            const char *txt = "  Hello ﬁ ＡＢＣ wörld 😀 \x01 tests  ";
            if (lmt_spm_encode(&m, txt, strlen(txt), &ids, &k) == 0) free(ids);
            lmt_spm_free(&m);
        }
        free(c);
    }
    remove(path);
    free(d);
    CHECK(1);
}

int main(void) {
    bool quick = getenv("LMT_TEST_QUICK") != NULL;
    lmt_spm src, tgt;
    CHECK_OK(lmt_spm_load(TOKDIR "/source.spm", &src));
    CHECK_OK(lmt_spm_load(TOKDIR "/target.spm", &tgt));
    CHECK(src.n == 32000 && src.unk_id == 0 && !src.byte_fallback && src.add_dummy_prefix && src.remove_extra_ws && src.trie_n > 0);
    lmt_tokenizer *t = NULL;
    CHECK_OK(lmt_tokenizer_load(TOKDIR, &t));
    if (!t) return lmt_test_finish();
    CHECK(lmt_tokenizer_get_kind(t) == LMT_TOKENIZER_MARIAN);
    CHECK(lmt_tokenizer_model(t) == LMT_TOK_UNIGRAM);
    test_adversarial(t, &src, &tgt);
    test_bad_models();
    strlist kde = {0}, m30 = {0};
    load_jsonl(LMT_SHARED_DATA "/multi30k-en-fr/test_2016_flickr.jsonl", "translation", "en", "fr", (size_t)-1, &m30);
    load_jsonl(LMT_SHARED_DATA "/multi30k-en-fr/train.jsonl", "translation", "en", "fr", (size_t)-1, &m30);
    load_jsonl(LMT_SHARED_DATA "/multi30k-en-fr/validation.jsonl", "translation", "en", "fr", (size_t)-1, &m30);
    load_jsonl(LMT_SHARED_DATA "/kde-en-fr/kde.jsonl", "translation", "en", "fr", (size_t)-1, &kde);
    test_corpus("multi30k", &m30, t, &src, &tgt, quick);
    test_corpus("kde", &kde, t, &src, &tgt, quick);
    sl_free(&kde);
    sl_free(&m30);
    lmt_tokenizer_free(t);
    lmt_spm_free(&src);
    lmt_spm_free(&tgt);
    return lmt_test_finish();
}
