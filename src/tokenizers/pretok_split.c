/* tokenizer.json's Split pre-tokenizer: the pattern's matches (Oniguruma,
 * leftmost, non-overlapping, as the onig crate's find_iter) cut each word;
 * tokenizers' behaviors and invert decide what is kept. */
#include <stdlib.h>
#include "tokenizers/tok_pipeline.h"
#include "tokenizers/utf8.h"

int lmt_pretok_split_regex(const lmt_pre_stage *st, lmt_regex_region **rr, const lmt_pwords *in, lmt_pwords *out) {
    lmt_piece *pc = NULL;
    size_t cap = 0;
    int rc = 0;
    for (size_t w = 0; w < in->n && !rc; w++) {
        const char *s = in->buf.s + in->v[w].off;
        size_t n = in->v[w].len, pos = 0, prev = 0, np = 0, ms, me;
        while (pos <= n) {
            int f = lmt_regex_find(st->re, rr, s, n, pos, &ms, &me);
            if (f < 0) { rc = -1; break; }
            if (f == 0) break;
            if (np + 2 > cap) {
                size_t nc = cap ? cap * 2 : 64;
                lmt_piece *nv = realloc(pc, nc * sizeof *nv);
                if (!nv) { rc = -1; break; }
                pc = nv;
                cap = nc;
            }
            if (me == ms) {   /* empty match: no piece; move one character on */
                if (ms >= n) break;
                size_t l;
                lmt_utf8_decode((const unsigned char *)s + ms, n - ms, &l);
                pos = ms + l;
                continue;
            }
            if (ms > prev) pc[np++] = (lmt_piece){(uint32_t)prev, (uint32_t)ms, false};
            pc[np++] = (lmt_piece){(uint32_t)ms, (uint32_t)me, true};
            prev = pos = me;
        }
        if (rc) break;
        if (np + 1 > cap) {
            lmt_piece *nv = realloc(pc, (cap + 1) * sizeof *nv);
            if (!nv) { rc = -1; break; }
            pc = nv;
            cap++;
        }
        if (prev < n) pc[np++] = (lmt_piece){(uint32_t)prev, (uint32_t)n, false};
        rc = lmt_pretok_emit(in, w, pc, np, st->behavior, st->invert, out);
    }
    free(pc);
    return rc;
}
