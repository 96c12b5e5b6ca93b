/* Each stage type of the general tokenizer.json pipeline against tokenizers
 * itself (stages.json by tools/reference/make_tokenizer_json_fixtures.py):
 * normalize_str for every normalizer, pre_tokenize_str (pieces and
 * character offsets) for every pre-tokenizer and Split behavior/invert,
 * decoder.decode for every decoder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "core/json.h"
#include "core/util.h"
#include "tokenizers/bytelevel.h"
#include "tokenizers/tok_pipeline.h"
#include "tokenizers/utf8.h"
#include "tok_corpus.h"

#define FX LMT_SOURCE_DIR "/tests/fixtures/tokenizers_json/"

/* the input as an aligned string (every byte aligned to its character) */
static void identity(const char *s, size_t n, lmt_normalized *out) {
    out->n = 0;
    for (size_t i = 0; i < n;) {
        size_t l;
        lmt_utf8_decode((const unsigned char *)s + i, n - i, &l);
        lmt_ns_push(out, s + i, l, (uint32_t)i, (uint32_t)(i + l));
        i += l;
    }
}

static int32_t char_index(const char *s, size_t byte) {
    int32_t c = 0;
    for (size_t i = 0; i < byte; i++) if (((unsigned char)s[i] & 0xC0) != 0x80) c++;
    return c;
}

/* "@spm:PATH" (under the shared tokenizers folder): the precompiled_charsmap
 * of that SentencePiece model, as base64 in a Precompiled spec */
static lmt_json *precompiled_spec(const char *ref) {
    lmt_strbuf js;
    lmt_sb_init(&js);
    lmt_sb_puts(&js, "{\"type\":\"Precompiled\",\"precompiled_charsmap\":\"");
    lmt_json *j = NULL;
    if (spm_charsmap_b64(ref + 5, &js) == 0) {
        lmt_sb_puts(&js, "\"}");
        CHECK_OK(lmt_json_parse(js.data, js.len, "precompiled", &j));
    }
    lmt_sb_free(&js);
    return j;
}

static void normalizers(const lmt_json *list) {
    for (size_t k = 0; list && k < list->len; k++) {
        const lmt_json *spec = lmt_json_get(&list->items[k], "spec"), *cases = lmt_json_get(&list->items[k], "cases");
        const lmt_json *pcm = lmt_json_get(spec, "precompiled_charsmap");
        lmt_json *own = pcm && pcm->type == LMT_JSON_STRING && !strncmp(pcm->str, "@spm:", 5) ? precompiled_spec(pcm->str) : NULL;
        if (own) spec = own;
        lmt_normalizer nz = {0};
        CHECK_OK(lmt_normalizer_parse(&nz, spec, "stages.json"));
        lmt_normalized a = {0}, b = {0};
        lmt_regex_region *rr = NULL;
        for (size_t c = 0; c < cases->len; c++) {
            const lmt_json *in = &cases->items[c].items[0], *want = &cases->items[c].items[1];
            identity(in->str, in->len, &a);
            CHECK(lmt_normalizer_run(&nz, &rr, &a, &b) == 0);
            CHECK_MSG(a.n == want->len && (!a.n || !memcmp(a.s, want->str, a.n)), "normalizer %s on \"%s\": \"%.*s\", want \"%s\"",
                      lmt_json_get(spec, "type")->str, in->str, (int)a.n, a.s ? a.s : "", want->str);
        }
        lmt_regex_region_free(rr);
        lmt_normalized_free(&a);
        lmt_normalized_free(&b);
        lmt_normalizer_free(&nz);
        lmt_json_free(own);
    }
}

