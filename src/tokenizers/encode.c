/* The encoding pipeline: UTF-8 repair -> added tokens, normalizer,
 * pre-tokenizer and model (the general pipeline, Marian's included) ->
 * character offsets -> truncation -> post-processor -> padding. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "tokenizers/tokenizer_impl.h"
#include "tokenizers/utf8.h"

lmt_encode_opts lmt_encode_opts_default(void) {
    lmt_encode_opts o;
    memset(&o, 0, sizeof o);
    o.add_special_tokens = true;
    return o;
}

void lmt_raw_seq_free(lmt_raw_seq *r) {
    free(r->ids); free(r->bstart); free(r->bend); free(r->words); free(r->cstart); free(r->cend);
    free(r->lead); free(r->trail);
    memset(r, 0, sizeof *r);
}

int lmt_raw_reserve(lmt_raw_seq *r, size_t n) {
    if (n <= r->cap) return 0;
    size_t nc = r->cap ? r->cap : 64;
    while (nc < n) nc *= 2;
    int32_t *a = realloc(r->ids, nc * 4); if (!a) return -1; r->ids = a;
    uint32_t *b = realloc(r->bstart, nc * 4); if (!b) return -1; r->bstart = b;
    b = realloc(r->bend, nc * 4); if (!b) return -1; r->bend = b;
    a = realloc(r->words, nc * 4); if (!a) return -1; r->words = a;
    a = realloc(r->cstart, nc * 4); if (!a) return -1; r->cstart = a;
    a = realloc(r->cend, nc * 4); if (!a) return -1; r->cend = a;
    uint16_t *h = realloc(r->lead, nc * 2); if (!h) return -1; r->lead = h;
    h = realloc(r->trail, nc * 2); if (!h) return -1; r->trail = h;
    r->cap = nc;
    return 0;
}

int lmt_raw_push_added(lmt_raw_seq *out, int32_t id, uint32_t start, uint32_t end, int32_t word) {
    if (lmt_raw_reserve(out, out->n + 1)) return -1;
    out->ids[out->n] = id;
    out->bstart[out->n] = start;
    out->bend[out->n] = end;
    out->words[out->n] = word;
    out->lead[out->n] = out->trail[out->n] = 0;
    out->n++;
    return 0;
}

int lmt_tok_encode_raw(const lmt_tokenizer *t, lmt_bpe_cache *cache, bool target, const char *text, size_t n, lmt_raw_seq *out) {
    const lmt_tok_pipeline *p = target && t->pipe_tgt ? t->pipe_tgt : t->pipe;
    int rc = lmt_tok_encode_raw_pipeline(t, p, cache, text, n, out);
    if (rc == 0 && lmt_raw_reserve(out, out->n + 1)) rc = -1;
    if (rc) return rc;
    if (p->no_offsets) {   /* a slow tokenizer's encoding (Marian) */
        for (size_t k = 0; k < out->n; k++) { out->cstart[k] = out->cend[k] = 0; out->words[k] = -1; out->lead[k] = out->trail[k] = 0; }
        return 0;
    }
    /* byte offsets -> code point offsets, walking forward once */
    const unsigned char *u = (const unsigned char *)text;
    size_t byte = 0, chars = 0;   /* chars = lead bytes in text[0..byte) */
    for (size_t k = 0; k < out->n; k++) {
        uint32_t bs = out->bstart[k], be = out->bend[k];
        if (bs < byte) { byte = 0; chars = 0; }
        while (byte < bs) { if ((u[byte] & 0xC0) != 0x80) chars++; byte++; }
        out->cstart[k] = (int32_t)(bs < n && (u[bs] & 0xC0) == 0x80 ? chars - 1 : chars);
        size_t b2 = byte, c2 = chars;
        while (b2 < be) { if ((u[b2] & 0xC0) != 0x80) c2++; b2++; }
        out->cend[k] = (int32_t)c2;
    }
    return 0;
}

