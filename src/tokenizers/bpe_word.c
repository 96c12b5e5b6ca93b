/* tokenizer.json's BPE model over one word: ignore_merges, characters
 * (or, after ByteLevel, bytes through the byte alphabet) as the first
 * symbols with continuing_subword_prefix / end_of_word_suffix, byte_fallback
 * (<0xXX> tokens) and unk (fused with fuse_unk), then the merge loop of bpe.c.
 * Results are cached per word. */
#include <stdlib.h>
#include <string.h>
#include "tokenizers/tok_pipeline.h"
#include "tokenizers/utf8.h"

/* Vocabulary id of prefix? + s + suffix?, or -1. */
static int32_t lookup(const lmt_pmodel *m, const lmt_bpe *b, const char *s, size_t n, bool pre, bool suf, char *buf, size_t bufcap) {
    int64_t id;
    if (!pre && !suf) return lmt_strmap_get(b->vocab, s, n, &id) ? (int32_t)id : -1;
    size_t k = 0, need = n + (pre ? m->prefix_len : 0) + (suf ? m->suffix_len : 0);
    if (need > bufcap) return -1;
    if (pre) { memcpy(buf, m->prefix, m->prefix_len); k = m->prefix_len; }
    memcpy(buf + k, s, n); k += n;
    if (suf) { memcpy(buf + k, m->suffix, m->suffix_len); k += m->suffix_len; }
    return lmt_strmap_get(b->vocab, buf, k, &id) ? (int32_t)id : -1;
}

static int encode_word(const lmt_pmodel *m, const lmt_bpe *b, lmt_bpe_cache *cache, bool bytelevel, const unsigned char *w,
                       size_t n, lmt_bpe_tok **out, size_t *count, size_t *cap) {
    if (n == 0) return 0;
    int hit = lmt_bpe_cache_get(cache, w, n, out, count, cap);
    if (hit) return hit < 0 ? -1 : 0;
    size_t first = *count;
    int rc = 0;
    if (m->ignore_merges) {
        /* the whole word when it is a token */
        int64_t id;
        bool found;
        if (bytelevel) {
            char small[256] = "";   /* (initialised: gcc cannot see the loop fill it) */
            char *mapped = n * 2 <= sizeof small ? small : calloc(n * 2 + 1, 1);
            if (!mapped) return -1;
            size_t klen = 0;
            for (size_t i = 0; i < n; i++) {
                memcpy(mapped + klen, b->bl.byte_utf8[w[i]], b->bl.byte_utf8_len[w[i]]);
                klen += b->bl.byte_utf8_len[w[i]];
            }
            found = lmt_strmap_get(b->vocab, mapped, klen, &id);
            if (mapped != small) free(mapped);
        } else {
            found = lmt_strmap_get(b->vocab, (const char *)w, n, &id);
        }
        if (found) {
            if (lmt_bpe_push(out, count, cap, (lmt_bpe_tok){(int32_t)id, 0, (uint32_t)n})) return -1;
            lmt_bpe_cache_put(cache, w, n, *out + first, 1);
            return 0;
        }
    }
    if (bytelevel && !m->prefix_len && !m->suffix_len) return lmt_bpe_encode(b, cache, w, n, out, count, cap);
    lmt_bpe_tok *syms = NULL;
    size_t ns = 0, scap = 0;
    char buf[512];
    int32_t unk_id = -1;
    uint32_t unk_start = 0, unk_end = 0;
    bool unk_pending = false;
    uint32_t pos = 0;   /* symbol positions count only what is kept, as tokenizers' Word offsets */
    for (size_t i = 0; i < n && !rc;) {
        size_t l = 1;
        char mb[4];
        const char *cs = (const char *)w + i;
        size_t cl;
        if (bytelevel) { memcpy(mb, b->bl.byte_utf8[w[i]], b->bl.byte_utf8_len[w[i]]); cs = mb; cl = b->bl.byte_utf8_len[w[i]]; }
        else { lmt_utf8_decode(w + i, n - i, &l); cl = l; }
        int32_t id = lookup(m, b, cs, cl, i > 0 && m->prefix_len, i + l == n && m->suffix_len, buf, sizeof buf);
        if (id >= 0) {
            if (unk_pending) { rc = lmt_bpe_push(&syms, &ns, &scap, (lmt_bpe_tok){unk_id, unk_start, unk_end}); unk_pending = false; pos = unk_end; }
            if (!rc) rc = lmt_bpe_push(&syms, &ns, &scap, (lmt_bpe_tok){id, pos, pos + (uint32_t)l});
            pos += (uint32_t)l;
        } else {
            bool done = false;
            if (m->byte_fallback) {
                done = true;
                for (size_t k = 0; k < cl; k++) if (m->byte_tok[(unsigned char)cs[k]] < 0) done = false;
                for (size_t k = 0; done && k < cl && !rc; k++, pos++)
                    rc = lmt_bpe_push(&syms, &ns, &scap, (lmt_bpe_tok){m->byte_tok[(unsigned char)cs[k]], pos, pos + 1});
            }
            if (!done && m->unk >= 0) {
                if (unk_pending && m->fuse_unk) unk_end += (uint32_t)l;
                else {
                    if (unk_pending) { rc = lmt_bpe_push(&syms, &ns, &scap, (lmt_bpe_tok){unk_id, unk_start, unk_end}); pos = unk_end; }
                    unk_pending = true;
                    unk_id = m->unk;
                    unk_start = pos;
                    unk_end = pos + (uint32_t)l;
                }
            }
        }
        i += l;
    }
    if (!rc && unk_pending) rc = lmt_bpe_push(&syms, &ns, &scap, (lmt_bpe_tok){unk_id, unk_start, unk_end});
    if (!rc) rc = lmt_bpe_merge(b, syms, ns, out, count, cap);
    free(syms);
    if (!rc) lmt_bpe_cache_put(cache, w, n, *out + first, *count - first);
    return rc;
}

