/* SentencePiece unigram encoding and decoding (sentencepiece 0.2's
 * normalizer.cc, unigram_model.cc Model::Encode and
 * SentencePieceProcessor::Decode). */
#include <stdlib.h>
#include <string.h>
#include "tokenizers/spm.h"

static const char kSpace[] = "\xE2\x96\x81";   /* U+2581 */

/* Length of the UTF-8 character at s (1 for a malformed one), as
 * sentencepiece's OneCharLen / IsValidDecodeUTF8. */
static size_t char_len(const unsigned char *s, size_t n, bool *valid) {
    unsigned char c = s[0];
    size_t l = c < 0x80 ? 1 : c < 0xC2 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
    *valid = l != 0 && l <= n;
    for (size_t k = 1; *valid && k < l; k++)
        if ((s[k] & 0xC0) != 0x80) *valid = false;
    if (*valid && l == 3 && ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0))) *valid = false;
    if (*valid && l == 4 && ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90))) *valid = false;
    return *valid ? l : 1;
}

size_t lmt_darts_prefix(const uint32_t *a, size_t an, const unsigned char *key, size_t n, bool shortest, uint32_t *value) {
    size_t best = 0;
    if (!a || an == 0) return 0;
#define OFFSET(u) (((u) >> 10) << (((u) & (1U << 9)) >> 6))
    size_t pos = OFFSET(a[0]);
    for (size_t i = 0; i < n; i++) {
        pos ^= key[i];
        if (pos >= an) return best;
        uint32_t u = a[pos];
        if ((u & ((1U << 31) | 0xFF)) != key[i]) return best;
        pos ^= OFFSET(u);
        if (pos >= an) return best;
        if ((u >> 8) & 1) {
            best = i + 1;
            *value = a[pos] & ((1U << 31) - 1);
            if (shortest) return best;
        }
    }
#undef OFFSET
    return best;
}

static size_t trie_longest(const lmt_spm *m, const unsigned char *key, size_t n, uint32_t *value) {
    return lmt_darts_prefix(m->trie, m->trie_n, key, n, false, value);
}

/* NormalizePrefix: the replacement of the longest rule at s (or the
 * character itself, or U+FFFD for one malformed byte), and bytes consumed. */
static size_t normalize_prefix(const lmt_spm *m, const unsigned char *s, size_t n, const char **rep, size_t *rep_len) {
    if (m->has_user_defined) {
        size_t best = 0;
        for (size_t l = 1; l <= n && l <= m->max_piece_len; l++) {
            int64_t id;
            if (lmt_strmap_get(m->normal, (const char *)s, l, &id) && m->type[id] == LMT_SPM_USER_DEFINED) best = l;
        }
        if (best) { *rep = (const char *)s; *rep_len = best; return best; }
    }
    uint32_t v = 0;
    size_t l = trie_longest(m, s, n, &v);
    if (l) {
        if (v >= m->norm_n) { *rep = ""; *rep_len = 0; return l; }
        *rep = m->norm + v;
        *rep_len = strlen(*rep);
        return l;
    }
    bool valid;
    l = char_len(s, n, &valid);
    if (!valid) { *rep = "\xEF\xBF\xBD"; *rep_len = 3; return 1; }
    *rep = (const char *)s;
    *rep_len = l;
    return l;
}

int lmt_spm_normalize(const lmt_spm *m, const char *text, size_t n, lmt_strbuf *out) {
    out->len = 0;
    const unsigned char *s = (const unsigned char *)text;
    const char *rep;
    size_t rl;
    if (m->remove_extra_ws) {
        while (n) {
            size_t c = normalize_prefix(m, s, n, &rep, &rl);
            if (!(rl == 1 && rep[0] == ' ')) break;
            s += c;
            n -= c;
        }
    }
    if (n == 0) { lmt_sb_append(out, "", 0); return out->oom ? -1 : 0; }
    const char *ws = m->escape_ws ? kSpace : " ";
    size_t wl = m->escape_ws ? 3 : 1;
    if (!m->treat_ws_as_suffix && m->add_dummy_prefix) lmt_sb_append(out, ws, wl);
    bool prev_space = m->remove_extra_ws;
    while (n) {
        size_t c = normalize_prefix(m, s, n, &rep, &rl);
        if (prev_space) while (rl && rep[0] == ' ') { rep++; rl--; }
        if (rl) {
            for (size_t k = 0; k < rl; k++) {
                if (m->escape_ws && rep[k] == ' ') lmt_sb_append(out, kSpace, 3);
                else lmt_sb_putc(out, rep[k]);
            }
            prev_space = rep[rl - 1] == ' ';
        }
        s += c;
        n -= c;
        if (!m->remove_extra_ws) prev_space = false;
    }
    if (m->remove_extra_ws)
        while (out->len >= wl && !memcmp(out->data + out->len - wl, ws, wl)) out->len -= wl;
    if (m->treat_ws_as_suffix && m->add_dummy_prefix) lmt_sb_append(out, ws, wl);
    if (!out->data) lmt_sb_append(out, "", 0);
    return out->oom ? -1 : 0;
}