/* ---- assembling the final encoding ---- */
static int enc_alloc(lmt_encoding *e, size_t n) {
    size_t m = n ? n : 1;
    e->ids = malloc(m * 4); e->type_ids = malloc(m * 4); e->attention_mask = malloc(m * 4);
    e->special_tokens_mask = malloc(m * 4); e->word_ids = malloc(m * 4); e->sequence_ids = malloc(m * 4);
    e->offset_start = malloc(m * 4); e->offset_end = malloc(m * 4);
    e->n = 0;
    return (e->ids && e->type_ids && e->attention_mask && e->special_tokens_mask && e->word_ids && e->sequence_ids &&
            e->offset_start && e->offset_end) ? 0 : -1;
}

void lmt_encoding_free(lmt_encoding *e) {
    if (!e) return;
    for (size_t k = 0; k < e->n_overflowing; k++) lmt_encoding_free(&e->overflowing[k]);
    free(e->overflowing);
    free(e->ids); free(e->type_ids); free(e->attention_mask); free(e->special_tokens_mask);
    free(e->word_ids); free(e->sequence_ids); free(e->offset_start); free(e->offset_end);
    memset(e, 0, sizeof *e);
}

#define put lmt_enc_put

/* Encoding::truncate's windows of a sequence of len tokens keeping keep
 * (keep < len): the kept one first, then the overflowing ones, max_len long
 * and stride apart from each other's ends (from the end with left). */
typedef struct { size_t from, n; } tok_win;
static tok_win *windows(size_t len, size_t keep, size_t stride, bool left, size_t *count) {
    size_t cap = keep ? len / (keep - stride) + 2 : 2, n = 0;
    tok_win *w = malloc(cap * sizeof *w);
    if (!w) return NULL;
    if (keep == 0) { w[n++] = (tok_win){0, 0}; w[n++] = (tok_win){0, len}; *count = n; return w; }
    size_t step = keep - stride;
    if (!left) {
        for (size_t st = 0; st < len; st += step) {
            size_t stop = st + keep < len ? st + keep : len;
            w[n++] = (tok_win){st, stop - st};
            if (stop == len) break;
        }
    } else {
        for (size_t i = 0; i < len; i += step) {
            size_t stop = len - i, st = stop > keep ? stop - keep : 0;
            w[n++] = (tok_win){st, stop - st};
            if (st == 0) break;
        }
    }
    *count = n;
    return w;
}

/* Pads e (with room for target tokens) to target on the side o asks for. */
static void pad_in_place(const lmt_encode_opts *o, int32_t pad, int32_t ptype, lmt_encoding *out, size_t padded) {
    if (padded <= out->n) return;
    size_t n0 = out->n, npad = padded - n0;
    if (o->pad_left) {
        int32_t *arrs[] = {out->ids, out->type_ids, out->attention_mask, out->special_tokens_mask, out->word_ids,
                           out->sequence_ids, out->offset_start, out->offset_end};
        for (int a = 0; a < 8; a++) memmove(arrs[a] + npad, arrs[a], n0 * 4);
        out->n = 0;
        for (size_t k = 0; k < npad; k++) put(out, pad, ptype, 1, -1, -1, 0, 0);
        out->n = padded;
        for (size_t k = 0; k < npad; k++) out->attention_mask[k] = 0;
    } else {
        for (size_t k = 0; k < npad; k++) put(out, pad, ptype, 1, -1, -1, 0, 0);
        for (size_t k = n0; k < padded; k++) out->attention_mask[k] = 0;
    }
}

