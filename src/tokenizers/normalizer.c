/* tokenizer.json normalizers over an aligned string (lmt_normalized): every
 * output byte keeps the original byte range of the character(s) it came
 * from, as tokenizers' NormalizedString alignments. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "core/error.h"
#include "core/util.h"
#include "tokenizers/tok_pipeline.h"
#include "tokenizers/utf8.h"

int lmt_ns_reserve(lmt_normalized *d, size_t n) {
    if (n <= d->cap) return 0;
    size_t nc = d->cap ? d->cap : 64;
    while (nc < n) nc *= 2;
    char *s = realloc(d->s, nc + 1); if (!s) return -1; d->s = s;
    uint32_t *a = realloc(d->ostart, nc * 4); if (!a) return -1; d->ostart = a;
    a = realloc(d->oend, nc * 4); if (!a) return -1; d->oend = a;
    d->cap = nc;
    return 0;
}

int lmt_ns_push(lmt_normalized *d, const char *s, size_t n, uint32_t a, uint32_t e) {
    if (n == 0) return 0;
    if (lmt_ns_reserve(d, d->n + n)) return -1;
    memcpy(d->s + d->n, s, n);
    for (size_t i = 0; i < n; i++) { d->ostart[d->n + i] = a; d->oend[d->n + i] = e; }
    d->n += n;
    return 0;
}

int lmt_ns_copy(lmt_normalized *d, const lmt_normalized *src, size_t from, size_t to) {
    size_t n = to - from;
    if (n == 0) return 0;
    if (lmt_ns_reserve(d, d->n + n)) return -1;
    memcpy(d->s + d->n, src->s + from, n);
    memcpy(d->ostart + d->n, src->ostart + from, n * 4);
    memcpy(d->oend + d->n, src->oend + from, n * 4);
    d->n += n;
    return 0;
}

void lmt_normalizer_free(lmt_normalizer *nz) {
    for (size_t i = 0; i < nz->n; i++) { lmt_regex_free(nz->v[i].re); free(nz->v[i].content); lmt_charsmap_free(nz->v[i].charsmap); }
    free(nz->v);
    memset(nz, 0, sizeof *nz);
}

static lmt_status add_stage(lmt_normalizer *nz, lmt_norm_stage st) {
    lmt_norm_stage *nv = realloc(nz->v, (nz->n + 1) * sizeof *nv);
    if (!nv) { lmt_regex_free(st.re); free(st.content); lmt_charsmap_free(st.charsmap); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    nz->v = nv;
    nz->v[nz->n++] = st;
    return LMT_OK;
}

lmt_status lmt_tok_stage_type(const lmt_json *j, const char *src, const char *what, const char **type) {
    *type = NULL;
    if (!j || j->type == LMT_JSON_NULL) return LMT_OK;
    if (j->type != LMT_JSON_OBJECT) return lmt_fail(LMT_ERR_FORMAT, "%s: %s must be an object or null", src, what);
    LMT_TRY(lmt_json_get_str(j, "type", NULL, src, type));
    if (!*type) return lmt_fail(LMT_ERR_FORMAT, "%s: %s without \"type\"", src, what);
    return LMT_OK;
}

lmt_status lmt_tok_parse_pattern(const lmt_json *p, const char *src, const char *what, lmt_regex **re) {
    const lmt_json *s = lmt_json_get(p, "String"), *r = lmt_json_get(p, "Regex");
    if (s && s->type == LMT_JSON_STRING) return lmt_regex_literal(s->str, s->len, src, re);
    if (r && r->type == LMT_JSON_STRING) return lmt_regex_compile(r->str, r->len, src, re);
    return lmt_fail(LMT_ERR_FORMAT, "%s: %s: pattern must be {\"String\": ...} or {\"Regex\": ...}", src, what);
}

lmt_status lmt_normalizer_parse(lmt_normalizer *nz, const lmt_json *j, const char *src) {
    const char *type = NULL;
    LMT_TRY(lmt_tok_stage_type(j, src, "normalizer", &type));
    if (!type) return LMT_OK;
    lmt_norm_stage st;
    memset(&st, 0, sizeof st);
    if (!strcmp(type, "Sequence")) {
        const lmt_json *l = lmt_json_get(j, "normalizers");
        if (!l || l->type != LMT_JSON_ARRAY) return lmt_fail(LMT_ERR_FORMAT, "%s: normalizer Sequence needs \"normalizers\"", src);
        for (size_t i = 0; i < l->len; i++) LMT_TRY(lmt_normalizer_parse(nz, &l->items[i], src));
        return LMT_OK;
    }
    if (!strcmp(type, "NFC")) st.kind = LMT_NORM_NFC;
    else if (!strcmp(type, "NFD")) st.kind = LMT_NORM_NFD;
    else if (!strcmp(type, "NFKC")) st.kind = LMT_NORM_NFKC;
    else if (!strcmp(type, "NFKD")) st.kind = LMT_NORM_NFKD;
    else if (!strcmp(type, "Lowercase")) st.kind = LMT_NORM_LOWERCASE;
    else if (!strcmp(type, "StripAccents")) st.kind = LMT_NORM_STRIP_ACCENTS;
    else if (!strcmp(type, "Precompiled")) {
        st.kind = LMT_NORM_PRECOMPILED;
        const lmt_json *cm = lmt_json_get(j, "precompiled_charsmap");
        if (!cm || cm->type != LMT_JSON_STRING) return lmt_fail(LMT_ERR_FORMAT, "%s: normalizer Precompiled needs \"precompiled_charsmap\"", src);
        LMT_TRY(lmt_charsmap_parse(cm->str, cm->len, src, &st.charsmap));
    }
    else if (!strcmp(type, "Strip")) {
        st.kind = LMT_NORM_STRIP;
        LMT_TRY(lmt_json_get_bool(j, "strip_left", true, src, &st.left));
        LMT_TRY(lmt_json_get_bool(j, "strip_right", true, src, &st.right));
    } else if (!strcmp(type, "Replace") || !strcmp(type, "Prepend")) {
        bool rep = type[0] == 'R';
        st.kind = rep ? LMT_NORM_REPLACE : LMT_NORM_PREPEND;
        const lmt_json *c = lmt_json_get(j, rep ? "content" : "prepend");
        if (!c || c->type != LMT_JSON_STRING) return lmt_fail(LMT_ERR_FORMAT, "%s: normalizer %s needs \"%s\"", src, type, rep ? "content" : "prepend");
        if (rep) LMT_TRY(lmt_tok_parse_pattern(lmt_json_get(j, "pattern"), src, "normalizer Replace", &st.re));
        if (!(st.content = lmt_strndup(c->str, c->len))) { lmt_regex_free(st.re); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
        st.content_len = c->len;
    } else if (!strcmp(type, "BertNormalizer")) {
        st.kind = LMT_NORM_BERT;
        st.bert.enabled = true;
        LMT_TRY(lmt_json_get_bool(j, "clean_text", true, src, &st.bert.clean_text));
        LMT_TRY(lmt_json_get_bool(j, "handle_chinese_chars", true, src, &st.bert.handle_chinese_chars));
        LMT_TRY(lmt_json_get_bool(j, "lowercase", true, src, &st.bert.lowercase));
        const lmt_json *sa = lmt_json_get(j, "strip_accents");
        st.bert.strip_accents = (sa && sa->type == LMT_JSON_BOOL) ? sa->boolean : st.bert.lowercase;
    } else {
        return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: normalizer type \"%s\" is not supported", src, type);
    }
    return add_stage(nz, st);
}

static bool is_mark(uint32_t c) {
    utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
    return k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_MC || k == UTF8PROC_CATEGORY_ME;
}

int lmt_ns_transform(const lmt_normalized *in, const lmt_nchange *v, size_t nv, lmt_normalized *out) {
    const unsigned char *s = (const unsigned char *)in->s;
    size_t idx = 0;
    for (size_t i = 0; i < nv; i++) {
        char buf[4];
        size_t bl = lmt_utf8_encode((uint32_t)v[i].cp, buf);
        uint32_t as, ae;
        if (v[i].change > 0) {
            as = idx ? in->ostart[idx - 1] : (in->n ? in->ostart[0] : 0);
            ae = idx ? in->oend[idx - 1] : as;
        } else {
            if (idx >= in->n) return -1;
            as = in->ostart[idx];
            ae = in->oend[idx];
            for (int k = 0; k < 1 - v[i].change && idx < in->n; k++) {
                size_t l;
                lmt_utf8_decode(s + idx, in->n - idx, &l);
                idx += l;
            }
        }
        if (lmt_ns_push(out, buf, bl, as, ae)) return -1;
    }
    return 0;
}

/* Unicode normalization forms with tokenizers' alignments
 * (unicode-normalization-alignments): each character decomposes into its
 * first code point (change 0) and the rest (change +1 each), non-starters
 * are reordered by combining class carrying their change, composition
 * merges changes (c1 + c2 - 1); then NormalizedString::transform aligns
 * positionally: a change <= 0 takes the next original character's range and
 * consumes 1 - change of them, an insertion takes the previous one's.
 * Returns 1 when the text is unchanged (out untouched), 0, or -1. */
