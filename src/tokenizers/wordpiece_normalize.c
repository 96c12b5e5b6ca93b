/* BertNormalizer (clean text, CJK spacing, NFD + accent stripping,
 * lowercase) with per-byte alignments, and BertPreTokenizer. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "tokenizers/tok_pipeline.h"
#include "tokenizers/utf8.h"
#include "tokenizers/wordpiece.h"
#include "tokenizers/wordpiece_unicode_tables.h"

static bool in_ranges(const uint32_t (*r)[2], size_t n, uint32_t c) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < r[mid][0]) hi = mid;
        else if (c > r[mid][1]) lo = mid + 1;
        else return true;
    }
    return false;
}
#define IN(tab, c) in_ranges(tab, sizeof tab / sizeof tab[0], c)

bool lmt_wp_is_punctuation(uint32_t c) { return IN(wp_punctuation, c); }
bool lmt_wp_is_clean_removed(uint32_t c) { return IN(wp_clean_removed, c); }
bool lmt_wp_is_nonspacing_mark(uint32_t c) { return IN(wp_nonspacing_mark, c); }

bool lmt_wp_is_chinese(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* Full lowercase of c into out (1..3 code points), Rust's char::to_lowercase. */
static size_t lowercase(uint32_t c, uint32_t out[3]) {
    size_t lo = 0, hi = sizeof wp_lowercase / sizeof wp_lowercase[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < wp_lowercase[mid][0]) hi = mid;
        else if (c > wp_lowercase[mid][0]) lo = mid + 1;
        else {
            size_t k = 0;
            while (k < 3 && wp_lowercase[mid][1 + k]) { out[k] = wp_lowercase[mid][1 + k]; k++; }
            return k;
        }
    }
    out[0] = c;
    return 1;
}

void lmt_normalized_free(lmt_normalized *ns) {
    free(ns->s); free(ns->ostart); free(ns->oend);
    memset(ns, 0, sizeof *ns);
}

static int ns_reserve(lmt_normalized *ns, size_t extra) {
    return extra > SIZE_MAX / 2 - ns->n ? -1 : lmt_ns_reserve(ns, ns->n + extra);
}

static int ns_put(lmt_normalized *ns, uint32_t cp, uint32_t os, uint32_t oe) {
    if (ns_reserve(ns, 4)) return -1;
    size_t l = lmt_utf8_encode(cp, ns->s + ns->n);
    for (size_t k = 0; k < l; k++) { ns->ostart[ns->n + k] = os; ns->oend[ns->n + k] = oe; }
    ns->n += l;
    return 0;
}

/* Code points after clean-up, CJK spacing and decomposition, before the
 * canonical reordering that NFD applies to runs of combining marks. */
typedef struct { uint32_t cp, os, oe; uint8_t ccc; } wp_cp;

static int cps_push(wp_cp **v, size_t *n, size_t *cap, uint32_t cp, uint32_t os, uint32_t oe, bool with_ccc) {
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        wp_cp *nv = realloc(*v, nc * sizeof *nv);
        if (!nv) return -1;
        *v = nv;
        *cap = nc;
    }
    uint8_t ccc = with_ccc ? (uint8_t)utf8proc_get_property((utf8proc_int32_t)cp)->combining_class : 0;
    (*v)[(*n)++] = (wp_cp){cp, os, oe, ccc};
    return 0;
}