static lmt_status encode_one(const lmt_tokenizer *t, lmt_bpe_cache *cache, const char *text, size_t len, const char *pair,
                             size_t pair_len, const lmt_encode_opts *o, lmt_encoding *out) {
    memset(out, 0, sizeof *out);
    lmt_raw_seq r[2] = {{0}, {0}};
    char *fixed[2] = {NULL, NULL};
    const char *src[2] = {text, pair};
    size_t lens[2] = {len, pair_len};
    int nseq = pair ? 2 : 1;
    lmt_status s = LMT_OK;
    for (int q = 0; q < nseq; q++) {
        size_t fl;
        fixed[q] = lmt_utf8_repair(src[q], lens[q], &fl);
        if (fixed[q]) { src[q] = fixed[q]; lens[q] = fl; }
        else if (lens[q] && lmt_utf8_valid_prefix(src[q], lens[q]) != lens[q]) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory"); goto done; }
        int rc = lmt_tok_encode_raw(t, cache, o->text_target, src[q], lens[q], &r[q]);
        if (rc) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory while tokenizing"); goto done; }
    }
    size_t keep[2] = {r[0].n, pair ? r[1].n : 0};
    size_t spec = o->add_special_tokens ? lmt_post_added(&t->post, pair != NULL) : 0;
    if (o->truncation != LMT_TRUNCATE_NONE && o->max_length > 0) {
        if ((size_t)o->max_length < spec) { s = lmt_fail(LMT_ERR_ARG, "max_length %lld is smaller than the %zu special tokens", (long long)o->max_length, spec); goto done; }
        size_t max = (size_t)o->max_length - spec, total = keep[0] + keep[1];
        if (total > max) {
            if (!pair && o->truncation == LMT_TRUNCATE_ONLY_SECOND) { s = lmt_fail(LMT_ERR_ARG, "truncation only_second: the second sequence is not provided"); goto done; }
            if (!pair || o->truncation == LMT_TRUNCATE_ONLY_FIRST || o->truncation == LMT_TRUNCATE_ONLY_SECOND) {
                int q = (pair && o->truncation == LMT_TRUNCATE_ONLY_SECOND) ? 1 : 0;
                size_t other = keep[1 - q];
                if (pair && other >= max) { s = lmt_fail(LMT_ERR_ARG, "sequence to truncate too short to respect max_length %lld", (long long)o->max_length); goto done; }
                keep[q] = max - (pair ? other : 0);
            } else {
                /* tokenizers' longest_first: the shorter keeps min(len, max/2) */
                int shorter = keep[0] <= keep[1] ? 0 : 1;
                size_t sk = keep[shorter] < max / 2 ? keep[shorter] : max / 2;
                keep[1 - shorter] = max - sk;
                keep[shorter] = sk;
            }
        }
    }
    /* Encoding::truncate asserts the stride below what a truncated sequence keeps */
    for (int q = 0; q < nseq; q++)
        if (keep[q] < r[q].n && keep[q] > 0 && (size_t)o->stride >= keep[q]) {
            s = lmt_fail(LMT_ERR_ARG, "stride %lld must be strictly less than the %zu tokens sequence %d keeps (max_length less the special tokens)", (long long)o->stride, keep[q], q + 1);
            goto done;
        }
    size_t total = keep[0] + keep[1] + spec;
    /* tokenizers' pad_encodings: the target (the fixed length, else this
     * sequence's) rounded up to pad_to_multiple_of; longer sequences stay */
    int64_t pad_len = o->pad_length > 0 ? o->pad_length : o->max_length;
    size_t target = o->padding == LMT_PAD_MAX_LENGTH && pad_len > 0 ? (size_t)pad_len : total;
    if (o->pad_to_multiple_of > 0 && target % (size_t)o->pad_to_multiple_of)
        target += (size_t)o->pad_to_multiple_of - target % (size_t)o->pad_to_multiple_of;
    int32_t pad = o->pad_id_set ? o->pad_id : t->special.pad, ptype = o->pad_id_set ? o->pad_type_id : 0;
    int32_t *saved = NULL;   /* offsets before trimming: every window is trimmed anew */
    /* the windows of each sequence (one unless truncated and overflow asked) */
    tok_win one[2] = {{o->truncate_left ? r[0].n - keep[0] : 0, keep[0]}, {pair && o->truncate_left ? r[1].n - keep[1] : 0, keep[1]}};
    tok_win *win[2] = {&one[0], &one[1]};
    size_t nw[2] = {1, 1};
    for (int q = 0; q < nseq && o->return_overflowing; q++)
        if (keep[q] < r[q].n && !(win[q] = windows(r[q].n, keep[q], (size_t)o->stride, o->truncate_left, &nw[q]))) {
            win[q] = &one[q];
            s = lmt_fail(LMT_ERR_NOMEM, "out of memory");
            goto done_win;
        }
    /* Encoding::merge_with's order: each overflowing window of the first with
     * the second's kept one and overflowing ones, then the first's kept one
     * with the second's overflowing ones */
    size_t ncomb = nw[0] * nw[1];
    if (ncomb > 1 && !(saved = malloc((r[0].n + (pair ? r[1].n : 0) + 1) * 2 * sizeof *saved))) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory"); goto done_win; }
    if (saved)
        for (int q = 0, at = 0; q < nseq; at += (int)r[q].n * 2, q++) {
            memcpy(saved + at, r[q].cstart, r[q].n * 4);
            memcpy(saved + at + r[q].n, r[q].cend, r[q].n * 4);
        }
    if (ncomb > 1 && !(out->overflowing = calloc(ncomb - 1, sizeof *out->overflowing))) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory"); goto done_win; }
    for (size_t c = 0; c < ncomb; c++) {
        size_t a, b;   /* window of each sequence */
        if (c == 0) a = b = 0;
        else if (c <= (nw[0] - 1) * nw[1]) { a = 1 + (c - 1) / nw[1]; b = (c - 1) % nw[1]; }
        else { a = 0; b = c - (nw[0] - 1) * nw[1]; }
        lmt_encoding *e = c == 0 ? out : &out->overflowing[c - 1];
        size_t tg = c && o->padding == LMT_PAD_NONE ? 0 : target;   /* without padding, overflowing ones stay as they are */
        size_t n_e = win[0][a].n + (pair ? win[1][b].n : 0) + spec;
        if (c) out->n_overflowing++;
        if (enc_alloc(e, n_e > tg ? n_e : tg)) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory"); goto done_win; }
        if (saved)
            for (int q = 0, at = 0; q < nseq; at += (int)r[q].n * 2, q++) {
                memcpy(r[q].cstart, saved + at, r[q].n * 4);
                memcpy(r[q].cend, saved + at + r[q].n, r[q].n * 4);
            }
        lmt_post_seq ps[2];
        size_t wi[2] = {a, b};
        for (int q = 0; q < nseq; q++)
            ps[q] = (lmt_post_seq){r[q].ids, r[q].words, r[q].cstart, r[q].cend, r[q].lead, r[q].trail, win[q][wi[q]].from, win[q][wi[q]].n};
        lmt_post_assemble(&t->post, o->add_special_tokens, ps, nseq, e);
        if (tg > e->n && pad < 0) { s = lmt_fail(LMT_ERR_ARG, "asked to pad but the tokenizer has no padding token (set one, e.g. eos)"); goto done_win; }
        pad_in_place(o, pad, ptype, e, tg);
    }
done_win:
    free(saved);
    for (int q = 0; q < 2; q++) if (win[q] != &one[q]) free(win[q]);
done:
    lmt_raw_seq_free(&r[0]);
    lmt_raw_seq_free(&r[1]);
    free(fixed[0]);
    free(fixed[1]);
    if (s != LMT_OK) lmt_encoding_free(out);
    return s;
}