typedef lmt_nchange nitem;

static int32_t compose_pair(int32_t a, int32_t b) {
    utf8proc_uint8_t s[8], *o = NULL;
    utf8proc_ssize_t n = utf8proc_encode_char(a, s);
    n += utf8proc_encode_char(b, s + n);
    utf8proc_ssize_t r = utf8proc_map(s, n, &o, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    int32_t res = -1;
    if (r > 0) {
        utf8proc_int32_t c;
        utf8proc_ssize_t l = utf8proc_iterate(o, r, &c);
        if (l == r) res = c;
    }
    free(o);
    return res;
}

static int unicode_norm(const lmt_normalized *in, utf8proc_option_t opt, lmt_normalized *out) {
    /* fast path: every form keeps ASCII, and NFC keeps text below U+0300
     * (lead bytes < 0xCC) */
    unsigned char limit = (opt & UTF8PROC_COMPOSE) && !(opt & UTF8PROC_COMPAT) ? 0xCC : 0x80, hi = 0;
    for (size_t i = 0; i < in->n; i++) hi |= (unsigned char)in->s[i] >= limit;
    if (!hi) return 1;
    utf8proc_uint8_t *all = NULL;
    utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)in->s, (utf8proc_ssize_t)in->n, &all, opt);
    if (r < 0) return -1;
    if ((size_t)r == in->n && !memcmp(all, in->s, in->n)) { free(all); return 1; }
    free(all);
    bool compose = opt & UTF8PROC_COMPOSE;
    utf8proc_option_t dopt = UTF8PROC_DECOMPOSE | (opt & UTF8PROC_COMPAT);
    nitem *v = NULL;
    size_t nv = 0, cap = 0;
    int rc = 0;
    const unsigned char *s = (const unsigned char *)in->s;
    /* decompose */
    for (size_t i = 0; i < in->n && !rc;) {
        size_t l;
        uint32_t c = lmt_utf8_decode(s + i, in->n - i, &l);
        utf8proc_int32_t d[32];
        int last = 0;
        utf8proc_ssize_t k = utf8proc_decompose_char((utf8proc_int32_t)c, d, 32, dopt, &last);
        if (k < 0 || k > 32) { d[0] = (utf8proc_int32_t)c; k = 1; }
        if (nv + (size_t)k > cap) {
            size_t nc = cap ? cap * 2 : 64;
            while (nc < nv + (size_t)k) nc *= 2;
            nitem *nn = realloc(v, nc * sizeof *nn);
            if (!nn) { rc = -1; break; }
            v = nn;
            cap = nc;
        }
        for (utf8proc_ssize_t q = 0; q < k; q++)
            v[nv++] = (nitem){d[q], q ? 1 : 0, (uint8_t)utf8proc_get_property(d[q])->combining_class};
        i += l;
    }
    /* canonical reordering (stable, within runs of non-starters) */
    for (size_t i = 1; i < nv && !rc; i++) {
        nitem x = v[i];
        if (!x.ccc) continue;
        size_t j = i;
        while (j > 0 && v[j - 1].ccc > x.ccc) { v[j] = v[j - 1]; j--; }
        v[j] = x;
    }
    /* canonical composition */
    if (compose && !rc) {
        size_t w = 0;
        long starter = -1;
        int prev = -1;   /* ccc of the last item kept after the starter; -1: none */
        for (size_t i = 0; i < nv; i++) {
            nitem x = v[i];
            if (starter >= 0 && (prev == -1 || (prev != 0 && prev < x.ccc))) {
                int32_t c = compose_pair(v[starter].cp, x.cp);
                if (c >= 0) {
                    v[starter].cp = c;
                    v[starter].change += x.change - 1;
                    continue;
                }
            }
            if (x.ccc == 0) { starter = (long)w; prev = -1; }
            else prev = x.ccc;
            v[w++] = x;
        }
        nv = w;
    }
    if (!rc) rc = lmt_ns_transform(in, v, nv, out);
    free(v);
    return rc;
}

