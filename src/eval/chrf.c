/* sacrebleu 2.6.0 CHRF. N-grams are compared as code-point (or word-id)
 * sequences, never hashed, so the counts are exact. */
#include "eval/chrf.h"
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include "core/error.h"
#include "core/hashmap.h"
#include "eval/pystr.h"

lmt_chrf_opts lmt_chrf_opts_default(void) {
    lmt_chrf_opts o = {6, 0, 2, false, false};
    return o;
}

typedef struct { uint32_t *p; size_t len, cap; } u32vec;
/* o: order index (char orders first, then word orders); p[0..n) the items */
typedef struct { const uint32_t *p; uint64_t h; uint32_t o, n; int64_t count; } gram;
typedef struct { gram *p; size_t len, cap; } gramvec;

static bool u32_push(u32vec *v, uint32_t x) {
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        if (cap > SIZE_MAX / sizeof(uint32_t)) return false;
        uint32_t *p = realloc(v->p, cap * sizeof(uint32_t));
        if (!p) return false;
        v->p = p; v->cap = cap;
    }
    v->p[v->len++] = x;
    return true;
}

static int gram_cmp(const void *pa, const void *pb) {
    const gram *a = pa, *b = pb;
    if (a->o != b->o) return a->o < b->o ? -1 : 1;
    /* any total order will do for counting and merging: the hash first for
     * speed, the items to break ties so that equality stays exact */
    if (a->h != b->h) return a->h < b->h ? -1 : 1;
    return memcmp(a->p, b->p, (size_t)a->n * sizeof(uint32_t));
}

static bool is_punct(uint32_t c) { /* CHRF._PUNCTS: ASCII punctuation */
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
           (c >= 0x7B && c <= 0x7E);
}

typedef struct {
    u32vec chars, words;
    gramvec grams;
} side;

static void side_free(side *s) { free(s->chars.p); free(s->words.p); free(s->grams.p); }

static lmt_status intern(lmt_strmap *vocab, const char *s, size_t len, u32vec *words) {
    int64_t id;
    if (!lmt_strmap_get(vocab, s, len, &id)) {
        id = (int64_t)lmt_strmap_size(vocab);
        if (id >= (int64_t)UINT32_MAX) return lmt_fail(LMT_ERR_UNSUPPORTED, "chrf: more than 2^32 distinct words");
        LMT_TRY(lmt_strmap_put(vocab, s, len, id));
    }
    if (!u32_push(words, (uint32_t)id)) return lmt_fail(LMT_ERR_NOMEM, "chrf: out of memory");
    return LMT_OK;
}

/* Code points (whitespace dropped unless kept), words as
 * CHRF._remove_punctuation splits them, and all n-grams, sorted and counted. */
