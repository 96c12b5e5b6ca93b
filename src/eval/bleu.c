/* sacrebleu 2.6.0 corpus BLEU. The 13a tokenizer's regexes are hand-coded
 * as byte scans: every class they use is ASCII, and a UTF-8 continuation
 * byte can never be '.', ',', '-' or a digit, so scanning bytes gives the
 * same substitutions as Python's code-point regexes. */
#include "eval/bleu.h"
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "core/error.h"
#include "core/hashmap.h"
#include "eval/pystr.h"

lmt_bleu_opts lmt_bleu_opts_default(void) {
    lmt_bleu_opts o;
    memset(&o, 0, sizeof o);
    o.smooth = LMT_BLEU_SMOOTH_EXP;
    o.smooth_value = -1.0;
    o.max_order = LMT_BLEU_MAX_ORDER;
    return o;
}

/* Validates s and returns the length of s.rstrip(). */
static lmt_status rstrip_len(const char *s, size_t len, size_t *out) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, end = 0;
    while (i < len) {
        uint32_t cp = 0;
        size_t n = lmt_pystr_utf8_len(u, len, i, &cp);
        if (n == 0) return lmt_fail(LMT_ERR_FORMAT, "bleu: invalid UTF-8 at byte %zu of a segment", i);
        i += n;
        if (!lmt_pystr_isspace(cp)) end = i;
    }
    *out = end;
    return LMT_OK;
}

/* ---- growable byte buffer ---- */
typedef struct { char *p; size_t len, cap; bool oom; } buf;

static void buf_reserve(buf *b, size_t extra) {
    if (b->oom) return;
    if (extra > SIZE_MAX - b->len - 1) { b->oom = true; return; }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->p, cap);
    if (!p) { b->oom = true; return; }
    b->p = p; b->cap = cap;
}
static void buf_put(buf *b, const char *s, size_t n) {
    buf_reserve(b, n);
    if (b->oom) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}
static void buf_putc(buf *b, char c) { buf_put(b, &c, 1); }

/* Python's str.replace(pat, rep) (non-overlapping, left to right). */
static void replace_all(buf *dst, const char *s, size_t len, const char *pat, const char *rep) {
    size_t pl = strlen(pat), rl = strlen(rep), i = 0;
    dst->len = 0;
    buf_reserve(dst, len);
    while (i < len) {
        if (len - i >= pl && memcmp(s + i, pat, pl) == 0) { buf_put(dst, rep, rl); i += pl; }
        else buf_putc(dst, s[i++]);
    }
    if (!dst->oom && dst->p) dst->p[dst->len] = 0;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> " \1 " */
static bool is_13a_punct(unsigned char c) {
    return (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26) ||
           (c >= 0x28 && c <= 0x2B) || (c >= 0x3A && c <= 0x40) || c == 0x2F;
}

/* ' '.join(s.split()) with Python's whitespace (s is valid UTF-8). */
static void split_join(buf *dst, const char *s, size_t len) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    bool pending = false;
    dst->len = 0;
    buf_reserve(dst, len);
    while (i < len) {
        uint32_t cp = 0;
        size_t n = lmt_pystr_utf8_len(u, len, i, &cp);
        if (n == 0) n = 1; /* unreachable: input was validated */
        if (lmt_pystr_isspace(cp)) { pending = dst->len > 0; }
        else {
            if (pending) { buf_putc(dst, ' '); pending = false; }
            buf_put(dst, s + i, n);
        }
        i += n;
    }
    if (!dst->oom && dst->p) dst->p[dst->len] = 0;
}