int lmt_bert_normalize(const lmt_bert_norm *cfg, const char *text, size_t n, uint32_t base, lmt_normalized *out) {
    const unsigned char *u = (const unsigned char *)text;
    wp_cp *v = NULL;
    size_t nv = 0, cap = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0;) {
        size_t l;
        uint32_t c = lmt_utf8_decode(u + i, n - i, &l);
        uint32_t os = base + (uint32_t)i, oe = base + (uint32_t)(i + l);
        i += l;
        if (c < 0x80) {   /* ASCII: no decomposition, class 0, no CJK */
            if (cfg->clean_text && lmt_wp_is_clean_removed(c)) continue;
            if (cfg->clean_text && lmt_unicode_is_space(c)) c = ' ';
            rc = cps_push(&v, &nv, &cap, c, os, oe, false);
            continue;
        }
        if (cfg->clean_text) {
            if (lmt_wp_is_clean_removed(c)) continue;
            if (lmt_unicode_is_space(c)) c = ' ';
        }
        uint32_t seq[3] = {c, 0, 0};
        size_t ns = 1;
        if (cfg->handle_chinese_chars && lmt_wp_is_chinese(c)) { seq[0] = ' '; seq[1] = c; seq[2] = ' '; ns = 3; }
        for (size_t k = 0; k < ns && rc == 0; k++) {
            if (!cfg->strip_accents) { rc = cps_push(&v, &nv, &cap, seq[k], os, oe, false); continue; }
            /* the one code point tokenizers' NFD leaves whole (DIVES AKURU VOWEL SIGN O),
             * found by checking every code point (test_tok_wordpiece) */
            if (seq[k] == 0x11938) { rc = cps_push(&v, &nv, &cap, seq[k], os, oe, true); continue; }
            utf8proc_int32_t d[32];
            int last = 0;
            utf8proc_ssize_t nd = utf8proc_decompose_char((utf8proc_int32_t)seq[k], d, 32, UTF8PROC_DECOMPOSE, &last);
            if (nd < 1 || nd > 32) { d[0] = (utf8proc_int32_t)seq[k]; nd = 1; }
            for (utf8proc_ssize_t q = 0; q < nd && rc == 0; q++) rc = cps_push(&v, &nv, &cap, (uint32_t)d[q], os, oe, true);
        }
    }
    if (rc == 0 && cfg->strip_accents) {
        /* NFD's canonical ordering: stable sort of each run of non-starters by class */
        for (size_t a = 0; a < nv;) {
            if (!v[a].ccc) { a++; continue; }
            size_t b = a;
            while (b < nv && v[b].ccc) b++;
            for (size_t x = a + 1; x < b; x++) {
                wp_cp key = v[x];
                size_t y = x;
                while (y > a && v[y - 1].ccc > key.ccc) { v[y] = v[y - 1]; y--; }
                v[y] = key;
            }
            a = b;
        }
    }
    for (size_t k = 0; k < nv && rc == 0; k++) {
        if (v[k].cp < 0x80) {
            uint32_t c = v[k].cp;
            rc = ns_put(out, cfg->lowercase && c >= 'A' && c <= 'Z' ? c + 32 : c, v[k].os, v[k].oe);
            continue;
        }
        if (cfg->strip_accents && lmt_wp_is_nonspacing_mark(v[k].cp)) continue;
        uint32_t lo[3];
        size_t nl = 1;
        lo[0] = v[k].cp;
        if (cfg->lowercase) nl = lowercase(v[k].cp, lo);
        for (size_t q = 0; q < nl && rc == 0; q++) rc = ns_put(out, lo[q], v[k].os, v[k].oe);
    }
    free(v);
    return rc;
}

int lmt_pretok_bert(const char *s, size_t n, lmt_spans *out) {
    const unsigned char *u = (const unsigned char *)s;
    size_t start = 0;
    bool in_word = false;
    for (size_t i = 0; i < n;) {
        size_t l;
        uint32_t c = lmt_utf8_decode(u + i, n - i, &l);
        if (lmt_unicode_is_space(c) || lmt_wp_is_punctuation(c)) {
            if (in_word && lmt_spans_push(out, (uint32_t)start, (uint32_t)i)) return -1;
            in_word = false;
            if (!lmt_unicode_is_space(c) && lmt_spans_push(out, (uint32_t)i, (uint32_t)(i + l))) return -1;
        } else if (!in_word) {
            in_word = true;
            start = i;
        }
        i += l;
    }
    if (in_word && lmt_spans_push(out, (uint32_t)start, (uint32_t)n)) return -1;
    return 0;
}
