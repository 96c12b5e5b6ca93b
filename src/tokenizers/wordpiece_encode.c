/* The WordPiece encoding pipeline up to the post-processor: added tokens
 * split off the raw text, then per remaining run BertNormalizer ->
 * BertPreTokenizer -> WordPiece, offsets mapped back through the
 * normalizer's alignments. */
#include <stdlib.h>
#include <string.h>
#include "tokenizers/tokenizer_impl.h"

int lmt_tok_encode_raw_wordpiece(const lmt_tokenizer *t, const char *text, size_t n, lmt_raw_seq *out) {
    lmt_segments segs = {0};
    lmt_spans spans = {0};
    lmt_normalized ns = {0};
    lmt_bpe_tok *toks = NULL;
    size_t ntok = 0, tcap = 0;
    int rc = lmt_added_split(&t->added, text, n, &segs);
    int32_t word = 0;
    for (size_t s = 0; s < segs.n && rc == 0; s++) {
        const lmt_segment *g = &segs.v[s];
        if (g->token >= 0) {
            if ((rc = lmt_raw_push_added(out, t->added.v[g->token].id, g->start, g->end, word++))) break;
            continue;
        }
        const char *seg = text + g->start;
        size_t slen = g->end - g->start;
        ns.n = 0;
        if (t->norm.enabled) {
            if ((rc = lmt_bert_normalize(&t->norm, seg, slen, g->start, &ns))) break;
        } else {
            lmt_bert_norm none = {true, false, false, false, false};
            if ((rc = lmt_bert_normalize(&none, seg, slen, g->start, &ns))) break;
        }
        spans.n = 0;
        if ((rc = lmt_pretok_bert(ns.s, ns.n, &spans))) break;
        for (size_t p = 0; p < spans.n && rc == 0; p++) {
            ntok = 0;
            uint32_t ws = spans.v[p].start, we = spans.v[p].end;
            if ((rc = lmt_wordpiece_encode(&t->wp, &t->bpe, ns.s + ws, we - ws, &toks, &ntok, &tcap))) break;
            if ((rc = lmt_raw_reserve(out, out->n + ntok))) break;
            for (size_t k = 0; k < ntok; k++) {
                size_t a = ws + toks[k].start, b = ws + toks[k].end;
                out->ids[out->n] = toks[k].id;
                out->bstart[out->n] = ns.ostart[a];
                out->bend[out->n] = b > a ? ns.oend[b - 1] : ns.ostart[a];
                out->words[out->n] = word;
                out->lead[out->n] = out->trail[out->n] = 0;
                out->n++;
            }
            word++;
        }
    }
    free(segs.v);
    free(spans.v);
    free(toks);
    lmt_normalized_free(&ns);
    return rc;
}