lmt_status lmt_tokenizer_encode(const lmt_tokenizer *t, const char *text, size_t len, const char *pair, size_t pair_len,
                                const lmt_encode_opts *opts, lmt_encoding *out) {
    lmt_encode_opts o = opts ? *opts : lmt_tokenizer_encode_opts(t);
    lmt_bpe_cache *cache = lmt_bpe_cache_new();
    lmt_status s = encode_one(t, cache, text, len, pair, pair_len, &o, out);
    if (cache) lmt_bpe_cache_free(cache);
    return s;
}

static lmt_status pad_to(const lmt_tokenizer *t, const lmt_encode_opts *o, lmt_encoding *e, size_t target) {
    for (size_t k = 0; k < e->n_overflowing; k++) LMT_TRY(pad_to(t, o, &e->overflowing[k], target));   /* Encoding::pad */
    if (e->n >= target) return LMT_OK;
    bool left = o->pad_left;
    int32_t pad = o->pad_id_set ? o->pad_id : t->special.pad, ptype = o->pad_id_set ? o->pad_type_id : 0;
    if (pad < 0) return lmt_fail(LMT_ERR_ARG, "asked to pad but the tokenizer has no padding token (set one, e.g. eos)");
    lmt_encoding p;
    if (enc_alloc(&p, target)) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    size_t npad = target - e->n;
    if (left) for (size_t k = 0; k < npad; k++) put(&p, pad, ptype, 1, -1, -1, 0, 0);
    for (size_t k = 0; k < e->n; k++)
        put(&p, e->ids[k], e->type_ids[k], e->special_tokens_mask[k], e->word_ids[k], e->sequence_ids[k], e->offset_start[k], e->offset_end[k]);
    if (!left) for (size_t k = 0; k < npad; k++) put(&p, pad, ptype, 1, -1, -1, 0, 0);
    for (size_t k = 0; k < target; k++)
        if ((left && k < npad) || (!left && k >= e->n)) p.attention_mask[k] = 0;
    p.overflowing = e->overflowing;
    p.n_overflowing = e->n_overflowing;
    e->overflowing = NULL;
    e->n_overflowing = 0;
    lmt_encoding_free(e);
    *e = p;
    return LMT_OK;
}