static lmt_status tokenize(const char *s, size_t len, bool tok13a, buf *out) {
    size_t n = 0;
    LMT_TRY(rstrip_len(s, len, &n));
    buf a = {0}, b = {0};
    if (!tok13a) {
        split_join(out, s, n);
        return out->oom ? lmt_fail(LMT_ERR_NOMEM, "bleu: out of memory tokenizing") : LMT_OK;
    }
    replace_all(&a, s, n, "<skipped>", "");
    replace_all(&b, a.p, a.len, "-\n", "");
    replace_all(&a, b.p, b.len, "\n", " ");
    if (!a.oom && memchr(a.p, '&', a.len)) {
        replace_all(&b, a.p, a.len, "&quot;", "\"");
        replace_all(&a, b.p, b.len, "&amp;", "&");
        replace_all(&b, a.p, a.len, "&lt;", "<");
        replace_all(&a, b.p, b.len, "&gt;", ">");
    }
    /* f' {line} ' then the four substitutions, a -> b -> a -> b -> a. */
    b.len = 0;
    buf_reserve(&b, a.len * 3 + 6 < a.len ? SIZE_MAX : a.len * 3 + 6);
    buf_putc(&b, ' ');
    buf_putc(&b, ' ');
    buf_putc(&b, ' ');
    for (size_t i = 0; i < a.len && !b.oom; i++) {
        char c = a.p[i];
        if (is_13a_punct((unsigned char)c)) { char t[3] = {' ', c, ' '}; buf_put(&b, t, 3); }
        else buf_putc(&b, c);
    }
    /* the wrapping spaces themselves match the first class: " " -> "   " */
    buf_put(&b, "   ", 3);
    /* ([^0-9])([\.,]) -> "\1 \2 " */
    a.len = 0;
    for (size_t i = 0; i < b.len && !a.oom;) {
        if (i + 1 < b.len && !is_digit(b.p[i]) && (b.p[i + 1] == '.' || b.p[i + 1] == ',')) {
            char t[4] = {b.p[i], ' ', b.p[i + 1], ' '}; buf_put(&a, t, 4); i += 2;
        } else buf_putc(&a, b.p[i++]);
    }
    /* ([\.,])([^0-9]) -> " \1 \2" */
    b.len = 0;
    for (size_t i = 0; i < a.len && !b.oom;) {
        if (i + 1 < a.len && (a.p[i] == '.' || a.p[i] == ',') && !is_digit(a.p[i + 1])) {
            char t[4] = {' ', a.p[i], ' ', a.p[i + 1]}; buf_put(&b, t, 4); i += 2;
        } else buf_putc(&b, a.p[i++]);
    }
    /* ([0-9])(-) -> "\1 \2 " */
    a.len = 0;
    for (size_t i = 0; i < b.len && !a.oom;) {
        if (i + 1 < b.len && is_digit(b.p[i]) && b.p[i + 1] == '-') {
            char t[4] = {b.p[i], ' ', '-', ' '}; buf_put(&a, t, 4); i += 2;
        } else buf_putc(&a, b.p[i++]);
    }
    bool oom = a.oom || b.oom;
    if (!oom) split_join(out, a.p ? a.p : "", a.len);
    free(a.p);
    free(b.p);
    if (oom || out->oom) return lmt_fail(LMT_ERR_NOMEM, "bleu: out of memory tokenizing");
    return LMT_OK;
}

lmt_status lmt_bleu_tokenize_13a(const char *s, size_t len, char **out, size_t *out_len) {
    if (!out || (!s && len)) return lmt_fail(LMT_ERR_ARG, "bleu: NULL argument to tokenize_13a");
    *out = NULL;
    buf o = {0};
    lmt_status st = tokenize(s ? s : "", len, true, &o);
    if (st != LMT_OK) { free(o.p); return st; }
    if (!o.p) { buf_reserve(&o, 0); if (o.oom) return lmt_fail(LMT_ERR_NOMEM, "bleu: out of memory"); o.p[0] = 0; }
    *out = o.p;
    if (out_len) *out_len = o.len;
    return LMT_OK;
}

/* ---- n-gram statistics ---- */

typedef struct { uint32_t n, id[LMT_BLEU_MAX_ORDER]; int64_t count; } gram;

static int gram_cmp(const void *pa, const void *pb) {
    const gram *a = pa, *b = pb;
    if (a->n != b->n) return a->n < b->n ? -1 : 1;
    for (uint32_t k = 0; k < a->n; k++)
        if (a->id[k] != b->id[k]) return a->id[k] < b->id[k] ? -1 : 1;
    return 0;
}

typedef struct { uint32_t *p; size_t len, cap; } idvec;
typedef struct { gram *p; size_t len, cap; } gramvec;

static bool gram_reserve(gramvec *v, size_t extra) {
    if (extra > (SIZE_MAX / sizeof(gram)) - v->len) return false;
    size_t need = v->len + extra;
    if (need <= v->cap) return true;
    size_t cap = v->cap ? v->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / sizeof(gram) / 2 ? need : cap * 2;
    gram *p = realloc(v->p, cap * sizeof(gram));
    if (!p) return false;
    v->p = p; v->cap = cap;
    return true;
}

/* Splits a tokenized line on ' ' and interns each token. */
static lmt_status intern_tokens(lmt_strmap *vocab, const char *s, size_t len, idvec *ids) {
    ids->len = 0;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != ' ') j++;
        if (j > i) {
            int64_t id;
            if (!lmt_strmap_get(vocab, s + i, j - i, &id)) {
                id = (int64_t)lmt_strmap_size(vocab);
                if (id >= (int64_t)UINT32_MAX) return lmt_fail(LMT_ERR_UNSUPPORTED, "bleu: more than 2^32 distinct tokens");
                LMT_TRY(lmt_strmap_put(vocab, s + i, j - i, id));
            }
            if (ids->len == ids->cap) {
                size_t cap = ids->cap ? ids->cap * 2 : 64;
                if (cap > SIZE_MAX / sizeof(uint32_t)) return lmt_fail(LMT_ERR_NOMEM, "bleu: segment too long");
                uint32_t *p = realloc(ids->p, cap * sizeof(uint32_t));
                if (!p) return lmt_fail(LMT_ERR_NOMEM, "bleu: out of memory");
                ids->p = p; ids->cap = cap;
            }
            ids->p[ids->len++] = (uint32_t)id;
        }
        i = j + 1;
    }
    return LMT_OK;
}

