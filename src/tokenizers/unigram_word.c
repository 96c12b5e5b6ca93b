/* tokenizer.json's Unigram model over one word, as tokenizers'
 * Unigram::encode_optimized + tokenize: a forward pass keeping, for each
 * byte position, the best-scoring way to end there (pieces tried by start,
 * then length; a later candidate wins only with a strictly higher score), a
 * character no piece covers alone scoring min_score - 10 as unk, runs of unk
 * fused into one piece; a fused piece outside the vocabulary becomes its
 * <0xXX> bytes (byte_fallback, each spanning the piece) or the unk id. */
#include <stdlib.h>
#include <string.h>
#include "tokenizers/tok_pipeline.h"
#include "tokenizers/utf8.h"

typedef struct { double score; int32_t id; int32_t from; } best_t;   /* from < 0: unreached */

int lmt_pmodel_unigram(const lmt_pmodel *m, const lmt_bpe *b, const unsigned char *w, size_t n, lmt_bpe_tok **out,
                       size_t *count, size_t *cap) {
    if (n == 0) return 0;
    best_t *bp = malloc((n + 1) * sizeof *bp);
    uint32_t *cut = malloc((n + 1) * sizeof *cut);
    int32_t *cid = malloc((n + 1) * sizeof *cid);
    int rc = 0;
    if (!bp || !cut || !cid) { rc = -1; goto done; }
    for (size_t i = 0; i <= n; i++) bp[i] = (best_t){0, -1, -1};
    bp[0].from = 0;
    double unk_score = m->min_score - 10.0;
    for (size_t s = 0; s < n;) {
        size_t mb;
        lmt_utf8_decode(w + s, n - s, &mb);
        if (bp[s].from < 0) { s += mb; continue; }   /* unreachable (no unk): skipped like tokenizers' lattice */
        double here = s ? bp[s].score : 0;
        bool single = false;
        for (size_t len = 1; len <= m->max_piece && s + len <= n; len++) {
            int64_t id;
            if (!lmt_strmap_get(b->vocab, (const char *)w + s, len, &id)) continue;
            double sc = here + m->scores[id];
            best_t *t = &bp[s + len];
            if (t->from < 0 || sc > t->score) *t = (best_t){sc, (int32_t)id, (int32_t)s};
            if (len == mb) single = true;
        }
        if (!single && m->unk >= 0) {
            double sc = here + unk_score;
            best_t *t = &bp[s + mb];
            if (t->from < 0 || sc > t->score) *t = (best_t){sc, m->unk, (int32_t)s};
        }
        s += mb;
    }
    if (bp[n].from < 0) goto done;   /* no path (no unk): nothing, as an empty lattice */
    /* back from the end: pieces, unk runs fused */
    size_t np = 0;
    for (size_t e = n; e > 0;) {
        size_t s = (size_t)bp[e].from;
        bool unk = bp[e].id == m->unk && m->unk >= 0;
        if (unk && np && cid[np - 1] == -2) cut[np - 1] = (uint32_t)s;   /* extend the fused run leftwards */
        else { cut[np] = (uint32_t)s; cid[np] = unk ? -2 : bp[e].id; np++; }
        e = s;
    }
    /* cut[k] is the start of piece k (right to left); ends follow */
    size_t end = n;
    size_t first = *count;
    for (size_t k = 0; k < np && !rc; k++) {
        size_t s = cut[k];
        int32_t id = cid[k];
        lmt_bpe_tok tk = {id, (uint32_t)s, (uint32_t)end};
        if (id == -2) {   /* the fused unk piece: itself if a token, else bytes or unk */
            int64_t v;
            if (lmt_strmap_get(b->vocab, (const char *)w + s, end - s, &v)) tk.id = (int32_t)v;
            else {
                bool all = m->byte_fallback;
                for (size_t q = s; all && q < end; q++) if (m->byte_tok[w[q]] < 0) all = false;
                if (all) {
                    for (size_t q = end; q-- > s && !rc;)   /* reversed below with the rest */
                        rc = lmt_bpe_push(out, count, cap, (lmt_bpe_tok){m->byte_tok[w[q]], (uint32_t)s, (uint32_t)end});
                    end = s;
                    continue;
                }
                tk.id = m->unk;
            }
        }
        rc = lmt_bpe_push(out, count, cap, tk);
        end = s;
    }
    /* pieces were appended right to left */
    for (size_t i = first, j = *count; !rc && i + 1 < j; i++, j--) {
        lmt_bpe_tok t = (*out)[i]; (*out)[i] = (*out)[j - 1]; (*out)[j - 1] = t;
    }
done:
    free(bp);
    free(cut);
    free(cid);
    return rc;
}

int32_t lmt_pmodel_spm_vocab_id(const lmt_pmodel *m, const char *s, size_t n) {
    int64_t id;
    return lmt_strmap_get(m->vocab, s, n, &id) ? (int32_t)id : m->vocab_unk;
}

int lmt_pmodel_spm(const lmt_pmodel *m, const unsigned char *w, size_t n, lmt_bpe_tok **out, size_t *count, size_t *cap) {
    int32_t *ids;
    uint32_t *sp;
    size_t nid;
    if (lmt_spm_encode_normalized(m->spm, (const char *)w, n, &ids, &sp, &nid)) return -1;
    int rc = 0;
    for (size_t k = 0; k < nid && !rc; k++) {
        /* EncodeAsPieces gives an unknown piece as its surface, which the
         * outside vocabulary may still hold */
        int32_t id = ids[k] == m->spm->unk_id ? lmt_pmodel_spm_vocab_id(m, (const char *)w + sp[2 * k], sp[2 * k + 1] - sp[2 * k])
                                              : m->remap[ids[k]];
        rc = lmt_bpe_push(out, count, cap, (lmt_bpe_tok){id, sp[2 * k], sp[2 * k + 1]});
    }
    free(ids);
    free(sp);
    return rc;
}
