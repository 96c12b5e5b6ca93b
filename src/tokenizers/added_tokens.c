#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "tokenizers/added_tokens.h"
#include "tokenizers/utf8.h"

lmt_status lmt_added_vocab_add(lmt_added_vocab *a, const char *content, int32_t id, bool special, bool lstrip, bool rstrip,
                               bool single_word, bool normalized) {
    for (size_t i = 0; i < a->n; i++)
        if (!strcmp(a->v[i].content, content)) { a->v[i].id = id; a->v[i].special = special; return LMT_OK; }
    lmt_added_token *nv = realloc(a->v, (a->n + 1) * sizeof *nv);
    if (!nv) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    a->v = nv;
    lmt_added_token *t = &a->v[a->n];
    if (!(t->content = lmt_strdup(content))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    t->len = strlen(content);
    if (t->len) a->first[(unsigned char)content[0] >> 6] |= 1ull << ((unsigned char)content[0] & 63);
    t->id = id;
    t->special = special;
    t->lstrip = lstrip;
    t->rstrip = rstrip;
    t->single_word = single_word;
    t->normalized = normalized;
    t->match = NULL;
    t->match_len = 0;
    a->n++;
    return LMT_OK;
}

lmt_status lmt_added_vocab_set_match(lmt_added_vocab *a, size_t k, const char *s, size_t n) {
    char *m = lmt_strndup(s, n);
    if (!m) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    free(a->v[k].match);
    a->v[k].match = m;
    a->v[k].match_len = n;
    if (n) a->first[(unsigned char)s[0] >> 6] |= 1ull << ((unsigned char)s[0] & 63);
    return LMT_OK;
}

void lmt_added_vocab_free(lmt_added_vocab *a) {
    for (size_t i = 0; i < a->n; i++) { free(a->v[i].content); free(a->v[i].match); }
    free(a->v);
    memset(a, 0, sizeof *a);
}

long lmt_added_vocab_find_id(const lmt_added_vocab *a, int32_t id) {
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].id == id) return (long)i;
    return -1;
}

static int seg_push(lmt_segments *s, uint32_t start, uint32_t end, int32_t token) {
    if (start == end && token < 0) return 0;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        lmt_segment *nv = realloc(s->v, nc * sizeof *nv);
        if (!nv) return -1;
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n++] = (lmt_segment){start, end, token};
    return 0;
}

/* Longest token of the given normalized-ness starting at s[i], or -1. */
static long longest_at(const lmt_added_vocab *a, const unsigned char *s, size_t i, size_t end, bool normalized) {
    long best = -1;
    size_t best_len = 0;
    for (size_t k = 0; k < a->n; k++) {
        const lmt_added_token *t = &a->v[k];
        const char *c = t->match ? t->match : t->content;
        size_t len = t->match ? t->match_len : t->len;
        if (t->normalized != normalized || len <= best_len || len > end - i || !len) continue;
        if (s[i] == (unsigned char)c[0] && !memcmp(s + i, c, len)) { best = (long)k; best_len = len; }
    }
    return best;
}

/* One pass of find_matches over the sentence text[from..to). */
static int split_pass(const lmt_added_vocab *a, const unsigned char *s, size_t from, size_t to, bool normalized, lmt_segments *out) {
    size_t seg_start = from, i = from;
    while (i < to) {
        if (!(a->first[s[i] >> 6] >> (s[i] & 63) & 1)) { i++; continue; }   /* no token starts with this byte */
        long best = longest_at(a, s, i, to, normalized);
        if (best < 0) {
            i++;
            while (i < to && (s[i] & 0xC0) == 0x80) i++;
            continue;
        }
        const lmt_added_token *t = &a->v[best];
        size_t mstart = i, mend = i + (t->match ? t->match_len : t->len), l;
        if (t->single_word) {
            bool before = mstart > from && lmt_unicode_is_word(lmt_utf8_decode_before(s, mstart, &l));
            bool after = mend < to && lmt_unicode_is_word(lmt_utf8_decode(s + mend, to - mend, &l));
            /* the matcher moves past a discarded match, as daachorse's iterator does */
            if (before || after) { i = mend; continue; }
        }
        if (t->lstrip)
            while (mstart > seg_start && lmt_unicode_is_space(lmt_utf8_decode_before(s, mstart, &l))) mstart -= l;
        if (t->rstrip)
            while (mend < to && lmt_unicode_is_space(lmt_utf8_decode(s + mend, to - mend, &l))) mend += l;
        if (seg_push(out, (uint32_t)seg_start, (uint32_t)mstart, -1) || seg_push(out, (uint32_t)mstart, (uint32_t)mend, (int32_t)best)) return -1;
        seg_start = i = mend;
    }
    return seg_push(out, (uint32_t)seg_start, (uint32_t)to, -1);
}

int lmt_added_split_pass(const lmt_added_vocab *a, const char *text, size_t from, size_t to, bool normalized, lmt_segments *out) {
    return split_pass(a, (const unsigned char *)text, from, to, normalized, out);
}

int lmt_added_split(const lmt_added_vocab *a, const char *text, size_t n, lmt_segments *out) {
    const unsigned char *s = (const unsigned char *)text;
    bool has_norm = false;
    for (size_t k = 0; k < a->n; k++) has_norm |= a->v[k].normalized;
    size_t first = out->n;
    if (split_pass(a, s, 0, n, false, out)) return -1;
    if (!has_norm) return 0;
    /* second pass: normalized tokens inside the runs the first pass left */
    lmt_segments pass1 = {out->v + first, out->n - first, 0};
    lmt_segment *copy = malloc((pass1.n ? pass1.n : 1) * sizeof *copy);
    if (!copy) return -1;
    if (pass1.n) memcpy(copy, pass1.v, pass1.n * sizeof *copy);
    size_t m = pass1.n;
    out->n = first;
    int rc = 0;
    for (size_t k = 0; k < m && rc == 0; k++) {
        if (copy[k].token >= 0) rc = seg_push(out, copy[k].start, copy[k].end, copy[k].token);
        else rc = split_pass(a, s, copy[k].start, copy[k].end, true, out);
    }
    free(copy);
    return rc;
}