static int lowercase(const lmt_normalized *in, lmt_normalized *out) {
    const unsigned char *s = (const unsigned char *)in->s;
    for (size_t i = 0; i < in->n;) {
        size_t l;
        uint32_t c = lmt_utf8_decode(s + i, in->n - i, &l);
        char buf[8];
        size_t bl;
        if (c == 0x130) { memcpy(buf, "i\xcc\x87", 3); bl = 3; }   /* Rust's full lowercase of U+0130 */
        else bl = lmt_utf8_encode((uint32_t)utf8proc_tolower((utf8proc_int32_t)c), buf);
        if (lmt_ns_push(out, buf, bl, in->ostart[i], in->oend[i + l - 1])) return -1;
        i += l;
    }
    return 0;
}

static int strip(const lmt_norm_stage *st, const lmt_normalized *in, lmt_normalized *out) {
    const unsigned char *s = (const unsigned char *)in->s;
    size_t a = 0, e = in->n, l;
    if (st->left) while (a < e && lmt_unicode_is_space(lmt_utf8_decode(s + a, e - a, &l))) a += l;
    if (st->right) while (e > a && lmt_unicode_is_space(lmt_utf8_decode_before(s, e, &l))) e -= l;
    return lmt_ns_copy(out, in, a, e);
}

