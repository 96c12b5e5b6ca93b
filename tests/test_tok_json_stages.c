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
#include "tokenizers/bytelevel.h"
#include "tokenizers/tok_pipeline.h"
#include "tokenizers/utf8.h"

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

static void normalizers(const lmt_json *list) {
    for (size_t k = 0; list && k < list->len; k++) {
        const lmt_json *spec = lmt_json_get(&list->items[k], "spec"), *cases = lmt_json_get(&list->items[k], "cases");
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

int main(void) {
    lmt_json *j = NULL;
    CHECK_OK(lmt_json_parse_file(FX "stages.json", &j));
    if (!j) return lmt_test_finish();
    normalizers(lmt_json_get(j, "normalizer"));
    pretokenizers(lmt_json_get(j, "pre_tokenizer"));
    decoders(lmt_json_get(j, "decoder"));
    lmt_json_free(j);
    return lmt_test_finish();
}