lmt_status lmt_tokenizer_encode_batch(const lmt_tokenizer *t, const char *const *texts, const size_t *lens,
                                      const char *const *pairs, const size_t *pair_lens, size_t n,
                                      const lmt_encode_opts *opts, lmt_encoding *outs) {
    lmt_encode_opts o = opts ? *opts : lmt_tokenizer_encode_opts(t);
    lmt_padding padding = o.padding;
    int64_t multiple = o.pad_to_multiple_of;
    if (o.padding == LMT_PAD_LONGEST) { o.padding = LMT_PAD_NONE; o.pad_to_multiple_of = 0; }
    int nt = omp_get_max_threads();
    lmt_bpe_cache **caches = calloc((size_t)nt, sizeof *caches);
    if (!caches) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    volatile int failed = 0;
    lmt_status first = LMT_OK;
    char msg[1024] = "";
    #pragma omp parallel num_threads(nt)
    {
        int tid = omp_get_thread_num();
        caches[tid] = lmt_bpe_cache_new();
        #pragma omp for schedule(dynamic, 16)
        for (size_t i = 0; i < n; i++) {
            if (failed) continue;
            lmt_status s = encode_one(t, caches[tid], texts[i], lens[i], pairs ? pairs[i] : NULL, pairs ? pair_lens[i] : 0, &o, &outs[i]);
            if (s != LMT_OK) {
                #pragma omp critical(lmt_tok_err)
                if (!failed) { failed = 1; first = s; snprintf(msg, sizeof msg, "%s", lmt_last_error()); }
            }
        }
        lmt_bpe_cache_free(caches[tid]);
    }
    free(caches);
    if (failed) {
        for (size_t i = 0; i < n; i++) lmt_encoding_free(&outs[i]);
        return lmt_fail(first, "%s", msg);
    }
    if (padding == LMT_PAD_LONGEST) {
        size_t longest = 0;
        for (size_t i = 0; i < n; i++) if (outs[i].n > longest) longest = outs[i].n;
        if (multiple > 0 && longest % (size_t)multiple) longest += (size_t)multiple - longest % (size_t)multiple;
        for (size_t i = 0; i < n; i++) {
            lmt_status s = pad_to(t, &o, &outs[i], longest);
            if (s != LMT_OK) { for (size_t k = 0; k < n; k++) lmt_encoding_free(&outs[k]); return s; }
        }
    }
    return LMT_OK;
}