static int strip_accents(const lmt_normalized *in, lmt_normalized *out) {
    const unsigned char *s = (const unsigned char *)in->s;
    for (size_t i = 0; i < in->n;) {
        size_t l;
        uint32_t c = lmt_utf8_decode(s + i, in->n - i, &l);
        if (!is_mark(c) && lmt_ns_copy(out, in, i, i + l)) return -1;
        i += l;
    }
    return 0;
}

static int replace(const lmt_norm_stage *st, lmt_regex_region **rr, const lmt_normalized *in, lmt_normalized *out) {
    size_t pos = 0, ms, me;
    while (pos <= in->n) {
        int f = lmt_regex_find(st->re, rr, in->s, in->n, pos, &ms, &me);
        if (f < 0) return -1;
        if (f == 0) break;
        if (me == ms) {   /* empty match: step one character */
            if (ms >= in->n) break;
            size_t l;
            lmt_utf8_decode((const unsigned char *)in->s + ms, in->n - ms, &l);
            if (lmt_ns_copy(out, in, pos, ms + l)) return -1;
            pos = ms + l;
            continue;
        }
        if (lmt_ns_copy(out, in, pos, ms)) return -1;
        /* tokenizers inserts the content after removing the match: it takes
         * the alignment of the match's last character */
        if (lmt_ns_push(out, st->content, st->content_len, in->ostart[me - 1], in->oend[me - 1])) return -1;
        pos = me;
    }
    return pos < in->n ? lmt_ns_copy(out, in, pos, in->n) : 0;
}