static lmt_status side_build(side *sd, const char *s, const lmt_chrf_opts *o, lmt_strmap *vocab) {
    const unsigned char *u = (const unsigned char *)s;
    size_t len = strlen(s), i = 0;
    sd->chars.len = sd->words.len = sd->grams.len = 0;
    size_t w0 = 0, wcp = 0; /* current word: byte start, code points */
    uint32_t first = 0, last = 0, prev_len = 0;
    bool in_word = false;
    while (i <= len) {
        uint32_t cp = 0;
        size_t n = 1;
        bool ws = true; /* the end of the string closes the last word */
        if (i < len) {
            n = lmt_pystr_utf8_len(u, len, i, &cp);
            if (n == 0) return lmt_fail(LMT_ERR_FORMAT, "chrf: invalid UTF-8 at byte %zu of a segment", i);
            ws = lmt_pystr_isspace(cp);
            if ((!ws || o->whitespace) && !u32_push(&sd->chars, cp))
                return lmt_fail(LMT_ERR_NOMEM, "chrf: out of memory");
        }
        if (!ws) {
            if (!in_word) { in_word = true; w0 = i; wcp = 0; first = cp; }
            wcp++; last = cp; prev_len = (uint32_t)n;
        } else if (in_word) {
            in_word = false;
            if (o->word_order > 0) {
                size_t wl = i - w0;
                size_t fl = (size_t)lmt_pystr_utf8_len(u, len, w0, &first);
                if (wcp == 1) LMT_TRY(intern(vocab, s + w0, wl, &sd->words));
                else if (is_punct(last)) {
                    LMT_TRY(intern(vocab, s + w0, wl - prev_len, &sd->words));
                    LMT_TRY(intern(vocab, s + i - prev_len, prev_len, &sd->words));
                } else if (is_punct(first)) {
                    LMT_TRY(intern(vocab, s + w0, fl, &sd->words));
                    LMT_TRY(intern(vocab, s + w0 + fl, wl - fl, &sd->words));
                } else LMT_TRY(intern(vocab, s + w0, wl, &sd->words));
            }
        }
        i += n;
    }
    /* every n-gram of each order */
    size_t need = 0;
    for (int k = 1; k <= o->char_order; k++) need += sd->chars.len >= (size_t)k ? sd->chars.len - (size_t)k + 1 : 0;
    for (int k = 1; k <= o->word_order; k++) need += sd->words.len >= (size_t)k ? sd->words.len - (size_t)k + 1 : 0;
    if (need > sd->grams.cap) {
        if (need > SIZE_MAX / sizeof(gram)) return lmt_fail(LMT_ERR_NOMEM, "chrf: segment too long");
        gram *p = realloc(sd->grams.p, need * sizeof(gram));
        if (!p) return lmt_fail(LMT_ERR_NOMEM, "chrf: out of memory");
        sd->grams.p = p; sd->grams.cap = need;
    }
    for (int kind = 0; kind < 2; kind++) {
        const u32vec *v = kind ? &sd->words : &sd->chars;
        int orders = kind ? o->word_order : o->char_order;
        for (int k = 1; k <= orders; k++)
            for (size_t j = 0; j + (size_t)k <= v->len; j++) {
                gram *g = &sd->grams.p[sd->grams.len++];
                g->p = v->p + j;
                g->n = (uint32_t)k;
                g->o = (uint32_t)(kind ? o->char_order + k - 1 : k - 1);
                g->count = 1;
                uint64_t h = 1469598103934665603ull;
                for (int q = 0; q < k; q++) h = (h ^ g->p[q]) * 1099511628211ull;
                g->h = h;
            }
    }
    if (sd->grams.len == 0) return LMT_OK;
    qsort(sd->grams.p, sd->grams.len, sizeof(gram), gram_cmp);
    size_t m = 0;
    for (size_t j = 0; j < sd->grams.len; j++) {
        if (m > 0 && gram_cmp(&sd->grams.p[m - 1], &sd->grams.p[j]) == 0) sd->grams.p[m - 1].count++;
        else sd->grams.p[m++] = sd->grams.p[j];
    }
    sd->grams.len = m;
    return LMT_OK;
}

/* CHRF._get_match_statistics for every order: [hyp, ref, match] triples. */
static void match_stats(const side *h, const side *r, int orders, int64_t *st) {
    memset(st, 0, (size_t)orders * 3 * sizeof(int64_t));
    for (size_t j = 0; j < h->grams.len; j++) st[3 * h->grams.p[j].o] += h->grams.p[j].count;
    for (size_t j = 0; j < r->grams.len; j++) st[3 * r->grams.p[j].o + 1] += r->grams.p[j].count;
    size_t b = 0;
    for (size_t a = 0; a < h->grams.len; a++) {
        const gram *g = &h->grams.p[a];
        while (b < r->grams.len && gram_cmp(&r->grams.p[b], g) < 0) b++;
        if (b < r->grams.len && gram_cmp(&r->grams.p[b], g) == 0)
            st[3 * g->o + 2] += g->count < r->grams.p[b].count ? g->count : r->grams.p[b].count;
    }
    /* "hyp_count if ref_ngrams else 0" */
    for (int k = 0; k < orders; k++) if (st[3 * k + 1] == 0) st[3 * k] = 0;
}

