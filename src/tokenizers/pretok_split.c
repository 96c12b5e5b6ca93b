/* tokenizer.json's Split pre-tokenizer: the pattern's matches (Oniguruma,
 * leftmost, non-overlapping, as the onig crate's find_iter) cut each word;
 * tokenizers' behaviors and invert decide what is kept. */
#include <stdlib.h>
#include "tokenizers/tok_pipeline.h"
#include "tokenizers/utf8.h"

int lmt_pretok_split_regex(const lmt_pre_stage *st, lmt_regex_region **rr, const lmt_pwords *in, lmt_pwords *out) {
    int rc = 0;
    for (size_t w = 0; w < in->n && !rc; w++) {
        const char *s = in->buf.s + in->v[w].off;
        size_t n = in->v[w].len, pos = 0, prev = 0, ms, me;
        out->pc_n = 0;
        while (pos <= n) {
            int f;
            if (st->fast_digits) {
                if (pos >= n) break;
                f = 1;
                ms = pos;
                me = lmt_pretok_llama3_match((const unsigned char *)s, n, pos, st->fast_digits);
            } else {
                f = lmt_regex_find(st->re, rr, s, n, pos, &ms, &me);
            }
            if (f < 0) { rc = -1; break; }
            if (f == 0) break;
            if (me == ms) {   /* empty match: no piece; move one character on */
                if (ms >= n) break;
                size_t l;
                lmt_utf8_decode((const unsigned char *)s + ms, n - ms, &l);
                pos = ms + l;
                continue;
            }
            if (ms > prev && lmt_pwords_piece(out, (uint32_t)prev, (uint32_t)ms, false)) { rc = -1; break; }
            if (lmt_pwords_piece(out, (uint32_t)ms, (uint32_t)me, true)) { rc = -1; break; }
            prev = pos = me;
        }
        if (rc) break;
        if (prev < n && lmt_pwords_piece(out, (uint32_t)prev, (uint32_t)n, false)) { rc = -1; break; }
        rc = lmt_pretok_emit(in, w, out->pc, out->pc_n, st->behavior, st->invert, out);
    }
    return rc;
}