static int bert(const lmt_norm_stage *st, const lmt_normalized *in, lmt_normalized *out) {
    size_t from = out->n;
    int rc = lmt_bert_normalize(&st->bert, in->s, in->n, 0, out);
    for (size_t i = from; rc == 0 && i < out->n; i++) {   /* byte positions in in -> its alignments */
        uint32_t a = out->ostart[i], e = out->oend[i];
        out->ostart[i] = in->ostart[a];
        out->oend[i] = in->oend[e > a ? e - 1 : a];
    }
    return rc;
}

/* sentencepiece's Normalizer::Normalize over the whole run. Its users (the
 * slow MarianTokenizer) report no offsets, so every output byte is aligned
 * to the whole input. */
static int spm_norm(const lmt_norm_stage *st, const lmt_normalized *s, lmt_normalized *out) {
    lmt_strbuf b;
    lmt_sb_init(&b);
    int rc = lmt_spm_normalize(st->spm, s->s, s->n, &b);
    if (!rc) rc = lmt_ns_push(out, b.data ? b.data : "", b.len, s->ostart[0], s->oend[s->n - 1]);
    lmt_sb_free(&b);
    return rc ? -1 : 0;
}

int lmt_normalizer_run(const lmt_normalizer *nz, lmt_regex_region **rr, lmt_normalized *s, lmt_normalized *tmp) {
    for (size_t k = 0; k < nz->n; k++) {
        const lmt_norm_stage *st = &nz->v[k];
        if (s->n == 0) return 0;
        tmp->n = 0;
        int rc;
        switch (st->kind) {
        case LMT_NORM_NFC: rc = unicode_norm(s, UTF8PROC_STABLE | UTF8PROC_COMPOSE, tmp); break;
        case LMT_NORM_NFD: rc = unicode_norm(s, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE, tmp); break;
        case LMT_NORM_NFKC: rc = unicode_norm(s, UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT, tmp); break;
        case LMT_NORM_PRECOMPILED: rc = lmt_charsmap_normalize(st->charsmap, s, tmp); break;
        case LMT_NORM_NFKD: rc = unicode_norm(s, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT, tmp); break;
        case LMT_NORM_LOWERCASE: rc = lowercase(s, tmp); break;
        case LMT_NORM_STRIP: rc = strip(st, s, tmp); break;
        case LMT_NORM_STRIP_ACCENTS: rc = strip_accents(s, tmp); break;
        case LMT_NORM_REPLACE: rc = replace(st, rr, s, tmp); break;
        case LMT_NORM_PREPEND: {
            size_t l;
            lmt_utf8_decode((const unsigned char *)s->s, s->n, &l);
            rc = lmt_ns_push(tmp, st->content, st->content_len, s->ostart[0], s->oend[l - 1]);
            if (!rc) rc = lmt_ns_copy(tmp, s, 0, s->n);
            break;
        }
        case LMT_NORM_BERT: rc = bert(st, s, tmp); break;
        case LMT_NORM_SPM: rc = spm_norm(st, s, tmp); break;
        default: rc = -1;
        }
        if (rc == 1) continue;   /* unchanged */
        if (rc) return -1;
        lmt_normalized t = *s; *s = *tmp; *tmp = t;
    }
    return 0;
}
