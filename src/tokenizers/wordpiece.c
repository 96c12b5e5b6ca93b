/* WordPiece model (greedy longest-match-first with "##" continuations) and
 * its decoder. */
#include <stdlib.h>
#include <string.h>
#include "core/hashmap.h"
#include "core/util.h"
#include "tokenizers/wordpiece.h"

static int tok_push(lmt_bpe_tok **out, size_t *count, size_t *cap, int32_t id, size_t s, size_t e) {
    if (*count == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        lmt_bpe_tok *nv = realloc(*out, nc * sizeof *nv);
        if (!nv) return -1;
        *out = nv;
        *cap = nc;
    }
    (*out)[(*count)++] = (lmt_bpe_tok){id, (uint32_t)s, (uint32_t)e};
    return 0;
}

int lmt_wordpiece_encode(const lmt_wordpiece *wp, const lmt_bpe *vocab, const char *w, size_t n, lmt_bpe_tok **out,
                         size_t *count, size_t *cap) {
    size_t chars = 0;
    for (size_t i = 0; i < n; i++) chars += ((unsigned char)w[i] & 0xC0) != 0x80;
    size_t first = *count;
    if (chars > wp->max_chars) return tok_push(out, count, cap, wp->unk_id, 0, n);
    /* a word has at most max_chars characters (<= 4 bytes each) */
    char stack[512];
    size_t need = wp->prefix_len + n;
    char *buf = need <= sizeof stack ? stack : malloc(need);
    if (!buf) return -1;
    memcpy(buf, wp->prefix, wp->prefix_len);
    size_t start = 0;
    int rc = 0;
    while (start < n) {
        size_t end = n;
        int64_t id = -1;
        const char *key = start ? buf : w + start;
        size_t extra = start ? wp->prefix_len : 0;
        if (start) memcpy(buf + wp->prefix_len, w + start, n - start);
        while (end > start) {
            size_t klen = extra + end - start;
            if (klen <= wp->max_token_len && lmt_strmap_get(vocab->vocab, key, klen, &id)) break;
            id = -1;
            end--;
            while (end > start && ((unsigned char)w[end] & 0xC0) == 0x80) end--;
        }
        if (id < 0) {   /* no piece matches: the whole word is unknown */
            *count = first;
            rc = tok_push(out, count, cap, wp->unk_id, 0, n);
            break;
        }
        if ((rc = tok_push(out, count, cap, (int32_t)id, start, end))) break;
        start = end;
    }
    if (buf != stack) free(buf);
    return rc;
}

/* str.replace(from, to) over s[0..n) in place (to is never longer). */
static size_t replace_all(char *s, size_t n, const char *from, const char *to) {
    size_t fl = strlen(from), tl = strlen(to), o = 0;
    for (size_t i = 0; i < n;) {
        if (i + fl <= n && !memcmp(s + i, from, fl)) { memmove(s + o, to, tl); o += tl; i += fl; }
        else s[o++] = s[i++];
    }
    return o;
}

/* The cleanups of tokenizers' WordPiece decoder (with " do not") and of
 * transformers' clean_up_tokenization (without it), in their order. */
static size_t cleanup(char *s, size_t n, bool do_not) {
    static const char *const pairs[][2] = {{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
                                           {" n't", "n't"}, {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"},
                                           {" 've", "'ve"}, {" 're", "'re"}};
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
        if (!do_not && k == 7) continue;
        n = replace_all(s, n, pairs[k][0], pairs[k][1]);
    }
    return n;
}

size_t lmt_clean_up_tokenization(char *s, size_t n) { return cleanup(s, n, false); }

void lmt_wordpiece_decode_piece(const char *prefix, size_t prefix_len, bool clean, bool first, const char *tok,
                                size_t len, void *strbuf) {
    lmt_strbuf *b = strbuf;
    size_t start = b->len;
    /* starts_with(prefix) -> replacen(prefix, "", 1) drops that leading prefix */
    if (first) lmt_sb_append(b, tok, len);
    else if (len >= prefix_len && !memcmp(tok, prefix, prefix_len)) lmt_sb_append(b, tok + prefix_len, len - prefix_len);
    else { lmt_sb_putc(b, ' '); lmt_sb_append(b, tok, len); }
    if (clean && !b->oom) b->len = start + cleanup(b->data + start, b->len - start, true);
}
