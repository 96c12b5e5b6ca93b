/* The general tokenizer.json pipeline against HF tokenizers (references by
 * tools/reference/make_tokenizer_json_fixtures.py): the llama-family folders
 * (SmolLM2, TinyLlama, Llama-3.2, Mistral tokenizer.json; Qwen2.5 vocab.json
 * + merges.txt): ids, offsets, word ids, special-tokens mask and both decodes
 * on the adversarial set and a WikiText sample in full, every WikiText-2 line
 * hashed per block of 32; and malformed files. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "harness.h"
#include "core/json.h"
#include "core/util.h"
#include "lmtune/tokenizer.h"

#define FX LMT_SOURCE_DIR "/tests/fixtures/tokenizers_json/"
#define FAM LMT_SHARED_DATA "/llama-family/"
#define BLOCK 32

#include "tok_corpus.h"



static int reported;

static void show(const char *what, size_t i, const lmt_encoding *e, const lmt_json *ids) {
    if (reported++ > 6) return;
    fprintf(stderr, "  %s #%zu: lmtune %zu tokens:", what, i, e->n);
    for (size_t k = 0; k < e->n && k < 40; k++) fprintf(stderr, " %d(%d,%d)", e->ids[k], e->offset_start[k], e->offset_end[k]);
    fprintf(stderr, "\n  reference:");
    for (size_t k = 0; ids && k < ids->len && k < 40; k++) fprintf(stderr, " %lld", (long long)ids->items[k].i64);
    fprintf(stderr, "\n");
}

static bool arr_eq(const lmt_json *a, const int32_t *v, size_t n) {
    if (!a || a->type != LMT_JSON_ARRAY || a->len != n) return false;
    for (size_t k = 0; k < n; k++) if (a->items[k].i64 != v[k]) return false;
    return true;
}

/* what: name; rows: reference rows; texts: inputs. Returns mismatches. */
static int check_full(lmt_tokenizer *tok, const char *model, const char *what, const lmt_json *rows, const strlist *texts) {
    int bad = 0, bad_ids = 0, bad_offs = 0, bad_dec = 0;
    CHECK_MSG(rows && rows->len == texts->n, "%s %s: %zu rows for %zu texts", model, what, rows ? rows->len : 0, texts->n);
    if (!rows || rows->len != texts->n) return 1;
    for (size_t i = 0; i < texts->n; i++) {
        const lmt_json *r = &rows->items[i];
        lmt_encoding e;
        if (lmt_tokenizer_encode(tok, texts->s[i], texts->len[i], NULL, 0, NULL, &e) != LMT_OK) { CHECK_MSG(0, "%s", lmt_last_error()); bad++; continue; }
        char *d0 = NULL, *d1 = NULL;
        size_t l0 = 0, l1 = 0;
        CHECK_OK(lmt_tokenizer_decode(tok, e.ids, e.n, false, false, &d0, &l0));
        CHECK_OK(lmt_tokenizer_decode(tok, e.ids, e.n, true, false, &d1, &l1));
        const lmt_json *h = lmt_json_get(r, "hash");
        if (h) {
            char hx[17];
            snprintf(hx, sizeof hx, "%016llx", (unsigned long long)example_hash2(0xcbf29ce484222325ULL, &e, d0, l0, d1, l1));
            if (strcmp(hx, h->str)) { bad++; bad_ids++; if (reported++ < 6) fprintf(stderr, "  %s %s #%zu (hashed, %zu tokens) differs\n", model, what, i, e.n); }
        } else {
            const lmt_json *ids = lmt_json_get(r, "ids"), *offs = lmt_json_get(r, "offsets"), *words = lmt_json_get(r, "words"),
                           *sp = lmt_json_get(r, "special"), *dec = lmt_json_get(r, "decode");
            bool ok_ids = arr_eq(ids, e.ids, e.n), ok_o = ok_ids, ok_d;
            for (size_t k = 0; ok_ids && k < e.n; k++)
                if (offs->items[k].items[0].i64 != e.offset_start[k] || offs->items[k].items[1].i64 != e.offset_end[k]) ok_o = false;
            if (ok_ids && (!arr_eq(words, e.word_ids, e.n) || !arr_eq(sp, e.special_tokens_mask, e.n))) ok_o = false;
            ok_d = !dec || (dec->items[0].len == l0 && !memcmp(dec->items[0].str, d0, l0) && dec->items[1].len == l1 && !memcmp(dec->items[1].str, d1, l1));
            if (!ok_ids) { bad_ids++; fprintf(stderr, "%s %s: ids differ\n", model, what); show(what, i, &e, ids); }
            else if (!ok_o) { bad_offs++; if (reported++ < 6) { fprintf(stderr, "  %s %s #%zu offsets/words/mask differ:", model, what, i);
                for (size_t k = 0; k < e.n && k < 30; k++) fprintf(stderr, " %d(%d,%d w%d s%d|%lld,%lld)", e.ids[k], e.offset_start[k], e.offset_end[k], e.word_ids[k], e.special_tokens_mask[k],
                    (long long)offs->items[k].items[0].i64, (long long)offs->items[k].items[1].i64);
                fprintf(stderr, "\n"); } }
            if (!ok_d) { bad_dec++; if (reported++ < 6) fprintf(stderr, "  %s %s #%zu decode: lmtune \"%.200s\" / \"%.200s\"; reference \"%.200s\" / \"%.200s\"\n", model, what, i, d0, d1, dec->items[0].str, dec->items[1].str); }
            if (!ok_ids || !ok_o || !ok_d) bad++;
        }
        free(d0);
        free(d1);
        lmt_encoding_free(&e);
    }
    CHECK_MSG(bad == 0, "%s %s: %d of %zu differ (ids %d, offsets/words/mask %d, decode %d)", model, what, bad, texts->n, bad_ids, bad_offs, bad_dec);
    return bad;
}

