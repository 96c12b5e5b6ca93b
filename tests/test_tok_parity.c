/* Byte-level BPE parity with transformers' fast tokenizers (references made
 * by tools/reference/make_tokenizer_fixtures.py): every WikiText-2 line,
 * 2,000 IMDb reviews, every KDE en/fr string (hashed per block of 8
 * examples), and an adversarial set compared in full. */
#include <stdio.h>
#include <stdlib.h>
#include "harness.h"
#include "core/json.h"
#include "core/util.h"
#include "lmtune/tokenizer.h"

#define FX LMT_SOURCE_DIR "/tests/fixtures/tokenizers/"
#define BLOCK 8

#include "tok_corpus.h"







/* JSON Lines: the string at key (or at translation.en / translation.fr). */


static void check_corpus(lmt_tokenizer *tok, const char *tname, const char *cname, const strlist *texts) {
    char path[512];
    snprintf(path, sizeof path, FX "%s.%s.hashes", cname, tname);
    char *ref;
    size_t rn;
    if (lmt_read_file(path, &ref, &rn) != LMT_OK) { CHECK_MSG(0, "%s", lmt_last_error()); return; }
    size_t nblocks = (texts->n + BLOCK - 1) / BLOCK;
    CHECK_MSG(rn == nblocks * 8, "%s: %zu blocks in the reference, %zu here", path, rn / 8, nblocks);
    lmt_encoding *enc = calloc(texts->n, sizeof *enc);
    lmt_encode_opts o = lmt_encode_opts_default();
    CHECK_OK(lmt_tokenizer_encode_batch(tok, (const char *const *)texts->s, texts->len, NULL, NULL, texts->n, &o, enc));
    int bad_blocks = 0;
    for (size_t b = 0; b < nblocks && rn == nblocks * 8; b++) {
        size_t to = (b + 1) * BLOCK < texts->n ? (b + 1) * BLOCK : texts->n;
        uint64_t h = block_hash2(tok, enc, b * BLOCK, to);
        uint64_t want;
        memcpy(&want, ref + b * 8, 8);
        if (h != want && bad_blocks++ < 2) {
            fprintf(stderr, "%s/%s: block %zu (examples %zu..%zu) differs from transformers; first example: \"%.120s\"\n  ids:",
                    tname, cname, b, b * BLOCK, b * BLOCK + BLOCK - 1, texts->s[b * BLOCK]);
            for (size_t k = 0; k < enc[b * BLOCK].n && k < 24; k++)
                fprintf(stderr, " %d(%d,%d w%d)", enc[b * BLOCK].ids[k], enc[b * BLOCK].offset_start[k], enc[b * BLOCK].offset_end[k], enc[b * BLOCK].word_ids[k]);
            fprintf(stderr, "\n");
        }
    }
    CHECK_MSG(bad_blocks == 0, "%s/%s: %d of %zu blocks differ", tname, cname, bad_blocks, nblocks);
    for (size_t i = 0; i < texts->n; i++) lmt_encoding_free(&enc[i]);
    free(enc);
    free(ref);
}

static bool ints_equal(const lmt_json *a, const int32_t *v, size_t n, int none_as) {
    if (!a || a->type != LMT_JSON_ARRAY || a->len != n) return false;
    for (size_t i = 0; i < n; i++) {
        int64_t x = a->items[i].type == LMT_JSON_NULL ? none_as : a->items[i].i64;
        if (x != v[i]) return false;
    }
    return true;
}