typedef struct { int32_t id; float score; int32_t starts_at; } best_node;

int lmt_spm_encode_spans(const lmt_spm *m, const char *text, size_t n, int32_t **ids, uint32_t **spans, size_t *n_ids,
                         lmt_strbuf *norm) {
    *ids = NULL;
    *spans = NULL;
    *n_ids = 0;
    if (lmt_spm_normalize(m, text, n, norm)) return -1;
    return lmt_spm_encode_normalized(m, norm->data, norm->len, ids, spans, n_ids);
}

int lmt_spm_encode_normalized(const lmt_spm *m, const char *text, size_t size, int32_t **ids, uint32_t **spans, size_t *n_ids) {
    *ids = NULL;
    *spans = NULL;
    *n_ids = 0;
    const unsigned char *s = (const unsigned char *)text;
    if (size > UINT32_MAX - 1) return -1;
    best_node *best = malloc((size + 1) * sizeof *best);
    if (!best) return -1;
    for (size_t i = 0; i <= size; i++) best[i] = (best_node){-1, 0.0f, -1};
    const float unk_score = m->min_score - 10.0f;
    for (size_t start = 0; start < size;) {
        const float till_here = best[start].score;
        bool has_single = false, valid;
        size_t mblen = char_len(s + start, size - start, &valid);
        if (!valid) {   /* OneCharLen reads the lead byte's table only */
            unsigned char c = s[start];
            mblen = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
            if (mblen > size - start) mblen = size - start;
        }
        uint32_t node = 0;
        for (size_t len = 1; start + len <= size; len++) {
            const struct lmt_spm_edge *e = lmt_spm_trie_step(m, node, s[start + len - 1]);
            if (!e) break;
            node = e->child;
            int32_t id = e->id;
            if (id < 0 || m->type[id] == LMT_SPM_UNUSED) continue;
            best_node *t = &best[start + len];
            float cand;
            if (m->type[id] == LMT_SPM_USER_DEFINED) cand = (float)((double)((float)len * m->max_score) - 0.1 + till_here);
            else cand = m->score[id] + till_here;
            if (t->starts_at == -1 || cand > t->score) { t->score = cand; t->starts_at = (int32_t)start; t->id = (int32_t)id; }
            if (len == mblen) has_single = true;
        }
        if (!has_single) {
            best_node *t = &best[start + mblen];
            float cand = unk_score + till_here;
            if (t->starts_at == -1 || cand > t->score) { t->score = cand; t->starts_at = (int32_t)start; t->id = m->unk_id; }
        }
        start += mblen;
    }
    /* backtrack (reversed), then PopulateSentencePieceText: byte fallback
     * expands an unknown piece into its bytes, else runs of unknown pieces
     * join into one */
    size_t count = 0;
    for (size_t end = size; end > 0; end = (size_t)best[end].starts_at) count++;
    int32_t *o = malloc((count ? count : 1) * sizeof *o);
    uint32_t *sp = malloc((count ? count : 1) * 2 * sizeof *sp);
    if (!o || !sp) { free(o); free(sp); free(best); return -1; }
    size_t k = count;
    for (size_t end = size; end > 0; end = (size_t)best[end].starts_at) {
        k--;
        o[k] = best[end].id;
        sp[2 * k] = (uint32_t)best[end].starts_at;
        sp[2 * k + 1] = (uint32_t)end;
    }
    free(best);
    size_t nout = 0;
    if (m->byte_fallback) {
        size_t total = 0;
        for (size_t i = 0; i < count; i++) total += o[i] == m->unk_id ? sp[2 * i + 1] - sp[2 * i] : 1;
        int32_t *o2 = malloc((total ? total : 1) * sizeof *o2);
        uint32_t *sp2 = malloc((total ? total : 1) * 2 * sizeof *sp2);
        if (!o2 || !sp2) { free(o); free(sp); free(o2); free(sp2); return -1; }
        for (size_t i = 0; i < count; i++) {
            if (o[i] != m->unk_id) { o2[nout] = o[i]; sp2[2 * nout] = sp[2 * i]; sp2[2 * nout + 1] = sp[2 * i + 1]; nout++; continue; }
            for (uint32_t b = sp[2 * i]; b < sp[2 * i + 1]; b++) { o2[nout] = m->byte_id[s[b]]; sp2[2 * nout] = b; sp2[2 * nout + 1] = b + 1; nout++; }
        }
        free(o);
        free(sp);
        o = o2;
        sp = sp2;
    } else {
        for (size_t i = 0; i < count; i++) {
            if (nout && o[i] == m->unk_id && o[nout - 1] == m->unk_id) { sp[2 * nout - 1] = sp[2 * i + 1]; continue; }
            o[nout] = o[i];
            sp[2 * nout] = sp[2 * i];
            sp[2 * nout + 1] = sp[2 * i + 1];
            nout++;
        }
    }
    *ids = o;
    *spans = sp;
    *n_ids = nout;
    return 0;
}

