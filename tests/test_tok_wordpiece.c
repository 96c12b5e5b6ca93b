/* WordPiece (BERT uncased) parity with transformers' BertTokenizerFast
 * (references by tools/reference/make_wordpiece_fixtures.py): every
 * WikiText-2 line, 2,000 IMDb reviews, every KDE en/fr string and 400
 * sentence pairs hashed per block of 8 (ids, type ids, offsets, word ids,
 * special mask, three decodes); the adversarial set in full; per-stage
 * checks (every code point through the normalizer, pre-tokenizer, model,
 * decoder); a small cased tokenizer.json. LMT_TEST_QUICK samples the corpora. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "core/json.h"
#include "core/util.h"
#include "lmtune/tokenizer.h"
#include "tokenizers/tokenizer_impl.h"
#include "tokenizers/utf8.h"
#include "tokenizers/wordpiece.h"

#define FX LMT_SOURCE_DIR "/tests/fixtures/tokenizers/wordpiece/"
#define BLOCK 8
#define FNV0 0xcbf29ce484222325ULL

#include "tok_corpus.h"


/* example_bytes of the reference tool: tokens, then three decodes */
static uint64_t example_hash(const lmt_tokenizer *tok, uint64_t h, const lmt_encoding *e) {
    h = fnv_i32(h, (int32_t)e->n);
    for (size_t k = 0; k < e->n; k++) {
        h = fnv_i32(h, e->ids[k]);
        h = fnv_i32(h, e->type_ids[k]);
        h = fnv_i32(h, e->offset_start[k]);
        h = fnv_i32(h, e->offset_end[k]);
        h = fnv_i32(h, e->word_ids[k]);
        h = fnv_i32(h, e->special_tokens_mask[k]);
    }
    for (int m = 0; m < 3; m++) {
        char *d = NULL;
        size_t l = 0;
        CHECK_OK(lmt_tokenizer_decode(tok, e->ids, e->n, m == 1, m == 2, &d, &l));
        const unsigned char sep = 0xff;
        h = fnv(h, d, l);
        h = fnv(h, &sep, 1);
        free(d);
    }
    return h;
}

static void dump(const lmt_encoding *e) {
    fprintf(stderr, "  got:");
    for (size_t k = 0; k < e->n && k < 24; k++)
        fprintf(stderr, " %d:%d(%d,%d w%d)", e->ids[k], e->type_ids[k], e->offset_start[k], e->offset_end[k], e->word_ids[k]);
    fprintf(stderr, "\n");
}

/* pairs: texts a[i] with b[i] (b NULL for single sequences); stride > 1
 * samples every stride-th block (LMT_TEST_QUICK). */
static void check_corpus(lmt_tokenizer *tok, const char *cname, const strlist *a, const strlist *b, size_t stride) {
    char path[512];
    snprintf(path, sizeof path, FX "%s.hashes", cname);
    char *ref;
    size_t rn;
    if (lmt_read_file(path, &ref, &rn) != LMT_OK) { CHECK_MSG(0, "%s", lmt_last_error()); return; }
    size_t nblocks = (a->n + BLOCK - 1) / BLOCK;
    CHECK_MSG(rn == nblocks * 8, "%s: %zu blocks in the reference, %zu here", path, rn / 8, nblocks);
    lmt_encoding *enc = calloc(a->n, sizeof *enc);
    lmt_encode_opts o = lmt_encode_opts_default();
    CHECK_OK(lmt_tokenizer_encode_batch(tok, (const char *const *)a->s, a->len, b ? (const char *const *)b->s : NULL,
                                        b ? b->len : NULL, a->n, &o, enc));
    int bad = 0;
    size_t checked = 0;
    for (size_t blk = 0; blk < nblocks && rn == nblocks * 8; blk += stride) {
        uint64_t h = FNV0;
        for (size_t i = blk * BLOCK; i < a->n && i < (blk + 1) * BLOCK; i++) h = example_hash(tok, h, &enc[i]);
        uint64_t want;
        memcpy(&want, ref + blk * 8, 8);
        checked++;
        if (h != want && bad++ < 2) {
            fprintf(stderr, "%s: block %zu differs from transformers; first example: \"%.120s\"\n", cname, blk, a->s[blk * BLOCK]);
            dump(&enc[blk * BLOCK]);
        }
    }
    CHECK_MSG(bad == 0, "%s: %d of %zu blocks differ", cname, bad, checked);
    for (size_t i = 0; i < a->n; i++) lmt_encoding_free(&enc[i]);
    free(enc);
    free(ref);
}