static void check_full(lmt_tokenizer *tok, const char *tname, const lmt_json *rows, const strlist *texts, const char *what) {
    CHECK_MSG(rows && rows->len == texts->n, "%s/%s: %zu rows", tname, what, rows ? rows->len : 0);
    for (size_t i = 0; rows && i < rows->len && i < texts->n; i++) {
        const lmt_json *r = &rows->items[i];
        lmt_encoding e;
        CHECK_OK(lmt_tokenizer_encode(tok, texts->s[i], texts->len[i], NULL, 0, NULL, &e));
        const lmt_json *hash = lmt_json_get(r, "hash");
        if (hash) {   /* examples too long to store in full */
            char *d0 = NULL, *d1 = NULL;
            size_t l0 = 0, l1 = 0;
            lmt_tokenizer_decode(tok, e.ids, e.n, false, false, &d0, &l0);
            lmt_tokenizer_decode(tok, e.ids, e.n, true, false, &d1, &l1);
            char got[17];
            snprintf(got, sizeof got, "%016llx", (unsigned long long)example_hash2(0xcbf29ce484222325ULL, &e, d0, l0, d1, l1));
            CHECK_MSG(!strcmp(got, hash->str), "%s/%s[%zu]: %zu tokens, hash differs (\"%.40s...\")", tname, what, i, e.n, texts->s[i]);
            free(d0);
            free(d1);
            lmt_encoding_free(&e);
            continue;
        }
        int32_t *st = malloc((e.n + 1) * 4), *en = malloc((e.n + 1) * 4);
        for (size_t k = 0; k < e.n; k++) { st[k] = e.offset_start[k]; en[k] = e.offset_end[k]; }
        const lmt_json *offs = lmt_json_get(r, "offsets");
        bool offs_ok = offs && offs->len == e.n;
        for (size_t k = 0; offs_ok && k < e.n; k++)
            offs_ok = offs->items[k].items[0].i64 == st[k] && offs->items[k].items[1].i64 == en[k];
        bool ids_ok = ints_equal(lmt_json_get(r, "ids"), e.ids, e.n, -1);
        CHECK_MSG(ids_ok, "%s/%s[%zu]: ids differ (\"%.60s\")", tname, what, i, texts->s[i]);
        CHECK_MSG(offs_ok, "%s/%s[%zu]: offsets differ", tname, what, i);
        CHECK_MSG(ints_equal(lmt_json_get(r, "word_ids"), e.word_ids, e.n, -1), "%s/%s[%zu]: word ids differ", tname, what, i);
        CHECK_MSG(ints_equal(lmt_json_get(r, "special"), e.special_tokens_mask, e.n, -1), "%s/%s[%zu]: special mask differs", tname, what, i);
        if (!ids_ok) {
            fprintf(stderr, "  got:");
            for (size_t k = 0; k < e.n && k < 30; k++) fprintf(stderr, " %d", e.ids[k]);
            fprintf(stderr, "\n");
        }
        for (int skip = 0; skip < 3; skip++) {
            char *d;
            size_t dl;
            CHECK_OK(lmt_tokenizer_decode(tok, e.ids, e.n, skip == 1, skip == 2, &d, &dl));
            const lmt_json *want = lmt_json_get(r, skip == 1 ? "decoded_skip" : skip == 2 ? "decoded_clean" : "decoded");
            CHECK_MSG(want && want->len == dl && !memcmp(want->str, d, dl), "%s/%s[%zu]: decode(skip=%d) differs", tname, what, i, skip);
            free(d);
        }
        free(st);
        free(en);
        lmt_encoding_free(&e);
    }
}

