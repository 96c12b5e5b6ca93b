/* tokenizer.json's Metaspace pre-tokenizer: ' ' -> the replacement, the
 * replacement prepended (always, or first: only to a word that starts the
 * original text), then optionally split before each replacement
 * (MergedWithNext). */
#include <string.h>
#include "tokenizers/tok_pipeline.h"
#include "tokenizers/utf8.h"

int lmt_pretok_metaspace(const lmt_pre_stage *st, const lmt_pwords *in, lmt_pwords *out) {
    for (size_t w = 0; w < in->n; w++) {
        uint32_t base = in->v[w].off, n = in->v[w].len, off = (uint32_t)out->buf.n;
        const lmt_normalized *b = &in->buf;
        bool starts = n >= st->repl_len && !memcmp(b->s + base, st->repl, st->repl_len);
        bool pre = !starts && b->s[base] != ' ' &&
                   (st->prepend == LMT_PREPEND_ALWAYS || (st->prepend == LMT_PREPEND_FIRST && b->ostart[base] == 0));
        if (pre) {
            size_t l;
            lmt_utf8_decode((const unsigned char *)b->s + base, n, &l);
            if (lmt_ns_push(&out->buf, st->repl, st->repl_len, b->ostart[base], b->oend[base + l - 1])) return -1;
        }
        for (uint32_t i = base; i < base + n; i++) {
            int rc = b->s[i] == ' ' ? lmt_ns_push(&out->buf, st->repl, st->repl_len, b->ostart[i], b->oend[i])
                                    : lmt_ns_copy(&out->buf, b, i, i + 1);
            if (rc) return -1;
        }
        uint32_t len = (uint32_t)out->buf.n - off;
        if (!st->split) { if (lmt_pwords_add(out, off, len)) return -1; continue; }
        /* MergedWithNext on the replacement: a new word starts at each one */
        uint32_t start = 0;
        for (uint32_t i = 0; i + st->repl_len <= len; i++) {
            if (i > start && !memcmp(out->buf.s + off + i, st->repl, st->repl_len)) {
                if (lmt_pwords_add(out, off + start, i - start)) return -1;
                start = i;
            }
        }
        if (lmt_pwords_add(out, off + start, len - start)) return -1;
    }
    return 0;
}