static bool ints_equal(const lmt_json *a, const int32_t *v, size_t n) {
    if (!a || a->type != LMT_JSON_ARRAY || a->len != n) return false;
    for (size_t i = 0; i < n; i++)
        if ((a->items[i].type == LMT_JSON_NULL ? -1 : a->items[i].i64) != v[i]) return false;
    return true;
}

static bool offsets_equal(const lmt_json *a, const lmt_encoding *e) {
    if (!a || a->type != LMT_JSON_ARRAY || a->len != e->n) return false;
    for (size_t k = 0; k < e->n; k++)
        if (a->items[k].items[0].i64 != e->offset_start[k] || a->items[k].items[1].i64 != e->offset_end[k]) return false;
    return true;
}

/* One reference row against an encoding: every field, and the decodes. */
static void check_row(const lmt_tokenizer *tok, const lmt_json *r, const lmt_encoding *e, const char *what, size_t i) {
    const lmt_json *hash = lmt_json_get(r, "hash");
    if (hash) {
        char got[17];
        snprintf(got, sizeof got, "%016llx", (unsigned long long)example_hash(tok, FNV0, e));
        CHECK_MSG(!strcmp(got, hash->str), "%s[%zu]: %zu tokens, hash differs", what, i, e->n);
        return;
    }
    bool ids_ok = ints_equal(lmt_json_get(r, "ids"), e->ids, e->n);
    CHECK_MSG(ids_ok, "%s[%zu]: ids differ", what, i);
    CHECK_MSG(ints_equal(lmt_json_get(r, "types"), e->type_ids, e->n), "%s[%zu]: type ids differ", what, i);
    CHECK_MSG(offsets_equal(lmt_json_get(r, "offsets"), e), "%s[%zu]: offsets differ", what, i);
    CHECK_MSG(ints_equal(lmt_json_get(r, "word_ids"), e->word_ids, e->n), "%s[%zu]: word ids differ", what, i);
    CHECK_MSG(ints_equal(lmt_json_get(r, "special"), e->special_tokens_mask, e->n), "%s[%zu]: special mask differs", what, i);
    if (!ids_ok) dump(e);
    const char *keys[3] = {"decoded", "decoded_skip", "decoded_clean"};
    for (int m = 0; m < 3; m++) {
        const lmt_json *want = lmt_json_get(r, keys[m]);
        if (!want) continue;
        char *d;
        size_t dl;
        CHECK_OK(lmt_tokenizer_decode(tok, e->ids, e->n, m == 1, m == 2, &d, &dl));
        CHECK_MSG(want->len == dl && !memcmp(want->str, d, dl), "%s[%zu]: %s \"%s\" != \"%s\"", what, i, keys[m], d, want->str);
        free(d);
    }
}

static void check_adversarial(lmt_tokenizer *tok, const lmt_json *rows) {
    char *d;
    size_t n;
    if (lmt_read_file(FX "adversarial.bin", &d, &n) != LMT_OK) { CHECK_MSG(0, "%s", lmt_last_error()); return; }
    size_t i = 0;
    for (size_t p = 0; p + 8 <= n; i++) {
        uint32_t rep, len;
        memcpy(&rep, d + p, 4);
        memcpy(&len, d + p + 4, 4);
        p += 8;
        if (len > n - p || !rows || i >= rows->len) { CHECK_MSG(0, "adversarial.bin: entry %zu is cut short", i); break; }
        size_t total = (size_t)rep * len;
        char *text = malloc(total + 1);
        for (uint32_t r = 0; r < rep; r++) memcpy(text + (size_t)r * len, d + p, len);
        p += len;
        lmt_encoding e;
        CHECK_OK(lmt_tokenizer_encode(tok, text, total, NULL, 0, NULL, &e));
        check_row(tok, &rows->items[i], &e, "adversarial", i);
        lmt_encoding_free(&e);
        free(text);
    }
    CHECK_MSG(rows && i == rows->len, "adversarial: %zu inputs for %zu rows", i, rows ? rows->len : 0);
    free(d);
}