static void check_batch_case(lmt_tokenizer *tok, const lmt_json *c, const char *label, const char **a, const char **b, size_t n,
                             lmt_encode_opts o) {
    size_t la[4], lb[4];
    for (size_t i = 0; i < n; i++) { la[i] = strlen(a[i]); lb[i] = b ? strlen(b[i]) : 0; }
    lmt_encoding enc[4] = {{0}};
    CHECK_MSG(c != NULL, "%s: no reference", label);
    if (!c) return;
    if (lmt_json_get(c, "error")) {   /* transformers refused: so must lmtune */
        CHECK_MSG(lmt_tokenizer_encode_batch(tok, a, la, b, lb, n, &o, enc) != LMT_OK, "%s: should fail", label);
        return;
    }
    CHECK_OK(lmt_tokenizer_encode_batch(tok, a, la, b, lb, n, &o, enc));
    const lmt_json *ids = lmt_json_get(c, "input_ids"), *am = lmt_json_get(c, "attention_mask"), *sm = lmt_json_get(c, "special_tokens_mask");
    for (size_t i = 0; i < n; i++) {
        CHECK_MSG(ids && ints_equal(&ids->items[i], enc[i].ids, enc[i].n, -1), "%s[%zu]: ids differ", label, i);
        CHECK_MSG(am && ints_equal(&am->items[i], enc[i].attention_mask, enc[i].n, -1), "%s[%zu]: attention mask differs", label, i);
        if (sm) CHECK_MSG(ints_equal(&sm->items[i], enc[i].special_tokens_mask, enc[i].n, -1), "%s[%zu]: special mask differs", label, i);
        const lmt_json *w = lmt_json_get(c, "word_ids");
        if (w) CHECK_MSG(ints_equal(&w->items[i], enc[i].word_ids, enc[i].n, -1), "%s[%zu]: word ids differ", label, i);
        const lmt_json *off = lmt_json_get(c, "offset_mapping");
        if (off) {
            bool ok = off->items[i].len == enc[i].n;
            for (size_t k = 0; ok && k < enc[i].n; k++)
                ok = off->items[i].items[k].items[0].i64 == enc[i].offset_start[k] && off->items[i].items[k].items[1].i64 == enc[i].offset_end[k];
            CHECK_MSG(ok, "%s[%zu]: offsets differ", label, i);
        }
        lmt_encoding_free(&enc[i]);
    }
}

