/* tokenizer.json decoders, as tokenizers' decode_chain: each stage maps the
 * list of token strings to a new list; the result is their concatenation. */
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "tokenizers/bytelevel.h"
#include "tokenizers/tok_pipeline.h"
#include "tokenizers/utf8.h"

void lmt_decoder_free(lmt_decoder *d) {
    for (size_t i = 0; i < d->n; i++) { free(d->v[i].a); free(d->v[i].b); }
    free(d->v);
    memset(d, 0, sizeof *d);
}

static lmt_status dup_str(const lmt_json *j, const char *key, const char *def, const char *src, char **out, size_t *len) {
    const char *s = NULL;
    LMT_TRY(lmt_json_get_str(j, key, def, src, &s));
    if (!s) return lmt_fail(LMT_ERR_FORMAT, "%s: decoder needs \"%s\"", src, key);
    const lmt_json *v = lmt_json_get(j, key);
    *len = v && v->type == LMT_JSON_STRING ? v->len : strlen(s);
    if (!(*out = lmt_strndup(s, *len))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    return LMT_OK;
}

lmt_status lmt_decoder_parse(lmt_decoder *d, const lmt_json *j, const char *src) {
    const char *type = NULL;
    LMT_TRY(lmt_tok_stage_type(j, src, "decoder", &type));
    if (!type) return LMT_OK;
    d->present = true;
    if (!strcmp(type, "Sequence")) {
        const lmt_json *l = lmt_json_get(j, "decoders");
        if (!l || l->type != LMT_JSON_ARRAY) return lmt_fail(LMT_ERR_FORMAT, "%s: decoder Sequence needs \"decoders\"", src);
        for (size_t i = 0; i < l->len; i++) LMT_TRY(lmt_decoder_parse(d, &l->items[i], src));
        return LMT_OK;
    }
    lmt_dec_stage *nv = realloc(d->v, (d->n + 1) * sizeof *nv);
    if (!nv) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    d->v = nv;
    lmt_dec_stage *st = &d->v[d->n];
    memset(st, 0, sizeof *st);
    d->n++;   /* counted now so that lmt_decoder_free frees what the stage holds */
    if (!strcmp(type, "ByteLevel")) st->kind = LMT_DEC_BYTELEVEL;
    else if (!strcmp(type, "ByteFallback")) st->kind = LMT_DEC_BYTEFALLBACK;
    else if (!strcmp(type, "Fuse")) st->kind = LMT_DEC_FUSE;
    else if (!strcmp(type, "Metaspace")) {
        st->kind = LMT_DEC_METASPACE;
        LMT_TRY(dup_str(j, "replacement", "\xe2\x96\x81", src, &st->a, &st->alen));
        const char *ps = NULL;
        LMT_TRY(lmt_json_get_str(j, "prepend_scheme", NULL, src, &ps));
        bool aps = true;
        LMT_TRY(lmt_json_get_bool(j, "add_prefix_space", true, src, &aps));
        st->prepend = ps ? strcmp(ps, "never") != 0 : aps;
    } else if (!strcmp(type, "Strip")) {
        st->kind = LMT_DEC_STRIP;
        const char *c = NULL;
        int64_t a = 0, b = 0;
        LMT_TRY(lmt_json_get_str(j, "content", " ", src, &c));
        LMT_TRY(lmt_json_get_int(j, "start", 0, src, &a));
        LMT_TRY(lmt_json_get_int(j, "stop", 0, src, &b));
        size_t l;
        st->strip_char = *c ? lmt_utf8_decode((const unsigned char *)c, strlen(c), &l) : ' ';
        st->start = a > 0 ? (size_t)a : 0;
        st->stop = b > 0 ? (size_t)b : 0;
    } else if (!strcmp(type, "Replace")) {
        st->kind = LMT_DEC_REPLACE;
        const lmt_json *p = lmt_json_get(j, "pattern"), *s = lmt_json_get(p, "String");
        if (!s || s->type != LMT_JSON_STRING || s->len == 0)
            return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: decoder Replace: only a non-empty {\"String\": ...} pattern is supported", src);
        if (!(st->a = lmt_strndup(s->str, s->len))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
        st->alen = s->len;
        LMT_TRY(dup_str(j, "content", NULL, src, &st->b, &st->blen));
    } else if (!strcmp(type, "WordPiece")) {
        st->kind = LMT_DEC_WORDPIECE;
        LMT_TRY(dup_str(j, "prefix", "##", src, &st->a, &st->alen));
        LMT_TRY(lmt_json_get_bool(j, "cleanup", true, src, &st->cleanup));
    } else if (!strcmp(type, "BPEDecoder")) {
        st->kind = LMT_DEC_BPE;
        LMT_TRY(dup_str(j, "suffix", "</w>", src, &st->a, &st->alen));
    } else {
        return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: decoder type \"%s\" is not supported", src, type);
    }
    return LMT_OK;
}

/* token list: strings in one buffer */
typedef struct { lmt_strbuf b; size_t *off, *len; size_t n, cap; } tlist;

static int tl_add(tlist *t, const char *s, size_t n) {
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 64;
        size_t *o = realloc(t->off, nc * sizeof *o), *l;
        if (!o) return -1;
        t->off = o;
        if (!(l = realloc(t->len, nc * sizeof *l))) return -1;
        t->len = l;
        t->cap = nc;
    }
    t->off[t->n] = t->b.len;
    lmt_sb_append(&t->b, s, n);
    if (!t->b.data) { lmt_sb_putc(&t->b, 0); t->b.len = 0; }
    t->len[t->n++] = n;
    return t->b.oom ? -1 : 0;
}
#define TOK(t, i) ((t)->b.data + (t)->off[i])