/* ---- stages ---- */
static void check_normalizer_all_code_points(const lmt_json *blocks) {
    lmt_bert_norm cfg = {true, true, true, true, true};
    lmt_normalized ns = {0};
    size_t bad = 0;
    for (uint32_t b = 0; blocks && b < blocks->len; b++) {
        uint64_t h = FNV0;
        for (uint32_t c = b * 4096; c < (b + 1) * 4096; c++) {
            if (c >= 0xD800 && c < 0xE000) continue;
            char u[4];
            size_t l = lmt_utf8_encode(c, u);
            ns.n = 0;
            CHECK(lmt_bert_normalize(&cfg, u, l, 0, &ns) == 0);
            const unsigned char sep = 0xff;
            h = fnv(h, ns.s, ns.n);
            h = fnv(h, &sep, 1);
        }
        char got[17];
        snprintf(got, sizeof got, "%016llx", (unsigned long long)h);
        if (strcmp(got, blocks->items[b].str) && bad++ < 3) fprintf(stderr, "normalizer: code points U+%05X.. differ\n", b * 4096);
    }
    CHECK_MSG(blocks && blocks->len == 272 && bad == 0, "normalizer: %zu blocks of 4096 code points differ", bad);
    lmt_normalized_free(&ns);
}

static void check_stages(lmt_tokenizer *tok, const lmt_json *st) {
    check_normalizer_all_code_points(lmt_json_get(st, "normalizer_blocks"));
    /* normalizer alignments: "Ça\x01日" -> "ca 日 ": 'c' from the 2 bytes of 'Ç', the control removed, the spaces around 日 aligned to it */
    lmt_bert_norm cfg = {true, true, true, true, true};
    lmt_normalized ns = {0};
    CHECK(lmt_bert_normalize(&cfg, "\xc3\x87" "a\x01\xe6\x97\xa5", 8, 10, &ns) == 0);
    CHECK(ns.n == 7 && !memcmp(ns.s, "ca \xe6\x97\xa5 ", 7));
    CHECK(ns.n == 7 && ns.ostart[0] == 10 && ns.oend[0] == 12 && ns.ostart[1] == 12 && ns.oend[1] == 13);
    CHECK(ns.n == 7 && ns.ostart[2] == 14 && ns.oend[6] == 17 && ns.ostart[3] == 14);
    lmt_normalized_free(&ns);

    const lmt_json *pre = lmt_json_get(st, "pretok");
    for (size_t i = 0; pre && i < pre->len; i++) {
        const lmt_json *t = lmt_json_get(&pre->items[i], "text"), *sp = lmt_json_get(&pre->items[i], "splits");
        lmt_spans spans = {0};
        CHECK(lmt_pretok_bert(t->str, t->len, &spans) == 0);
        bool ok = sp && sp->len == spans.n;
        for (size_t k = 0; ok && k < spans.n; k++) {
            const lmt_json *w = &sp->items[k].items[0];
            ok = w->len == spans.v[k].end - spans.v[k].start && !memcmp(w->str, t->str + spans.v[k].start, w->len);
        }
        CHECK_MSG(ok, "pretok \"%s\": %zu pieces", t->str, spans.n);
        free(spans.v);
    }
    const lmt_json *wp = lmt_json_get(st, "wordpiece");
    for (size_t i = 0; wp && i < wp->len; i++) {
        const lmt_json *w = lmt_json_get(&wp->items[i], "word"), *ids = lmt_json_get(&wp->items[i], "ids"),
                       *offs = lmt_json_get(&wp->items[i], "offsets");
        lmt_bpe_tok *toks = NULL;
        size_t nt = 0, cap = 0;
        CHECK(lmt_wordpiece_encode(&tok->wp, &tok->bpe, w->str, w->len, &toks, &nt, &cap) == 0);
        bool ok = ids && ids->len == nt;
        for (size_t k = 0; ok && k < nt; k++)
            ok = ids->items[k].i64 == toks[k].id && offs->items[k].items[0].i64 == toks[k].start && offs->items[k].items[1].i64 == toks[k].end;
        CHECK_MSG(ok, "wordpiece \"%.30s\": %zu tokens", w->str, nt);
        free(toks);
    }
    const lmt_json *dec = lmt_json_get(st, "decoder");
    for (size_t i = 0; dec && i < dec->len; i++) {
        const lmt_json *tl = lmt_json_get(&dec->items[i], "tokens"), *want = lmt_json_get(&dec->items[i], "text");
        lmt_strbuf b;
        lmt_sb_init(&b);
        for (size_t k = 0; k < tl->len; k++) lmt_wordpiece_decode_piece("##", 2, true, k == 0, tl->items[k].str, tl->items[k].len, &b);
        CHECK_MSG(b.len == want->len && (!b.len || !memcmp(b.data, want->str, b.len)), "decoder case %zu: \"%.*s\" != \"%s\"", i, (int)b.len, b.data ? b.data : "", want->str);
        lmt_sb_free(&b);
    }
}