/* Appends the distinct n-grams (1..order) of ids with their counts to v. */
static lmt_status count_grams(const idvec *ids, int order, gramvec *v) {
    size_t start = v->len;
    if (ids->len > SIZE_MAX / LMT_BLEU_MAX_ORDER || !gram_reserve(v, ids->len * (size_t)order))
        return lmt_fail(LMT_ERR_NOMEM, "bleu: out of memory counting n-grams");
    for (int n = 1; n <= order; n++) {
        if (ids->len < (size_t)n) break;
        for (size_t i = 0; i + (size_t)n <= ids->len; i++) {
            gram *g = &v->p[v->len++];
            memset(g, 0, sizeof *g);
            g->n = (uint32_t)n;
            memcpy(g->id, ids->p + i, (size_t)n * sizeof(uint32_t));
            g->count = 1;
        }
    }
    if (v->len == start) return LMT_OK;
    size_t m = v->len - start;
    gram *a = v->p + start;
    qsort(a, m, sizeof(gram), gram_cmp);
    size_t u = 0;
    for (size_t i = 0; i < m; i++) {
        if (u > 0 && gram_cmp(&a[u - 1], &a[i]) == 0) a[u - 1].count += a[i].count;
        else a[u++] = a[i];
    }
    v->len = start + u;
    return LMT_OK;
}

/* sacrebleu BLEU._get_closest_ref_len: ties go to the shorter reference. */
static int64_t closest_ref_len(int64_t hyp_len, const int64_t *lens, size_t k) {
    int64_t best_diff = -1, best = -1;
    for (size_t i = 0; i < k; i++) {
        int64_t d = hyp_len > lens[i] ? hyp_len - lens[i] : lens[i] - hyp_len;
        if (best_diff == -1 || d < best_diff) { best_diff = d; best = lens[i]; }
        else if (d == best_diff && lens[i] < best) best = lens[i];
    }
    return best;
}

/* sacrebleu.utils.my_log */
static double my_log(double x) { return x == 0.0 ? -9999999999.0 : log(x); }

/* BLEU.compute_bleu from the corpus sufficient statistics. */
static void compute_bleu(const lmt_bleu_opts *o, double smooth_value, lmt_bleu_result *r) {
    int order = r->max_order;
    r->bp = 1.0;
    if (r->sys_len < r->ref_len)
        r->bp = r->sys_len > 0 ? exp(1.0 - (double)r->ref_len / (double)r->sys_len) : 0.0;
    for (int k = 0; k < LMT_BLEU_MAX_ORDER; k++) r->precisions[k] = 0.0;
    r->score = 0.0;
    bool any = false;
    for (int k = 0; k < order; k++) any = any || r->counts[k] != 0;
    if (!any) return;
    double smooth_mteval = 1.0;
    int eff = order;
    for (int n = 1; n <= order; n++) {
        double c = (double)r->counts[n - 1], t = (double)r->totals[n - 1];
        if (o->smooth == LMT_BLEU_SMOOTH_ADD_K && n > 1) { c += smooth_value; t += smooth_value; }
        if (t == 0.0) break;
        if (o->effective_order) eff = n;
        if (c == 0.0) {
            if (o->smooth == LMT_BLEU_SMOOTH_EXP) {
                smooth_mteval *= 2;
                r->precisions[n - 1] = 100.0 / (smooth_mteval * t);
            } else if (o->smooth == LMT_BLEU_SMOOTH_FLOOR) {
                r->precisions[n - 1] = 100.0 * smooth_value / t;
            }
        } else {
            r->precisions[n - 1] = 100.0 * c / t;
        }
    }
    double sum = 0.0;
    for (int k = 0; k < eff; k++) sum += my_log(r->precisions[k]);
    r->score = r->bp * exp(sum / eff);
}

