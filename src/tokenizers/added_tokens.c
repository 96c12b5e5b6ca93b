#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "tokenizers/added_tokens.h"
#include "tokenizers/utf8.h"

lmt_status lmt_added_vocab_add(lmt_added_vocab *a, const char *content, int32_t id, bool special, bool lstrip, bool rstrip,
                               bool single_word, bool normalized) {
    for (size_t i = 0; i < a->n; i++)
        if (!strcmp(a->v[i].content, content)) { a->v[i].id = id; a->v[i].special = special; return LMT_OK; }
    lmt_added_token *nv = realloc(a->v, (a->n + 1) * sizeof *nv);
    if (!nv) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    a->v = nv;
    lmt_added_token *t = &a->v[a->n];
    if (!(t->content = lmt_strdup(content))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    t->len = strlen(content);
    t->id = id;
    t->special = special;
    t->lstrip = lstrip;
    t->rstrip = rstrip;
    t->single_word = single_word;
    t->normalized = normalized;
    a->n++;
    return LMT_OK;
}

void lmt_added_vocab_free(lmt_added_vocab *a) {
    for (size_t i = 0; i < a->n; i++) free(a->v[i].content);
    free(a->v);
    memset(a, 0, sizeof *a);
}

long lmt_added_vocab_find_id(const lmt_added_vocab *a, int32_t id) {
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].id == id) return (long)i;
    return -1;
}

static int seg_push(lmt_segments *s, uint32_t start, uint32_t end, int32_t token) {
    if (start == end && token < 0) return 0;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        lmt_segment *nv = realloc(s->v, nc * sizeof *nv);
        if (!nv) return -1;
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n++] = (lmt_segment){start, end, token};
    return 0;
}

static bool is_space_byte(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
static bool is_word_byte(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c >= 0x80; }

int lmt_added_split(const lmt_added_vocab *a, const char *text, size_t n, lmt_segments *out) {
    const unsigned char *s = (const unsigned char *)text;
    size_t seg_start = 0, i = 0;
    while (i < n) {
        long best = -1;
        size_t best_len = 0;
        for (size_t k = 0; k < a->n; k++) {
            const lmt_added_token *t = &a->v[k];
            if (t->len > best_len && t->len <= n - i && s[i] == (unsigned char)t->content[0] && !memcmp(s + i, t->content, t->len)) {
                if (t->single_word && ((i > 0 && is_word_byte(s[i - 1])) || (i + t->len < n && is_word_byte(s[i + t->len])))) continue;
                best = (long)k;
                best_len = t->len;
            }
        }
        if (best < 0) {
            size_t l = 1;
            if (s[i] >= 0x80) lmt_utf8_decode(s + i, n - i, &l);
            i += l;
            continue;
        }
        const lmt_added_token *t = &a->v[best];
        size_t mstart = i, mend = i + best_len;
        if (t->lstrip) while (mstart > seg_start && is_space_byte(s[mstart - 1])) mstart--;
        if (t->rstrip) while (mend < n && is_space_byte(s[mend])) mend++;
        if (seg_push(out, (uint32_t)seg_start, (uint32_t)mstart, -1) || seg_push(out, (uint32_t)mstart, (uint32_t)mend, (int32_t)best)) return -1;
        seg_start = i = mend;
    }
    return seg_push(out, (uint32_t)seg_start, (uint32_t)n, -1);
}