static void check_case(lmt_tokenizer *tok, const lmt_json *c, const char *label, const char **a, const char **b, size_t n,
                       const lmt_encode_opts *o) {
    lmt_encoding *enc = calloc(n, sizeof *enc);
    size_t la[8], lb[8];
    for (size_t i = 0; i < n; i++) { la[i] = strlen(a[i]); lb[i] = b ? strlen(b[i]) : 0; }
    CHECK_OK(lmt_tokenizer_encode_batch(tok, a, la, b, b ? lb : NULL, n, o, enc));
    const lmt_json *ids = lmt_json_get(c, "input_ids"), *tt = lmt_json_get(c, "token_type_ids"),
                   *am = lmt_json_get(c, "attention_mask"), *sm = lmt_json_get(c, "special_tokens_mask"),
                   *om = lmt_json_get(c, "offset_mapping"), *w = lmt_json_get(c, "word_ids");
    for (size_t i = 0; i < n; i++) {
        bool ok = ids && ints_equal(&ids->items[i], enc[i].ids, enc[i].n) && ints_equal(&tt->items[i], enc[i].type_ids, enc[i].n) &&
                  ints_equal(&am->items[i], enc[i].attention_mask, enc[i].n) &&
                  ints_equal(&sm->items[i], enc[i].special_tokens_mask, enc[i].n) && offsets_equal(&om->items[i], &enc[i]) &&
                  ints_equal(&w->items[i], enc[i].word_ids, enc[i].n);
        CHECK_MSG(ok, "case %s[%zu] differs", label, i);
        if (!ok) dump(&enc[i]);
        lmt_encoding_free(&enc[i]);
    }
    free(enc);
}

static void check_cases(lmt_tokenizer *tok, const lmt_json *cs) {
    const char *a[4] = {"Hello world", "A much longer first sequence of several words here", "x", "one two three"};
    const char *b[4] = {"second  one is here and long", "short", "a b c d e f g h i j k l", "four"};
    lmt_encode_opts o = lmt_encode_opts_default();
    o.truncation = LMT_TRUNCATE_LONGEST_FIRST;
    o.max_length = 9;
    o.padding = LMT_PAD_MAX_LENGTH;
    check_case(tok, lmt_json_get(cs, "pairs_longest_first"), "pairs_longest_first", a, b, 4, &o);
    o = lmt_encode_opts_default();
    o.padding = LMT_PAD_LONGEST;
    o.pad_to_multiple_of = 8;
    check_case(tok, lmt_json_get(cs, "pad_multiple"), "pad_multiple", a, NULL, 4, &o);
    o = lmt_encode_opts_default();
    o.add_special_tokens = false;
    const char *ns[1] = {"Hello world, it's me"};
    check_case(tok, lmt_json_get(cs, "no_special"), "no_special", ns, NULL, 1, &o);
}

static void check_tiny(const lmt_json *rows) {
    lmt_tokenizer *tok = NULL;
    CHECK_OK(lmt_tokenizer_load(FX "tiny", &tok));
    if (!tok) return;
    CHECK(lmt_tokenizer_model(tok) == LMT_TOK_WORDPIECE);
    for (size_t i = 0; rows && i < rows->len; i++) {
        const lmt_json *t = lmt_json_get(&rows->items[i], "text"), *p = lmt_json_get(&rows->items[i], "pair");
        lmt_encoding e;
        bool pair = p && p->type == LMT_JSON_STRING;
        CHECK_OK(lmt_tokenizer_encode(tok, t->str, t->len, pair ? p->str : NULL, pair ? p->len : 0, NULL, &e));
        check_row(tok, &rows->items[i], &e, "tiny", i);
        lmt_encoding_free(&e);
    }
    lmt_tokenizer_free(tok);
}