/* CHRF._compute_f_score */
static double f_score(const int64_t *st, int orders, const lmt_chrf_opts *o) {
    const double eps = 1e-16;
    double factor = (double)o->beta * (double)o->beta;
    double score = 0.0, avg_prec = 0.0, avg_rec = 0.0;
    int eff = 0;
    for (int i = 0; i < orders; i++) {
        int64_t nh = st[3 * i], nr = st[3 * i + 1], nm = st[3 * i + 2];
        double prec = nh > 0 ? (double)nm / (double)nh : eps;
        double rec = nr > 0 ? (double)nm / (double)nr : eps;
        double denom = factor * prec + rec;
        score += denom > 0 ? (1 + factor) * prec * rec / denom : eps;
        if (nh > 0 && nr > 0) { avg_prec += prec; avg_rec += rec; eff++; }
    }
    if (o->eps_smoothing) return 100 * score / orders;
    if (eff == 0) avg_prec = avg_rec = 0.0;
    else { avg_prec /= eff; avg_rec /= eff; }
    if (avg_prec + avg_rec != 0.0) {
        score = (1 + factor) * avg_prec * avg_rec;
        score /= (factor * avg_prec) + avg_rec;
        return 100 * score;
    }
    return 0.0;
}

lmt_status lmt_chrf_corpus(const char *const *hyps, size_t n,
                           const char *const *const *refs, size_t n_refs,
                           const lmt_chrf_opts *opts, double *score) {
    if (!score) return lmt_fail(LMT_ERR_ARG, "chrf: NULL result");
    *score = 0.0;
    lmt_chrf_opts o = opts ? *opts : lmt_chrf_opts_default();
    if (o.char_order < 0 || o.word_order < 0 || o.char_order + o.word_order < 1 ||
        o.char_order + o.word_order > LMT_CHRF_MAX_ORDER)
        return lmt_fail(LMT_ERR_ARG, "chrf: char_order %d + word_order %d outside 1..%d",
                        o.char_order, o.word_order, LMT_CHRF_MAX_ORDER);
    if (o.beta < 0 || o.beta > 1000) return lmt_fail(LMT_ERR_ARG, "chrf: beta %d outside 0..1000", o.beta);
    if (n > 0 && (!hyps || !refs)) return lmt_fail(LMT_ERR_ARG, "chrf: NULL hypotheses or references");
    if (n > 0 && n_refs == 0) return lmt_fail(LMT_ERR_ARG, "chrf: no reference streams");
    for (size_t r = 0; r < n_refs && n > 0; r++)
        if (!refs[r]) return lmt_fail(LMT_ERR_ARG, "chrf: reference stream %zu is NULL", r);
    int orders = o.char_order + o.word_order;
    int64_t total[3 * LMT_CHRF_MAX_ORDER] = {0}, cur[3 * LMT_CHRF_MAX_ORDER], best[3 * LMT_CHRF_MAX_ORDER];
    lmt_status st = LMT_OK;
    side hs = {0}, rs = {0};
    lmt_strmap *vocab = lmt_strmap_new(1024);
    if (!vocab) return lmt_fail(LMT_ERR_NOMEM, "chrf: out of memory");
    for (size_t i = 0; i < n; i++) {
        if (!hyps[i]) { st = lmt_fail(LMT_ERR_ARG, "chrf: hypothesis %zu is NULL", i); goto done; }
        if ((st = side_build(&hs, hyps[i], &o, vocab)) != LMT_OK) {
            lmt_fail_wrap(st, "chrf: hypothesis %zu", i); goto done;
        }
        double best_f = -1.0;
        bool any = false;
        for (size_t r = 0; r < n_refs; r++) {
            if (!refs[r][i]) continue;
            if ((st = side_build(&rs, refs[r][i], &o, vocab)) != LMT_OK) {
                lmt_fail_wrap(st, "chrf: reference %zu of segment %zu", r, i); goto done;
            }
            match_stats(&hs, &rs, orders, cur);
            double f = f_score(cur, orders, &o);
            if (f > best_f) { best_f = f; memcpy(best, cur, sizeof(int64_t) * 3 * (size_t)orders); }
            any = true;
        }
        if (!any) { st = lmt_fail(LMT_ERR_ARG, "chrf: segment %zu has no reference", i); goto done; }
        for (int k = 0; k < 3 * orders; k++) total[k] += best[k];
    }
    *score = f_score(total, orders, &o);
done:
    side_free(&hs);
    side_free(&rs);
    lmt_strmap_free(vocab);
    return st;
}