static void pretokenizers(const lmt_json *list) {
    lmt_bytelevel bl;
    lmt_bytelevel_init(&bl);
    for (size_t k = 0; list && k < list->len; k++) {
        const lmt_json *spec = lmt_json_get(&list->items[k], "spec"), *cases = lmt_json_get(&list->items[k], "cases");
        lmt_pretokenizer p = {0};
        CHECK_OK(lmt_pretok_parse(&p, spec, "stages.json"));
        lmt_pwords a = {0}, b = {0};
        lmt_regex_region *rr = NULL;
        for (size_t c = 0; c < cases->len; c++) {
            const lmt_json *in = &cases->items[c].items[0], *want = &cases->items[c].items[1];
            identity(in->str, in->len, &a.buf);
            a.n = 0;
            lmt_pwords_add(&a, 0, (uint32_t)a.buf.n);
            CHECK(lmt_pretok_run(&p, &rr, &a, &b) == 0);
            bool ok = a.n == want->len;
            for (size_t w = 0; ok && w < a.n; w++) {
                char piece[4096];
                size_t pl = 0;
                const char *s = a.buf.s + a.v[w].off;
                for (size_t i = 0; i < a.v[w].len && pl + 4 < sizeof piece; i++) {
                    if (p.bytelevel) {
                        unsigned char x = (unsigned char)s[i];
                        memcpy(piece + pl, bl.byte_utf8[x], bl.byte_utf8_len[x]);
                        pl += bl.byte_utf8_len[x];
                    } else piece[pl++] = s[i];
                }
                const lmt_json *wp = &want->items[w];
                int32_t cs = char_index(in->str, a.buf.ostart[a.v[w].off]), ce = char_index(in->str, a.buf.oend[a.v[w].off + a.v[w].len - 1]);
                ok = wp->items[0].len == pl && !memcmp(wp->items[0].str, piece, pl) && wp->items[1].items[0].i64 == cs &&
                     wp->items[1].items[1].i64 == ce;
                if (!ok) fprintf(stderr, "  piece %zu: \"%.*s\" (%d,%d), want \"%s\" (%lld,%lld)\n", w, (int)pl, piece, cs, ce, wp->items[0].str,
                                 (long long)wp->items[1].items[0].i64, (long long)wp->items[1].items[1].i64);
            }
            char sj[512];
            snprintf(sj, sizeof sj, "%s", lmt_json_get(spec, "type")->str);
            CHECK_MSG(ok, "pre_tokenizer %zu (%s) on \"%s\": %zu pieces, want %zu", k, sj, in->str, a.n, want->len);
        }
        lmt_regex_region_free(rr);
        lmt_pwords_free(&a);
        lmt_pwords_free(&b);
        lmt_pretok_free(&p);
    }
}

static void decoders(const lmt_json *list) {
    for (size_t k = 0; list && k < list->len; k++) {
        const lmt_json *spec = lmt_json_get(&list->items[k], "spec"), *cases = lmt_json_get(&list->items[k], "cases");
        lmt_decoder d = {0};
        CHECK_OK(lmt_decoder_parse(&d, spec, "stages.json"));
        for (size_t c = 0; c < cases->len; c++) {
            const lmt_json *toks = &cases->items[c].items[0], *want = &cases->items[c].items[1];
            const char *tv[64];
            size_t tl[64], n = toks->len < 64 ? toks->len : 64;
            for (size_t i = 0; i < n; i++) { tv[i] = toks->items[i].str; tl[i] = toks->items[i].len; }
            char *out = NULL;
            size_t ol = 0;
            CHECK_OK(lmt_decoder_run(&d, tv, tl, n, &out, &ol));
            CHECK_MSG(out && ol == want->len && !memcmp(out, want->str, ol), "decoder %s case %zu: \"%s\", want \"%s\"",
                      lmt_json_get(spec, "type")->str, c, out ? out : "", want->str);
            free(out);
        }
        lmt_decoder_free(&d);
    }
}

/* The hand-coded Llama-3 / Qwen2 patterns (pretok_llama3.c) against
 * Oniguruma on random strings over the characters the patterns tell apart
 * (letters incl. U+017F, which (?i) folds to s, numbers of every kind, each
 * kind of whitespace, CR/LF, apostrophes, marks, others). */
