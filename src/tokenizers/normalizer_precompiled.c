/* tokenizer.json's Precompiled normalizer (the spm_precompiled crate): the
 * SentencePiece charsmap (base64: u32 trie size, a Darts double array, NUL-
 * separated replacements). Each extended grapheme cluster under 6 bytes is
 * replaced whole by the replacement of the charsmap's first (shortest) rule
 * matching a prefix of it; otherwise each character by its own rule, if any.
 * Alignments as the crate's change counts. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "core/error.h"
#include "tokenizers/spm.h"
#include "tokenizers/tok_pipeline.h"
#include "tokenizers/utf8.h"

struct lmt_charsmap { uint32_t *trie; size_t trie_n; char *norm; size_t norm_n; };

static int b64v(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

void lmt_charsmap_free(lmt_charsmap *cm) {
    if (!cm) return;
    free(cm->trie);
    free(cm->norm);
    free(cm);
}

lmt_status lmt_charsmap_parse(const char *b64, size_t len, const char *src, lmt_charsmap **out) {
    *out = NULL;
    unsigned char *d = malloc(len / 4 * 3 + 3);
    if (!d) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        if (b64[i] == '=') break;
        int v = b64v((unsigned char)b64[i]);
        if (v < 0) { free(d); return lmt_fail(LMT_ERR_FORMAT, "%s: Precompiled: precompiled_charsmap is not base64", src); }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) { bits -= 8; d[n++] = (unsigned char)(acc >> bits); }
    }
    lmt_charsmap *cm = calloc(1, sizeof *cm);
    if (!cm) { free(d); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    if (n) {
        uint32_t ts = n >= 4 ? (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24 : 0;
        if (n < 4 || ts % 4 || ts == 0 || ts > n - 4) {
            free(d);
            free(cm);
            return lmt_fail(LMT_ERR_FORMAT, "%s: Precompiled: the charsmap's trie size does not fit its %zu bytes", src, n);
        }
        cm->trie_n = ts / 4;
        cm->trie = malloc(ts);
        cm->norm_n = n - 4 - ts;
        cm->norm = malloc(cm->norm_n + 1);
        if (!cm->trie || !cm->norm) { free(d); lmt_charsmap_free(cm); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
        for (size_t i = 0; i < cm->trie_n; i++) {
            const unsigned char *q = d + 4 + 4 * i;
            cm->trie[i] = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
        }
        memcpy(cm->norm, d + 4 + ts, cm->norm_n);
        cm->norm[cm->norm_n] = 0;
    }
    free(d);
    *out = cm;
    return LMT_OK;
}

/* the first (shortest) rule prefixing key[0..n): its value, or -1 */
static long first_rule(const lmt_charsmap *cm, const unsigned char *key, size_t n) {
    uint32_t v = 0;
    return lmt_darts_prefix(cm->trie, cm->trie_n, key, n, true, &v) ? (long)v : -1;
}

typedef struct { lmt_nchange *v; size_t n, cap; } changes;

static int push(changes *c, int32_t cp, int32_t change) {
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 64;
        lmt_nchange *nv = realloc(c->v, nc * sizeof *nv);
        if (!nv) return -1;
        c->v = nv;
        c->cap = nc;
    }
    c->v[c->n++] = (lmt_nchange){cp, change, 0};
    return 0;
}

/* the crate's replace(): new characters with change 0, then the last ones
 * marked inserted (+1) or the last one absorbing the removed count */
static int replace(changes *c, size_t old_chars, const char *rep) {
    size_t rl = strlen(rep), nn = 0;
    for (size_t i = 0; i < rl;) {
        size_t l;
        uint32_t cp = lmt_utf8_decode((const unsigned char *)rep + i, rl - i, &l);
        if (push(c, (int32_t)cp, 0)) return -1;
        nn++;
        i += l;
    }
    long diff = (long)nn - (long)old_chars;
    if (diff > 0) for (long k = 0; k < diff; k++) c->v[c->n - 1 - (size_t)k].change = 1;
    else if (diff < 0 && c->n) c->v[c->n - 1].change += (int32_t)diff;
    return 0;
}

int lmt_charsmap_normalize(const lmt_charsmap *cm, const lmt_normalized *in, lmt_normalized *out) {
    if (!cm->trie_n) return 1;
    const unsigned char *s = (const unsigned char *)in->s;
    changes c = {0};
    bool modified = false;
    int rc = 0;
    utf8proc_int32_t state = 0;
    size_t gs = 0;
    uint32_t prev = 0;
    for (size_t i = 0; i <= in->n && !rc;) {
        size_t l = 0;
        uint32_t cp = i < in->n ? lmt_utf8_decode(s + i, in->n - i, &l) : 0;
        bool brk = i == in->n || (i > gs && utf8proc_grapheme_break_stateful((utf8proc_int32_t)prev, (utf8proc_int32_t)cp, &state));
        if (i > gs && brk) {
            /* the grapheme [gs, i) */
            long v = i - gs < 6 ? first_rule(cm, s + gs, i - gs) : -1;
            size_t nch = 0;
            for (size_t q = gs; q < i; nch++) { size_t ql; lmt_utf8_decode(s + q, i - q, &ql); q += ql; }
            if (v >= 0 && (size_t)v < cm->norm_n) {
                modified = true;
                rc = replace(&c, nch, cm->norm + v);
            } else if (v >= 0) {   /* a value past the replacements: removed */
                modified = true;
                rc = replace(&c, nch, "");
            } else {
                for (size_t q = gs; q < i && !rc;) {
                    size_t ql;
                    uint32_t qc = lmt_utf8_decode(s + q, i - q, &ql);
                    long w = first_rule(cm, s + q, ql);
                    if (w >= 0) { modified = true; rc = replace(&c, 1, (size_t)w < cm->norm_n ? cm->norm + w : ""); }
                    else rc = push(&c, (int32_t)qc, 0);
                    q += ql;
                }
            }
            gs = i;
        }
        if (i == in->n) break;
        prev = cp;
        i += l;
    }
    if (!rc && modified) rc = lmt_ns_transform(in, c.v, c.n, out);
    else if (!rc) rc = 1;
    free(c.v);
    return rc;
}