static void tl_free(tlist *t) { lmt_sb_free(&t->b); free(t->off); free(t->len); }

static int byte_of(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>') return -1;
    int v = 0;
    for (int k = 3; k < 5; k++) {
        char c = s[k];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Appends s with every occurrence of pat replaced by rep. */
static void replace_into(lmt_strbuf *b, const char *s, size_t n, const char *pat, size_t pl, const char *rep, size_t rl) {
    for (size_t i = 0; i < n;) {
        if (i + pl <= n && !memcmp(s + i, pat, pl)) { lmt_sb_append(b, rep, rl); i += pl; }
        else lmt_sb_putc(b, s[i++]);
    }
}

static int stage(const lmt_dec_stage *st, const tlist *in, tlist *out) {
    lmt_strbuf tmp;
    lmt_sb_init(&tmp);
    int rc = 0;
    switch (st->kind) {
    case LMT_DEC_BYTELEVEL: {
        for (size_t i = 0; i < in->n; i++) {
            const char *t = TOK(in, i);
            size_t len = in->len[i], start = tmp.len;
            bool all = true;
            for (size_t k = 0; k < len;) {
                size_t l;
                int byte = lmt_bytelevel_cp_to_byte(lmt_utf8_decode((const unsigned char *)t + k, len - k, &l));
                if (byte < 0) { all = false; break; }
                lmt_sb_putc(&tmp, (char)byte);
                k += l;
            }
            if (!all) { tmp.len = start; lmt_sb_append(&tmp, t, len); }
        }
        size_t fl;
        char *fixed = lmt_utf8_repair(tmp.data ? tmp.data : "", tmp.len, &fl);
        rc = fixed ? tl_add(out, fixed, fl) : tl_add(out, tmp.data ? tmp.data : "", tmp.len);
        free(fixed);
        break;
    }
    case LMT_DEC_BYTEFALLBACK: {
        size_t nb = 0;
        for (size_t i = 0; i <= in->n && !rc; i++) {
            int byte = i < in->n ? byte_of(TOK(in, i), in->len[i]) : -1;
            if (byte >= 0) { lmt_sb_putc(&tmp, (char)byte); nb++; continue; }
            if (nb) {
                if (lmt_utf8_valid_prefix(tmp.data, tmp.len) == tmp.len) rc = tl_add(out, tmp.data, tmp.len);
                else for (size_t k = 0; k < nb && !rc; k++) rc = tl_add(out, "\xef\xbf\xbd", 3);
                tmp.len = 0;
                nb = 0;
            }
            if (i < in->n && !rc) rc = tl_add(out, TOK(in, i), in->len[i]);
        }
        break;
    }
    case LMT_DEC_FUSE:
        for (size_t i = 0; i < in->n; i++) lmt_sb_append(&tmp, TOK(in, i), in->len[i]);
        rc = tl_add(out, tmp.data ? tmp.data : "", tmp.len);
        break;
    case LMT_DEC_STRIP:
        for (size_t i = 0; i < in->n && !rc; i++) {
            const unsigned char *t = (const unsigned char *)TOK(in, i);
            size_t a = 0, e = in->len[i], l;
            for (size_t k = 0; k < st->start && a < e && lmt_utf8_decode(t + a, e - a, &l) == st->strip_char; k++) a += l;
            for (size_t k = 0; k < st->stop && e > a && lmt_utf8_decode_before(t, e, &l) == st->strip_char; k++) e -= l;
            rc = tl_add(out, (const char *)t + a, e - a);
        }
        break;
    case LMT_DEC_REPLACE:
        for (size_t i = 0; i < in->n && !rc; i++) {
            tmp.len = 0;
            replace_into(&tmp, TOK(in, i), in->len[i], st->a, st->alen, st->b, st->blen);
            rc = tl_add(out, tmp.data ? tmp.data : "", tmp.len);
        }
        break;
    case LMT_DEC_METASPACE:
        for (size_t i = 0; i < in->n && !rc; i++) {
            tmp.len = 0;
            /* tokenizers 0.23 drops every replacement character of the first
             * token when it prepends one ("x\u2581\u2581a" -> "xa"), not just a
             * leading one; spaces already in the token stay */
            bool drop = i == 0 && st->prepend;
            replace_into(&tmp, TOK(in, i), in->len[i], st->a, st->alen, " ", drop ? 0 : 1);
            rc = tl_add(out, tmp.data ? tmp.data : "", tmp.len);
        }
        break;
    case LMT_DEC_WORDPIECE:
        for (size_t i = 0; i < in->n && !rc; i++) {
            tmp.len = 0;
            lmt_wordpiece_decode_piece(st->a, st->alen, st->cleanup, i == 0, TOK(in, i), in->len[i], &tmp);
            rc = tl_add(out, tmp.data ? tmp.data : "", tmp.len);
        }
        break;
    case LMT_DEC_BPE:
        for (size_t i = 0; i < in->n && !rc; i++) {
            tmp.len = 0;
            replace_into(&tmp, TOK(in, i), in->len[i], st->a, st->alen, i + 1 == in->n ? "" : " ", i + 1 == in->n ? 0 : 1);
            rc = tl_add(out, tmp.data ? tmp.data : "", tmp.len);
        }
        break;
    default: rc = -1;
    }
    if (tmp.oom) rc = -1;
    lmt_sb_free(&tmp);
    return rc;
}

lmt_status lmt_decoder_run(const lmt_decoder *d, const char *const *toks, const size_t *lens, size_t n, char **out,
                           size_t *out_len) {
    tlist a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    lmt_sb_init(&a.b);
    lmt_sb_init(&b.b);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) rc = tl_add(&a, toks[i], lens[i]);
    for (size_t k = 0; k < d->n && !rc; k++) {
        b.n = 0;
        b.b.len = 0;
        rc = stage(&d->v[k], &a, &b);
        tlist t = a; a = b; b = t;
    }
    lmt_strbuf r;
    lmt_sb_init(&r);
    for (size_t i = 0; i < a.n && !rc; i++) {
        if (!d->present && i) lmt_sb_putc(&r, ' ');   /* no decoder: tokens joined by spaces */
        lmt_sb_append(&r, TOK(&a, i), a.len[i]);
    }
    tl_free(&a);
    tl_free(&b);
    if (rc || r.oom) { lmt_sb_free(&r); return lmt_fail(LMT_ERR_NOMEM, "out of memory while decoding"); }
    *out_len = r.len;
    *out = r.data ? lmt_sb_take(&r) : lmt_strdup("");
    return *out ? LMT_OK : lmt_fail(LMT_ERR_NOMEM, "out of memory");
}