lmt_status lmt_bleu_corpus(const char *const *hyps, size_t n,
                           const char *const *const *refs, size_t n_refs,
                           const lmt_bleu_opts *opts, lmt_bleu_result *out) {
    if (!out) return lmt_fail(LMT_ERR_ARG, "bleu: NULL result");
    memset(out, 0, sizeof *out);
    lmt_bleu_opts o = opts ? *opts : lmt_bleu_opts_default();
    if (o.max_order == 0) o.max_order = LMT_BLEU_MAX_ORDER;
    if (o.max_order < 1 || o.max_order > LMT_BLEU_MAX_ORDER)
        return lmt_fail(LMT_ERR_ARG, "bleu: max_order %d outside 1..%d", o.max_order, LMT_BLEU_MAX_ORDER);
    if ((int)o.smooth < 0 || o.smooth > LMT_BLEU_SMOOTH_ADD_K)
        return lmt_fail(LMT_ERR_ARG, "bleu: unknown smoothing method %d", (int)o.smooth);
    double sv = o.smooth_value;
    if (sv < 0 || isnan(sv)) sv = o.smooth == LMT_BLEU_SMOOTH_FLOOR ? 0.1 : 1.0;
    if (n > 0 && (!hyps || !refs)) return lmt_fail(LMT_ERR_ARG, "bleu: NULL hypotheses or references");
    if (n > 0 && n_refs == 0) return lmt_fail(LMT_ERR_ARG, "bleu: no reference streams");
    for (size_t r = 0; r < n_refs && n > 0; r++)
        if (!refs[r]) return lmt_fail(LMT_ERR_ARG, "bleu: reference stream %zu is NULL", r);
    out->max_order = o.max_order;

    lmt_status st = LMT_OK;
    lmt_strmap *vocab = lmt_strmap_new(1024);
    buf tok = {0};
    idvec ids = {0};
    gramvec rg = {0}, hg = {0};
    int64_t *lens = n_refs ? calloc(n_refs, sizeof(int64_t)) : NULL;
    if (!vocab || (n_refs && !lens)) { st = lmt_fail(LMT_ERR_NOMEM, "bleu: out of memory"); goto done; }

    for (size_t i = 0; i < n; i++) {
        if (!hyps[i]) { st = lmt_fail(LMT_ERR_ARG, "bleu: hypothesis %zu is NULL", i); goto done; }
        /* references: per n-gram, the maximum count over the references */
        rg.len = 0;
        size_t k = 0;
        for (size_t r = 0; r < n_refs; r++) {
            const char *s = refs[r][i];
            if (!s) continue;
            if ((st = tokenize(s, strlen(s), !o.tokenize_none, &tok)) != LMT_OK) {
                lmt_fail_wrap(st, "bleu: reference %zu of segment %zu", r, i); goto done;
            }
            if ((st = intern_tokens(vocab, tok.p ? tok.p : "", tok.len, &ids)) != LMT_OK) goto done;
            lens[k++] = (int64_t)ids.len;
            if ((st = count_grams(&ids, o.max_order, &rg)) != LMT_OK) goto done;
        }
        if (k == 0) { st = lmt_fail(LMT_ERR_ARG, "bleu: segment %zu has no reference", i); goto done; }
        if (k > 1 && rg.len > 0) {
            qsort(rg.p, rg.len, sizeof(gram), gram_cmp);
            size_t u = 0;
            for (size_t j = 0; j < rg.len; j++) {
                if (u > 0 && gram_cmp(&rg.p[u - 1], &rg.p[j]) == 0) {
                    if (rg.p[j].count > rg.p[u - 1].count) rg.p[u - 1].count = rg.p[j].count;
                } else rg.p[u++] = rg.p[j];
            }
            rg.len = u;
        }
        const char *h = hyps[i];
        if ((st = tokenize(h, strlen(h), !o.tokenize_none, &tok)) != LMT_OK) {
            lmt_fail_wrap(st, "bleu: hypothesis %zu", i); goto done;
        }
        if ((st = intern_tokens(vocab, tok.p ? tok.p : "", tok.len, &ids)) != LMT_OK) goto done;
        hg.len = 0;
        if ((st = count_grams(&ids, o.max_order, &hg)) != LMT_OK) goto done;
        int64_t hyp_len = (int64_t)ids.len;
        out->sys_len += hyp_len;
        out->ref_len += closest_ref_len(hyp_len, lens, k);
        /* both lists are sorted: merge */
        size_t a = 0, b = 0;
        for (; a < hg.len; a++) {
            const gram *g = &hg.p[a];
            out->totals[g->n - 1] += g->count;
            while (b < rg.len && gram_cmp(&rg.p[b], g) < 0) b++;
            if (b < rg.len && gram_cmp(&rg.p[b], g) == 0)
                out->counts[g->n - 1] += g->count < rg.p[b].count ? g->count : rg.p[b].count;
        }
    }
    compute_bleu(&o, sv, out);
done:
    lmt_strmap_free(vocab);
    free(tok.p);
    free(ids.p);
    free(rg.p);
    free(hg.p);
    free(lens);
    return st;
}