/* PAIRS of the reference tool: plain, then truncated (longest_first) and
 * padded to 12 (pad_id: the config's pad token, else eos) */
static void check_pairs(lmt_tokenizer *tok, const char *model, const lmt_json *ref, const lmt_json *top) {
    static const char *pa[][2] = {
        {"Hello world", "How are you?"},
        {" = Valkyria Chronicles III = \n", "The game's battle system, the BliTZ system, is carried over"},
        {"<|im_start|>user\nHi<|im_end|>", "<s>[INST] Hi [/INST]"},
        {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88", "caf\xc3\xa9 e\xcc\x81 \xef\xac\x81 12345"},
        {"", "only the second"},
        {NULL, NULL},
    };
    char xs[81], ys[61];
    for (int i = 0; i < 40; i++) { xs[2 * i] = 'x'; xs[2 * i + 1] = ' '; }
    xs[80] = 0;
    for (int i = 0; i < 30; i++) { ys[2 * i] = 'y'; ys[2 * i + 1] = ' '; }
    ys[60] = 0;
    pa[5][0] = xs;
    pa[5][1] = ys;
    const lmt_json *rows = lmt_json_get(ref, "pairs");
    int64_t pad = -1;
    lmt_json_get_int(top, "pad_id", -1, "fixture", &pad);
    CHECK_MSG(rows && rows->len == 12, "%s: pairs", model);
    if (!rows || rows->len != 12) return;
    if (lmt_tokenizer_special_ids(tok).pad < 0 && pad >= 0) CHECK_OK(lmt_tokenizer_set_pad(tok, (int32_t)pad));
    for (size_t k = 0; k < 12; k++) {
        lmt_encode_opts o = lmt_encode_opts_default();
        if (k >= 6) { o.truncation = LMT_TRUNCATE_LONGEST_FIRST; o.max_length = 12; o.padding = LMT_PAD_MAX_LENGTH; }
        const char *a = pa[k % 6][0], *b = pa[k % 6][1];
        lmt_encoding e;
        if (lmt_tokenizer_encode(tok, a, strlen(a), b, strlen(b), &o, &e) != LMT_OK) { CHECK_MSG(0, "%s", lmt_last_error()); continue; }
        const lmt_json *r = &rows->items[k];
        bool ok = arr_eq(lmt_json_get(r, "ids"), e.ids, e.n) && arr_eq(lmt_json_get(r, "type_ids"), e.type_ids, e.n) &&
                  arr_eq(lmt_json_get(r, "special"), e.special_tokens_mask, e.n) && arr_eq(lmt_json_get(r, "seq"), e.sequence_ids, e.n) &&
                  arr_eq(lmt_json_get(r, "words"), e.word_ids, e.n) && arr_eq(lmt_json_get(r, "mask"), e.attention_mask, e.n);
        const lmt_json *offs = lmt_json_get(r, "offsets");
        for (size_t t = 0; ok && t < e.n; t++)
            ok = offs->items[t].items[0].i64 == e.offset_start[t] && offs->items[t].items[1].i64 == e.offset_end[t];
        CHECK_MSG(ok, "%s: pair %zu differs", model, k);
        if (!ok) show("pair", k, &e, lmt_json_get(r, "ids"));
        lmt_encoding_free(&e);
    }
}

static void check_blocks(lmt_tokenizer *tok, const char *model, const char *split, const lmt_json *hashes, const strlist *texts) {
    size_t nb = (texts->n + BLOCK - 1) / BLOCK;
    CHECK_MSG(hashes && hashes->len == nb, "%s %s: %zu blocks in the reference, %zu here", model, split, hashes ? hashes->len : 0, nb);
    if (!hashes || hashes->len != nb) return;
    lmt_encoding *enc = calloc(texts->n, sizeof *enc);
    lmt_encode_opts o = lmt_encode_opts_default();
    CHECK_OK(lmt_tokenizer_encode_batch(tok, (const char *const *)texts->s, texts->len, NULL, NULL, texts->n, &o, enc));
    int bad = 0;
    for (size_t b = 0; b < nb; b++) {
        size_t to = (b + 1) * BLOCK < texts->n ? (b + 1) * BLOCK : texts->n;
        uint64_t h = block_hash2(tok, enc, b * BLOCK, to);
        char hx[17];
        snprintf(hx, sizeof hx, "%016llx", (unsigned long long)h);
        if (strcmp(hx, hashes->items[b].str)) {
            if (bad++ < 2) fprintf(stderr, "  %s %s: block %zu (lines %zu..) differs, first line \"%.80s\"\n", model, split, b, b * BLOCK, texts->s[b * BLOCK]);
        }
    }
    CHECK_MSG(bad == 0, "%s %s: %d of %zu blocks of %d lines differ", model, split, bad, nb, BLOCK);
    for (size_t i = 0; i < texts->n; i++) lmt_encoding_free(&enc[i]);
    free(enc);
}

/* The t5_precompiled fixture holds "@spm:PATH" for its charsmap: a copy in a
 * temporary folder with the base64 put back; *dir becomes that folder. */
static void path_with_charsmap(const char *src_dir, char *dir, char *out, size_t cap) {
    char path[600];
    snprintf(path, sizeof path, "%s/tokenizer.json", src_dir);
    char *d;
    size_t n;
    if (lmt_read_file(path, &d, &n) != LMT_OK || !mkdtemp(dir)) { CHECK(0); return; }
    const char *at = strstr(d, "\"@spm:");
    lmt_strbuf b;
    lmt_sb_init(&b);
    if (at) {
        const char *end = strchr(at + 1, '"');
        char rel[256];
        snprintf(rel, sizeof rel, "%.*s", (int)(end - at - 6), at + 6);
        lmt_sb_append(&b, d, (size_t)(at - d) + 1);
        spm_charsmap_b64(rel, &b);
        lmt_sb_append(&b, end, n - (size_t)(end - d));
    }
    CHECK(at != NULL);
    snprintf(out, cap, "%s", dir);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    FILE *f = fopen(path, "w");
    if (f && b.data) fwrite(b.data, 1, b.len, f);
    if (f) fclose(f);
    lmt_sb_free(&b);
    free(d);
}

static void bad_file(const char *json, const char *expect) {
    char dir[] = "/tmp/lmt_tokjson_XXXXXX";
    if (!mkdtemp(dir)) { CHECK(0); return; }
    char path[256];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    FILE *f = fopen(path, "w");
    fputs(json, f);
    fclose(f);
    lmt_tokenizer *t = NULL;
    lmt_status s = lmt_tokenizer_load(dir, &t);
    CHECK_MSG(s != LMT_OK && t == NULL, "malformed tokenizer.json loaded: %s", json);
    const char *msg = lmt_last_error();
    CHECK_MSG(strstr(msg, "tokenizer.json") && strstr(msg, expect), "message \"%s\" should name the file and \"%s\"", msg, expect);
    remove(path);
    rmdir(dir);
}

int main(void) {
    const char *models[] = {"SmolLM2-135M", "TinyLlama-1.1B-Chat-v1.0", "Llama-3.2-1B-Instruct", "Mistral-7B-v0.1", "Qwen2.5-0.5B-Instruct"};
    bool quick = getenv("LMT_TEST_QUICK") != NULL;
    strlist adv = {0}, wiki[2] = {{0}, {0}};
    const char *splits[2] = {"wiki.valid", "wiki.test"};
    {
        load_adversarial_bin(LMT_SOURCE_DIR "/tests/fixtures/tokenizers/adversarial.bin", &adv);
        lmt_json *extra = NULL;
        CHECK_OK(lmt_json_parse_file(FX "adversarial_extra.json", &extra));
        for (size_t i = 0; extra && i < extra->len; i++) sl_push(&adv, extra->items[i].str, extra->items[i].len);
        lmt_json_free(extra);
        load_lines(LMT_SHARED_DATA "/wikitext-2-raw-v1/wiki.valid.raw", &wiki[0]);
        load_lines(LMT_SHARED_DATA "/wikitext-2-raw-v1/wiki.test.raw", &wiki[1]);
    }
    for (int m = 0; m < 5; m++) {
        char path[512];
        lmt_json *ref = NULL;
        snprintf(path, sizeof path, FX "%s.json", models[m]);
        CHECK_OK(lmt_json_parse_file(path, &ref));
        if (!ref) continue;
        /* the file as tokenizers.Tokenizer.from_file reads it (Qwen2.5, without
         * tokenizer.json: the folder), then the folder as AutoTokenizer */
        const lmt_json *autor = lmt_json_get(ref, "auto");
        for (int pass = 0; pass < 2; pass++) {
            const lmt_json *r = pass ? autor : ref;
            if (!r) continue;
            lmt_tokenizer *tok = NULL;
            char label[160];
            snprintf(label, sizeof label, "%s%s", models[m], pass ? " (AutoTokenizer)" : "");
            if (autor && !pass) {
                snprintf(path, sizeof path, FAM "%s/tokenizer.json", models[m]);
                CHECK_OK(lmt_tokenizer_load_file(path, &tok));
            } else {
                snprintf(path, sizeof path, FAM "%s", models[m]);
                CHECK_OK(lmt_tokenizer_load(path, &tok));
            }
            if (!tok) continue;
            reported = 0;
            check_full(tok, label, "adversarial", lmt_json_get(r, "adversarial"), &adv);
            check_pairs(tok, label, r, ref);   /* (the pad id lives at the top) */
            for (int s = 0; s < 2; s++) {
                if (!pass) {
                    strlist sample = {0};
                    for (size_t i = 0; i < wiki[s].n; i += 50) sl_push(&sample, wiki[s].s[i], wiki[s].len[i]);
                    check_full(tok, label, splits[s], lmt_json_get(lmt_json_get(r, "sample"), splits[s]), &sample);
                    sl_free(&sample);
                }
                if (!quick) check_blocks(tok, label, splits[s], lmt_json_get(lmt_json_get(r, "blocks"), splits[s]), &wiki[s]);
            }
            lmt_tokenizer_free(tok);
        }
        lmt_json_free(ref);
    }
    /* tokenizers trained by the reference tool, one per pipeline shape */
    const char *synth[] = {"unigram_metaspace", "wordpiece_custom", "bpe_suffix", "gemma_style", "llama3_style", "t5_precompiled",
                           "unigram_bytefallback", "bpe_unk", "bpe_unk_fused"};
    strlist test_sample = {0};
    for (size_t i = 0; i < wiki[1].n; i += 50) sl_push(&test_sample, wiki[1].s[i], wiki[1].len[i]);
    char tmpdir[] = "/tmp/lmt_tokjson_t5_XXXXXX";
    for (int k = 0; k < (int)(sizeof synth / sizeof *synth); k++) {
        char path[512];
        snprintf(path, sizeof path, FX "synth/%s", synth[k]);
        if (k == 5) path_with_charsmap(path, tmpdir, path, sizeof path);
        lmt_tokenizer *tok = NULL;
        CHECK_OK(lmt_tokenizer_load(path, &tok));
        if (k == 5) { snprintf(path, sizeof path, "%s/tokenizer.json", tmpdir); remove(path); rmdir(tmpdir); }
        snprintf(path, sizeof path, FX "synth/%s.json", synth[k]);
        lmt_json *ref = NULL;
        CHECK_OK(lmt_json_parse_file(path, &ref));
        if (tok && ref) {
            reported = 0;
            check_full(tok, synth[k], "adversarial", lmt_json_get(ref, "adversarial"), &adv);
            check_full(tok, synth[k], "wiki.test", lmt_json_get(ref, "wiki.test"), &test_sample);
        }
        lmt_json_free(ref);
        lmt_tokenizer_free(tok);
    }
    sl_free(&test_sample);
    sl_free(&adv);
    sl_free(&wiki[0]);
    sl_free(&wiki[1]);

    /* len(tokenizer) and the special ids, as AutoTokenizer has them */
    lmt_json *sp = NULL;
    CHECK_OK(lmt_json_parse_file(FX "specials.json", &sp));
    for (size_t i = 0; sp && i < sp->len; i++) {
        char path[512];
        snprintf(path, sizeof path, FAM "%s", sp->keys[i]);
        lmt_tokenizer *tok = NULL;
        CHECK_OK(lmt_tokenizer_load(path, &tok));
        if (!tok) continue;
        const lmt_json *want = lmt_json_get(&sp->items[i], "bos_eos_unk_pad");
        lmt_special_ids s = lmt_tokenizer_special_ids(tok);
        int32_t got[4] = {s.bos, s.eos, s.unk, s.pad};
        CHECK_MSG(arr_eq(want, got, 4), "%s: bos/eos/unk/pad %d %d %d %d", sp->keys[i], got[0], got[1], got[2], got[3]);
        CHECK_MSG((int64_t)lmt_tokenizer_vocab_size(tok) == lmt_json_get(&sp->items[i], "len")->i64, "%s: len %zu", sp->keys[i], lmt_tokenizer_vocab_size(tok));
        lmt_tokenizer_free(tok);
    }
    lmt_json_free(sp);

    /* malformed files: errors name the file and the problem */
    bad_file("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"pre_tokenizer\":{\"type\":\"Nope\"}}", "Nope");
    bad_file("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"normalizer\":{\"type\":\"Mystery\"}}", "Mystery");
    bad_file("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"decoder\":{\"type\":\"Odd\"}}", "Odd");
    bad_file("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(ab\"},\"behavior\":\"Isolated\",\"invert\":false}}", "invalid regex");
    bad_file("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"a c\"],\"byte_fallback\":true},\"pre_tokenizer\":null}", "not in the vocabulary");
    bad_file("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[],\"unk_token\":\"<unk>\"}}", "unk_token");
    bad_file("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"a\"},\"behavior\":\"Sideways\"}}", "Sideways");
    return lmt_test_finish();
}