int main(void) {
    lmt_tokenizer *tok[3] = {NULL, NULL, NULL};
    const char *tnames[3] = {"gpt2", "roberta", "tiny"};
    CHECK_OK(lmt_tokenizer_load(LMT_SHARED_DATA "/tokenizers/gpt2", &tok[0]));
    CHECK_OK(lmt_tokenizer_load(LMT_SHARED_DATA "/tokenizers/roberta-base", &tok[1]));
    CHECK_OK(lmt_tokenizer_load(FX "tiny", &tok[2]));   /* tokenizer.json: prefix space, lstrip/rstrip, single_word */
    if (!tok[0] || !tok[1] || !tok[2]) return lmt_test_finish();
    CHECK(lmt_tokenizer_get_kind(tok[0]) == LMT_TOKENIZER_GPT2 && lmt_tokenizer_get_kind(tok[1]) == LMT_TOKENIZER_ROBERTA);
    CHECK(lmt_tokenizer_model(tok[0]) == LMT_TOK_BPE);
    CHECK(lmt_tokenizer_vocab_size(tok[0]) == 50257 && lmt_tokenizer_vocab_size(tok[1]) == 50265);
    CHECK(lmt_tokenizer_vocab_size(tok[2]) == 705);   /* 700 + 5 added tokens outside the model vocab */

    /* SPEC §1 step 2 */
    const char *ex = " = Valkyria Chronicles III = \n";
    lmt_encoding e;
    CHECK_OK(lmt_tokenizer_encode(tok[0], ex, strlen(ex), NULL, 0, NULL, &e));
    int32_t want[] = {796, 569, 18354, 7496, 17740, 6711, 796, 220, 198};
    CHECK(e.n == 9 && !memcmp(e.ids, want, sizeof want));
    for (size_t k = 0; k < e.n; k++) CHECK(e.attention_mask[k] == 1);
    lmt_encoding_free(&e);

    lmt_json *full = NULL;
    CHECK_OK(lmt_json_parse_file(FX "full.json", &full));
    strlist adv = {0}, sample = {0};
    {
        load_adversarial_bin(FX "adversarial.bin", &adv);
        strlist all = {0};
        load_lines(LMT_SHARED_DATA "/wikitext-2-raw-v1/wiki.valid.raw", &all);
        for (size_t i = 0; i < 40 && i < all.n; i++) sl_push(&sample, all.s[i], all.len[i]);
        sl_free(&all);
    }
    for (int t = 0; t < 3 && full; t++) {
        const lmt_json *f = lmt_json_get(full, tnames[t]);
        check_full(tok[t], tnames[t], lmt_json_get(f, "adversarial"), &adv, "adversarial");
        check_full(tok[t], tnames[t], lmt_json_get(f, "wiki_sample"), &sample, "wiki_sample");
        /* pairs, truncation, padding; GPT-2 pads with eos, as the notebooks set it */
        int64_t pad_id = -1;
        CHECK_OK(lmt_json_get_int(f, "pad_id", -1, "full.json", &pad_id));
        if (lmt_tokenizer_special_ids(tok[t]).pad < 0) CHECK_OK(lmt_tokenizer_set_pad(tok[t], (int32_t)pad_id));
        CHECK(lmt_tokenizer_special_ids(tok[t]).pad == pad_id);
        const char *pa[] = {"Hello world", "A much longer first sequence of several words here", "x", "one two three"};
        const char *pb[] = {"second  one is here and long", "short", "a b c d e f g h i j k l", "four"};
        const char *pa3[] = {pa[0], pa[1], pa[3]}, *pb3[] = {pb[0], pb[1], pb[3]};
        const char *strat[] = {"pairs_longest_first", "pairs_only_first", "pairs_only_second"};
        lmt_truncation tr[] = {LMT_TRUNCATE_LONGEST_FIRST, LMT_TRUNCATE_ONLY_FIRST, LMT_TRUNCATE_ONLY_SECOND};
        lmt_encode_opts o;
        for (int k = 0; k < 3; k++) {
            o = lmt_encode_opts_default();
            o.truncation = tr[k]; o.max_length = 9; o.padding = LMT_PAD_MAX_LENGTH;
            check_batch_case(tok[t], lmt_json_get(f, strat[k]), strat[k], pa3, pb3, 3, o);
        }
        o = lmt_encode_opts_default();
        o.truncation = LMT_TRUNCATE_LONGEST_FIRST; o.max_length = 7;
        check_batch_case(tok[t], lmt_json_get(f, "pairs_longest_first_7"), "pairs_longest_first_7", pa, pb, 4, o);
        const char *la[] = {"one two three four five six", "x"};
        o = lmt_encode_opts_default();
        o.truncation = LMT_TRUNCATE_LONGEST_FIRST; o.max_length = 5; o.padding = LMT_PAD_LONGEST; o.pad_left = true; o.truncate_left = true;
        check_batch_case(tok[t], lmt_json_get(f, "left_pad_left_trunc"), "left_pad_left_trunc", la, NULL, 2, o);
        const char *ma[] = {"one two", "a b c d e f g", "hello there"};
        o = lmt_encode_opts_default();
        o.padding = LMT_PAD_LONGEST; o.pad_to_multiple_of = 4;
        check_batch_case(tok[t], lmt_json_get(f, "pad_multiple"), "pad_multiple", ma, NULL, 3, o);
        const char *mb[] = {"one two", "a b c d e f g h i j k l m n"};
        o = lmt_encode_opts_default();
        o.padding = LMT_PAD_MAX_LENGTH; o.max_length = 8; o.truncation = LMT_TRUNCATE_LONGEST_FIRST; o.pad_to_multiple_of = 4;
        check_batch_case(tok[t], lmt_json_get(f, "pad_max_length_multiple"), "pad_max_length_multiple", mb, NULL, 2, o);
        const char *ns[] = {"Hello world, it's me"};
        o = lmt_encode_opts_default();
        o.add_special_tokens = false;
        check_batch_case(tok[t], lmt_json_get(f, "no_special"), "no_special", ns, NULL, 1, o);
        /* convert_ids_to_tokens */
        const lmt_json *tk = lmt_json_get(f, "tokens"), *ids = lmt_json_get(tk, "ids"), *toks = lmt_json_get(tk, "tokens");
        CHECK(ids && toks && ids->len == toks->len);
        for (size_t k = 0; ids && toks && k < ids->len && k < toks->len; k++) {
            const char *got = lmt_tokenizer_id_to_token(tok[t], (int32_t)ids->items[k].i64);
            CHECK_MSG(got && !strcmp(got, toks->items[k].str), "%s token %zu", tnames[t], k);
        }
    }
    lmt_json_free(full);
    sl_free(&adv);
    sl_free(&sample);

    /* tokenizer.json and vocab.json + merges.txt give the same encodings (the
     * real files, written by the reference tool when LMT_TOKENIZER_JSON_DIR is set) */
    const char *jdir = getenv("LMT_TOKENIZER_JSON_DIR");
    for (int t = 0; jdir && t < 2; t++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", jdir, tnames[t]);
        lmt_tokenizer *tj = NULL;
        CHECK_OK(lmt_tokenizer_load(path, &tj));
        strlist wv = {0};
        load_lines(LMT_SHARED_DATA "/wikitext-2-raw-v1/wiki.valid.raw", &wv);
        for (size_t i = 0; tj && i < wv.n; i++) {
            lmt_encoding a, b;
            CHECK_OK(lmt_tokenizer_encode(tok[t], wv.s[i], wv.len[i], NULL, 0, NULL, &a));
            CHECK_OK(lmt_tokenizer_encode(tj, wv.s[i], wv.len[i], NULL, 0, NULL, &b));
            bool same = a.n == b.n && !memcmp(a.ids, b.ids, a.n * 4) && !memcmp(a.offset_start, b.offset_start, a.n * 4) &&
                        !memcmp(a.offset_end, b.offset_end, a.n * 4) && !memcmp(a.word_ids, b.word_ids, a.n * 4);
            CHECK_MSG(same, "%s: tokenizer.json and vocab.json+merges.txt differ on line %zu", tnames[t], i);
            lmt_encoding_free(&a);
            lmt_encoding_free(&b);
        }
        sl_free(&wv);
        lmt_tokenizer_free(tj);
    }

    /* the corpora (the sanitizer build samples them: LMT_TEST_QUICK) */
    bool quick = getenv("LMT_TEST_QUICK") != NULL;
    strlist wv = {0}, wt = {0}, imdb = {0}, kde = {0};
    load_lines(LMT_SHARED_DATA "/wikitext-2-raw-v1/wiki.valid.raw", &wv);
    load_lines(LMT_SHARED_DATA "/wikitext-2-raw-v1/wiki.test.raw", &wt);
    CHECK(wv.n == 3760 && wt.n == 4358);   /* SPEC §1: validation 3,760, test 4,358 lines */
    if (!quick) {
        load_jsonl(LMT_SHARED_DATA "/imdb/train.jsonl", "text", NULL, NULL, 2000, &imdb);
        load_jsonl(LMT_SHARED_DATA "/kde-en-fr/kde.jsonl", "translation", "en", "fr", SIZE_MAX, &kde);
        CHECK(imdb.n == 2000 && kde.n == 113942);
    }
    for (int t = 0; t < 2; t++) {
        check_corpus(tok[t], tnames[t], "wiki.valid", &wv);
        if (quick) continue;
        check_corpus(tok[t], tnames[t], "wiki.test", &wt);
        check_corpus(tok[t], tnames[t], "imdb", &imdb);
        check_corpus(tok[t], tnames[t], "kde", &kde);
    }
    sl_free(&wv); sl_free(&wt); sl_free(&imdb); sl_free(&kde);
    for (int t = 0; t < 3; t++) lmt_tokenizer_free(tok[t]);
    return lmt_test_finish();
}