static void check_files(void) {
    lmt_tokenizer *tok = NULL;
    char dir[] = "/tmp/lmt_wp_XXXXXX";
    if (!mkdtemp(dir)) { CHECK(0); return; }
    char path[256];
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    FILE *f = fopen(path, "wb");
    fputs("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n##s\nw\xff\n", f);
    fclose(f);
    CHECK(lmt_tokenizer_load(dir, &tok) == LMT_ERR_FORMAT && strstr(lmt_last_error(), "line 8"));
    f = fopen(path, "wb");
    fputs("[PAD]\r\nhello\r\n##s\n", f);
    fclose(f);
    CHECK(lmt_tokenizer_load(dir, &tok) == LMT_ERR_FORMAT && strstr(lmt_last_error(), "[UNK]"));
    f = fopen(path, "wb");
    fputs("[PAD]\r\n[UNK]\r\n[CLS]\n[SEP]\nhello\n##s\n", f);
    fclose(f);
    CHECK_OK(lmt_tokenizer_load(dir, &tok));
    if (tok) {
        lmt_encoding e;
        CHECK_OK(lmt_tokenizer_encode(tok, "Hellos x", 8, NULL, 0, NULL, &e));
        int32_t want[] = {2, 4, 5, 1, 3};
        CHECK(e.n == 5 && !memcmp(e.ids, want, sizeof want));
        CHECK(lmt_tokenizer_special_ids(tok).mask == -1 && lmt_tokenizer_special_ids(tok).pad == 0);
        lmt_encoding_free(&e);
        lmt_tokenizer_free(tok);
    }
    remove(path);
    rmdir(dir);
}

int main(void) {
    bool quick = getenv("LMT_TEST_QUICK") != NULL;
    size_t stride = quick ? 16 : 1;
    lmt_tokenizer *tok = NULL;
    CHECK_OK(lmt_tokenizer_load(LMT_SHARED_DATA "/tokenizers/bert-base-uncased", &tok));
    if (!tok) return lmt_test_finish();
    CHECK(lmt_tokenizer_model(tok) == LMT_TOK_WORDPIECE && lmt_tokenizer_get_kind(tok) == LMT_TOKENIZER_BERT);
    CHECK(lmt_tokenizer_vocab_size(tok) == 30522);
    lmt_special_ids sp = lmt_tokenizer_special_ids(tok);
    CHECK(sp.pad == 0 && sp.unk == 100 && sp.cls == 101 && sp.sep == 102 && sp.mask == 103 && sp.bos == -1 && sp.eos == -1);
    lmt_json *full = NULL;
    CHECK_OK(lmt_json_parse_file(FX "full.json", &full));
    check_stages(tok, lmt_json_get(full, "stages"));
    check_adversarial(tok, lmt_json_get(full, "adversarial"));
    check_cases(tok, lmt_json_get(full, "cases"));
    check_tiny(lmt_json_get(full, "tiny"));
    check_files();

    strlist wv = {0}, wt = {0}, imdb = {0}, kde = {0}, pa = {0}, pb = {0};
    load_lines(LMT_SHARED_DATA "/wikitext-2-raw-v1/wiki.valid.raw", &wv);
    load_lines(LMT_SHARED_DATA "/wikitext-2-raw-v1/wiki.test.raw", &wt);
    check_corpus(tok, "wiki.valid", &wv, NULL, stride);
    check_corpus(tok, "wiki.test", &wt, NULL, stride);
    /* pairs: consecutive non-blank validation lines */
    for (size_t i = 0, k = 0; i < wv.n && k < 800; i++) {
        bool blank = true;
        for (size_t c = 0; c < wv.len[i] && blank; c++) blank = lmt_unicode_is_space((unsigned char)wv.s[i][c]);
        if (blank) continue;
        sl_push(k % 2 ? &pb : &pa, wv.s[i], wv.len[i]);
        k++;
    }
    check_corpus(tok, "pairs", &pa, &pb, stride);
    load_jsonl(LMT_SHARED_DATA "/imdb/train.jsonl", "text", NULL, NULL, 2000, &imdb);
    check_corpus(tok, "imdb", &imdb, NULL, stride);
    load_jsonl(LMT_SHARED_DATA "/kde-en-fr/kde.jsonl", "translation", "en", "fr", (size_t)-1, &kde);
    check_corpus(tok, "kde", &kde, NULL, quick ? 64 : 1);
    sl_free(&wv); sl_free(&wt); sl_free(&imdb); sl_free(&kde); sl_free(&pa); sl_free(&pb);
    lmt_json_free(full);
    lmt_tokenizer_free(tok);
    return lmt_test_finish();
}