/* U+2581 ("\xe2\x96\x81"), SentencePiece's space */
static bool meta_at(const unsigned char *w, size_t n, size_t i) {
    return i + 3 <= n && w[i] == 0xE2 && w[i + 1] == 0x96 && w[i + 2] == 0x81;
}

int lmt_pmodel_bpe(const lmt_pmodel *m, const lmt_bpe *b, lmt_bpe_cache *cache, bool bytelevel, const unsigned char *w,
                   size_t n, lmt_bpe_tok **out, size_t *count, size_t *cap) {
    if (!m->meta_split || bytelevel) return encode_word(m, b, cache, bytelevel, w, n, out, count, cap);
    /* No token has "\u2581" after another character (meta_split), so no merge
     * crosses a point where one follows a non-"\u2581": the pieces encode alone
     * (and hit the cache) with the same result as the whole word. */
    size_t start = 0;
    for (size_t i = 1; i <= n; i++) {
        if (i < n && !(meta_at(w, n, i) && !(i >= 3 && meta_at(w, n, i - 3)))) continue;
        size_t first = *count;
        if (encode_word(m, b, cache, false, w + start, i - start, out, count, cap)) return -1;
        for (size_t k = first; k < *count; k++) { (*out)[k].start += (uint32_t)start; (*out)[k].end += (uint32_t)start; }
        start = i;
    }
    return 0;
}

bool lmt_pmodel_meta_splittable(const lmt_pmodel *m, const lmt_bpe *b) {
    bool all_bytes = m->byte_fallback;   /* with every <0xXX> token nothing is dropped either */
    for (int k = 0; k < 256 && all_bytes; k++) all_bytes = m->byte_tok[k] >= 0;
    if ((m->unk < 0 && !all_bytes) || m->ignore_merges || m->prefix_len || m->suffix_len) return false;
    for (size_t id = 0; id < b->n_ids; id++) {
        const unsigned char *t = (const unsigned char *)b->id_to_token[id];
        if (!t) continue;
        size_t n = strlen((const char *)t), i = 0;
        while (meta_at(t, n, i)) i += 3;
        for (; i < n; i++)
            if (meta_at(t, n, i)) return false;
    }
    return true;
}