static void fast_split_differential(void) {
    static const char *pool[] = {"a", "Z", "\xc5\xbf", "'", "s", "S", "t", "T", "r", "R", "e", "E", "v", "V", "l", "L", "m", "M",
                                 "d", "D", "1", "9", "\xd9\xa3", "\xc2\xbd", "\xe2\x85\xab", " ", " ", "\t", "\n", "\r",
                                 "\xe3\x80\x80", "\xc2\xa0", "\xc2\x85", ".", "!", "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80",
                                 "\xcc\x81", "_", "-", "\x0b", "\xe2\x80\xa8"};
    const size_t np = sizeof pool / sizeof *pool;
    for (int pat = 0; pat < 2; pat++) {
        lmt_strbuf js;
        lmt_sb_init(&js);
        lmt_sb_puts(&js, "{\"type\":\"Split\",\"pattern\":{\"Regex\":");
        const char *rx = pat ? lmt_qwen2_pattern : lmt_llama3_pattern;
        lmt_json_write_string(&js, rx, strlen(rx), false);
        lmt_sb_puts(&js, "},\"behavior\":\"Isolated\",\"invert\":false}");
        lmt_json *spec = NULL;
        CHECK_OK(lmt_json_parse(js.data, js.len, "differential", &spec));
        lmt_sb_free(&js);
        lmt_pretokenizer fast = {0};
        CHECK_OK(lmt_pretok_parse(&fast, spec, "differential"));
        lmt_json_free(spec);
        if (fast.n != 1) { CHECK(0); lmt_pretok_free(&fast); continue; }
        CHECK(fast.v[0].fast_digits == (pat ? 1 : 3));
        lmt_pre_stage slow_st = fast.v[0];
        slow_st.fast_digits = 0;   /* the same compiled regex through Oniguruma */
        lmt_pretokenizer slow = {&slow_st, 1, false};
        lmt_pwords a = {0}, b = {0}, c = {0}, d = {0};
        lmt_regex_region *rr = NULL;
        uint64_t seed = 0x9e3779b97f4a7c15ULL + (uint64_t)pat;
        int bad = 0;
        for (int it = 0; it < 20000; it++) {
            char text[256];
            size_t n = 0;
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            int len = (int)(seed >> 59) + (int)((seed >> 40) & 7);
            for (int k = 0; k < len; k++) {
                seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                const char *x = pool[(seed >> 33) % np];
                memcpy(text + n, x, strlen(x));
                n += strlen(x);
            }
            identity(text, n, &a.buf);
            a.n = 0;
            lmt_pwords_add(&a, 0, (uint32_t)n);
            identity(text, n, &c.buf);
            c.n = 0;
            lmt_pwords_add(&c, 0, (uint32_t)n);
            CHECK(lmt_pretok_run(&fast, &rr, &a, &b) == 0);
            CHECK(lmt_pretok_run(&slow, &rr, &c, &d) == 0);
            bool same = a.n == c.n;
            for (size_t w = 0; same && w < a.n; w++) same = a.v[w].off == c.v[w].off && a.v[w].len == c.v[w].len;
            if (!same && bad++ < 3) {
                fprintf(stderr, "  pattern %d differs on \"", pat);
                for (size_t k = 0; k < n; k++) fprintf(stderr, (unsigned char)text[k] < 0x20 || (unsigned char)text[k] > 0x7e ? "\\x%02x" : "%c", (unsigned char)text[k]);
                fprintf(stderr, "\"\n");
            }
        }
        CHECK_MSG(bad == 0, "hand-coded pattern %d: %d of 20000 random strings split differently from Oniguruma", pat, bad);
        lmt_regex_region_free(rr);
        lmt_pwords_free(&a);
        lmt_pwords_free(&b);
        lmt_pwords_free(&c);
        lmt_pwords_free(&d);
        lmt_pretok_free(&fast);
    }
}

int main(void) {
    fast_split_differential();
    lmt_json *j = NULL;
    CHECK_OK(lmt_json_parse_file(FX "stages.json", &j));
    if (!j) return lmt_test_finish();
    normalizers(lmt_json_get(j, "normalizer"));
    pretokenizers(lmt_json_get(j, "pre_tokenizer"));
    decoders(lmt_json_get(j, "decoder"));
    lmt_json_free(j);
    return lmt_test_finish();
}