int lmt_spm_encode(const lmt_spm *m, const char *text, size_t n, int32_t **ids, size_t *n_ids) {
    lmt_strbuf nb;
    lmt_sb_init(&nb);
    uint32_t *sp = NULL;
    int rc = lmt_spm_encode_spans(m, text, n, ids, &sp, n_ids, &nb);
    free(sp);
    lmt_sb_free(&nb);
    return rc;
}

int32_t lmt_spm_piece_to_id(const lmt_spm *m, const char *piece, size_t len) {
    int64_t id;
    if (lmt_strmap_get(m->normal, piece, len, &id) || lmt_strmap_get(m->reserved, piece, len, &id)) return (int32_t)id;
    return m->unk_id;
}

/* Appends bytes of consecutive byte pieces as UTF-8, one U+FFFD per
 * malformed byte. */
static void flush_bytes(const unsigned char *b, size_t n, lmt_strbuf *out) {
    for (size_t i = 0; i < n;) {
        bool valid;
        size_t l = char_len(b + i, n - i, &valid);
        if (valid) lmt_sb_append(out, (const char *)b + i, l);
        else lmt_sb_append(out, "\xEF\xBF\xBD", 3);
        i += l;
    }
}

void lmt_spm_decode_pieces(const lmt_spm *m, const char *const *pieces, const size_t *lens, size_t n, lmt_strbuf *out) {
    size_t base = out->len;
    bool is_bos_ws = true, bos_ws_seen = false;
    unsigned char *bytes = malloc(n ? n : 1);
    size_t nb = 0;
    if (!bytes) { out->oom = true; return; }
    for (size_t i = 0; i < n; i++) {
        int32_t id = lmt_spm_piece_to_id(m, pieces[i], lens[i]);
        if (m->type[id] == LMT_SPM_BYTE) {
            const char *p = pieces[i];
            int hi = p[3] <= '9' ? p[3] - '0' : p[3] - 'A' + 10, lo = p[4] <= '9' ? p[4] - '0' : p[4] - 'A' + 10;
            bytes[nb++] = (unsigned char)(hi * 16 + lo);
            continue;
        }
        flush_bytes(bytes, nb, out);
        nb = 0;
        if (bos_ws_seen || out->len > base) is_bos_ws = false;
        bos_ws_seen = false;
        if (m->type[id] == LMT_SPM_CONTROL) continue;
        if (m->type[id] == LMT_SPM_UNKNOWN) {
            if (lens[i] == m->piece_len[id] && !memcmp(pieces[i], m->piece[id], lens[i])) lmt_sb_puts(out, m->unk_surface);
            else lmt_sb_append(out, pieces[i], lens[i]);
            continue;
        }
        const char *p = pieces[i];
        size_t l = lens[i];
        if (is_bos_ws && (m->add_dummy_prefix || m->remove_extra_ws) && l >= 3 && !memcmp(p, kSpace, 3)) {
            p += 3;
            l -= 3;
            bos_ws_seen = !m->remove_extra_ws;
        }
        for (size_t k = 0; k < l;) {
            if (l - k >= 3 && !memcmp(p + k, kSpace, 3)) { lmt_sb_putc(out, ' '); k += 3; }
            else lmt_sb_putc(out, p[k++]);
        }
    }
    flush_bytes(bytes, nb, out);
    free(bytes);
}
