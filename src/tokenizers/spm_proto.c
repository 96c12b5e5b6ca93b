/* A minimal protobuf wire-format reader for sentencepiece's ModelProto:
 * pieces (1), trainer_spec (2) and normalizer_spec (3); every other field
 * is skipped by its wire type. */
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "tokenizers/spm.h"

typedef struct pb { const uint8_t *p; size_t n, off, base; const char *path; } pb;

static lmt_status pb_varint(pb *b, uint64_t *v) {
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (b->off >= b->n) return lmt_fail(LMT_ERR_FORMAT, "%s: truncated varint at offset %zu", b->path, b->base + b->off);
        uint8_t c = b->p[b->off++];
        x |= (uint64_t)(c & 0x7F) << shift;
        if (!(c & 0x80)) { *v = x; return LMT_OK; }
    }
    return lmt_fail(LMT_ERR_FORMAT, "%s: varint longer than 10 bytes at offset %zu", b->path, b->base + b->off);
}

/* Reads a tag; wire type 2 also yields its payload as a sub-reader. */
static lmt_status pb_field(pb *b, uint32_t *field, uint32_t *wt, uint64_t *val, pb *sub) {
    uint64_t tag = 0;
    LMT_TRY(pb_varint(b, &tag));
    *field = (uint32_t)(tag >> 3);
    *wt = (uint32_t)(tag & 7);
    size_t at = b->base + b->off;
    switch (*wt) {
    case 0: return pb_varint(b, val);
    case 1:
        if (b->n - b->off < 8) return lmt_fail(LMT_ERR_FORMAT, "%s: truncated fixed64 (field %u) at offset %zu", b->path, *field, at);
        *val = 0;
        for (int k = 7; k >= 0; k--) *val = (*val << 8) | b->p[b->off + (size_t)k];
        b->off += 8;
        return LMT_OK;
    case 5:
        if (b->n - b->off < 4) return lmt_fail(LMT_ERR_FORMAT, "%s: truncated fixed32 (field %u) at offset %zu", b->path, *field, at);
        *val = (uint64_t)b->p[b->off] | (uint64_t)b->p[b->off + 1] << 8 | (uint64_t)b->p[b->off + 2] << 16 | (uint64_t)b->p[b->off + 3] << 24;
        b->off += 4;
        return LMT_OK;
    case 2: {
        uint64_t len = 0;
        LMT_TRY(pb_varint(b, &len));
        if (len > b->n - b->off) return lmt_fail(LMT_ERR_FORMAT, "%s: field %u of length %llu runs past its message at offset %zu", b->path, *field, (unsigned long long)len, at);
        *sub = (pb){b->p + b->off, (size_t)len, 0, b->base + b->off, b->path};
        b->off += (size_t)len;
        *val = len;
        return LMT_OK;
    }
    default: return lmt_fail(LMT_ERR_FORMAT, "%s: unsupported wire type %u (field %u) at offset %zu", b->path, *wt, *field, at);
    }
}

static float f32_of(uint64_t v) { uint32_t u = (uint32_t)v; float f; memcpy(&f, &u, 4); return f; }

static lmt_status grow(lmt_spm *m, size_t *cap) {
    if (m->n < *cap) return LMT_OK;
    size_t c = *cap ? *cap * 2 : 1024;
    char **p = realloc(m->piece, c * sizeof *p);
    if (p) m->piece = p;
    uint32_t *l = realloc(m->piece_len, c * sizeof *l);
    if (l) m->piece_len = l;
    float *s = realloc(m->score, c * sizeof *s);
    if (s) m->score = s;
    uint8_t *t = realloc(m->type, c);
    if (t) m->type = t;
    if (!p || !l || !s || !t) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    *cap = c;
    return LMT_OK;
}

static lmt_status read_piece(lmt_spm *m, pb *b) {
    const char *str = NULL;
    size_t len = 0;
    float score = 0;
    uint64_t type = LMT_SPM_NORMAL;
    size_t at = b->base;
    while (b->off < b->n) {
        uint32_t f, wt;
        uint64_t v;
        pb sub;
        LMT_TRY(pb_field(b, &f, &wt, &v, &sub));
        if (f == 1 && wt == 2) { str = (const char *)sub.p; len = sub.n; }
        else if (f == 2 && wt == 5) score = f32_of(v);
        else if (f == 3 && wt == 0) type = v;
    }
    if (!str) return lmt_fail(LMT_ERR_FORMAT, "%s: piece %zu (offset %zu) has no piece string", b->path, m->n, at);
    if (type < 1 || type > 6) return lmt_fail(LMT_ERR_FORMAT, "%s: piece %zu has unknown type %llu", b->path, m->n, (unsigned long long)type);
    if (len > UINT32_MAX / 2) return lmt_fail(LMT_ERR_FORMAT, "%s: piece %zu is too long", b->path, m->n);
    m->piece[m->n] = lmt_strndup(str, len);
    if (!m->piece[m->n]) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    m->piece_len[m->n] = (uint32_t)len;
    m->score[m->n] = score;
    m->type[m->n] = (uint8_t)type;
    m->n++;
    return LMT_OK;
}

static lmt_status read_trainer(lmt_spm *m, pb *b) {
    while (b->off < b->n) {
        uint32_t f, wt;
        uint64_t v;
        pb sub;
        LMT_TRY(pb_field(b, &f, &wt, &v, &sub));
        if (wt == 0) {
            switch (f) {
            case 3: m->model_type = (int)v; break;
            case 24: m->treat_ws_as_suffix = v != 0; break;
            case 35: m->byte_fallback = v != 0; break;
            case 40: m->unk_id = (int32_t)v; break;
            case 41: m->bos_id = (int32_t)v; break;
            case 42: m->eos_id = (int32_t)v; break;
            case 43: m->pad_id = (int32_t)v; break;
            default: break;
            }
        } else if (wt == 2 && f == 44) {
            free(m->unk_surface);
            m->unk_surface = lmt_strndup((const char *)sub.p, sub.n);
            if (!m->unk_surface) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
        }
    }
    return LMT_OK;
}

/* precompiled_charsmap: u32 trie size in bytes, the double array, then the
 * NUL-separated replacement strings. */
static lmt_status read_charsmap(lmt_spm *m, pb *b) {
    if (b->n == 0) return LMT_OK;
    if (b->n < 4) return lmt_fail(LMT_ERR_FORMAT, "%s: precompiled_charsmap of %zu bytes is too short (offset %zu)", b->path, b->n, b->base);
    uint32_t ts = (uint32_t)b->p[0] | (uint32_t)b->p[1] << 8 | (uint32_t)b->p[2] << 16 | (uint32_t)b->p[3] << 24;
    if (ts % 4 || ts > b->n - 4 || ts == 0)
        return lmt_fail(LMT_ERR_FORMAT, "%s: precompiled_charsmap trie size %u does not fit its %zu bytes (offset %zu)", b->path, ts, b->n, b->base);
    m->trie_n = ts / 4;
    m->trie = malloc(ts);
    m->norm_n = b->n - 4 - ts;
    m->norm = malloc(m->norm_n + 1);
    if (!m->trie || !m->norm) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < m->trie_n; i++) {
        const uint8_t *q = b->p + 4 + 4 * i;
        m->trie[i] = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
    }
    memcpy(m->norm, b->p + 4 + ts, m->norm_n);
    m->norm[m->norm_n] = 0;   /* a value past the last NUL still ends inside the buffer */
    return LMT_OK;
}

static lmt_status read_normalizer(lmt_spm *m, pb *b) {
    while (b->off < b->n) {
        uint32_t f, wt;
        uint64_t v;
        pb sub;
        LMT_TRY(pb_field(b, &f, &wt, &v, &sub));
        if (f == 2 && wt == 2) { free(m->trie); free(m->norm); m->trie = NULL; m->norm = NULL; LMT_TRY(read_charsmap(m, &sub)); }
        else if (f == 3 && wt == 0) m->add_dummy_prefix = v != 0;
        else if (f == 4 && wt == 0) m->remove_extra_ws = v != 0;
        else if (f == 5 && wt == 0) m->escape_ws = v != 0;
    }
    return LMT_OK;
}

static int hexval(char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; }

static void edge_put(struct lmt_spm_edge *t, size_t mask, struct lmt_spm_edge e) {
    size_t j = (size_t)(((uint64_t)e.key * 0x9E3779B97F4A7C15ULL) >> 24) & mask;
    while (t[j].key) j = (j + 1) & mask;
    t[j] = e;
}

/* The byte trie of the NORMAL / USER_DEFINED / UNUSED pieces, built in a
 * table sized for every byte, then moved into one for the edges made (a
 * third full: fewer cache misses). */
static lmt_status build_trie(lmt_spm *m) {
    size_t bound = 1;
    for (size_t i = 0; i < m->n; i++) bound += m->piece_len[i];
    if (bound >= (1u << 24)) return lmt_fail(LMT_ERR_FORMAT, "the model's pieces are too long in total (%zu bytes)", bound);
    size_t cap = 1024;
    while (cap < 2 * bound) cap *= 2;
    if (!(m->edge = calloc(cap, sizeof *m->edge))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    m->tmask = cap - 1;
    m->n_nodes = 1;
    for (size_t i = 0; i < m->n; i++) {
        uint8_t ty = m->type[i];
        if (ty != LMT_SPM_NORMAL && ty != LMT_SPM_USER_DEFINED && ty != LMT_SPM_UNUSED) continue;
        uint32_t node = 0;
        struct lmt_spm_edge *e = NULL;
        for (uint32_t l = 0; l < m->piece_len[i]; l++) {
            unsigned char c = (unsigned char)m->piece[i][l];
            e = (struct lmt_spm_edge *)lmt_spm_trie_step(m, node, c);
            if (!e) {
                edge_put(m->edge, m->tmask, (struct lmt_spm_edge){(node << 8 | c) + 1, (uint32_t)m->n_nodes++, -1});
                e = (struct lmt_spm_edge *)lmt_spm_trie_step(m, node, c);
            }
            node = e->child;
        }
        e->id = (int32_t)i;
    }
    size_t small = 1024;
    while (small < 3 * (m->n_nodes - 1)) small *= 2;
    if (small < cap) {
        struct lmt_spm_edge *t = calloc(small, sizeof *t);
        if (!t) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
        for (size_t j = 0; j < cap; j++) if (m->edge[j].key) edge_put(t, small - 1, m->edge[j]);
        free(m->edge);
        m->edge = t;
        m->tmask = small - 1;
    }
    return LMT_OK;
}

static lmt_status build(lmt_spm *m, const char *path) {
    if (m->n == 0) return lmt_fail(LMT_ERR_FORMAT, "%s: the model has no pieces", path);
    if (m->model_type != 1) return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: model_type %d is not unigram (1); only unigram models are supported", path, m->model_type);
    if (m->unk_id < 0 || (size_t)m->unk_id >= m->n || m->type[m->unk_id] != LMT_SPM_UNKNOWN)
        return lmt_fail(LMT_ERR_FORMAT, "%s: unk_id %d is not a piece of type UNKNOWN", path, m->unk_id);
    m->normal = lmt_strmap_new(m->n);
    m->reserved = lmt_strmap_new(64);
    if (!m->normal || !m->reserved) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    m->min_score = 3.402823466e+38F;
    m->max_score = 1.175494351e-38F;   /* sentencepiece starts from FLT_MIN */
    for (int k = 0; k < 256; k++) m->byte_id[k] = -1;
    for (size_t i = 0; i < m->n; i++) {
        uint8_t ty = m->type[i];
        bool normal = ty == LMT_SPM_NORMAL || ty == LMT_SPM_USER_DEFINED || ty == LMT_SPM_UNUSED;
        if (ty == LMT_SPM_NORMAL) {
            if (m->score[i] < m->min_score) m->min_score = m->score[i];
            if (m->score[i] > m->max_score) m->max_score = m->score[i];
        }
        if (ty == LMT_SPM_USER_DEFINED) m->has_user_defined = true;
        if (m->piece_len[i] == 0) return lmt_fail(LMT_ERR_FORMAT, "%s: piece %zu is empty", path, i);
        lmt_strmap *map = normal ? m->normal : m->reserved;
        int64_t old;
        if (lmt_strmap_get(m->normal, m->piece[i], m->piece_len[i], &old) || lmt_strmap_get(m->reserved, m->piece[i], m->piece_len[i], &old))
            return lmt_fail(LMT_ERR_FORMAT, "%s: piece %zu \"%.40s\" is a duplicate of piece %lld", path, i, m->piece[i], (long long)old);
        LMT_TRY(lmt_strmap_put(map, m->piece[i], m->piece_len[i], (int64_t)i));
        if (normal && m->piece_len[i] > m->max_piece_len) m->max_piece_len = m->piece_len[i];
        if (ty == LMT_SPM_BYTE) {
            const char *s = m->piece[i];
            if (m->piece_len[i] != 6 || memcmp(s, "<0x", 3) || s[5] != '>' || hexval(s[3]) < 0 || hexval(s[4]) < 0)
                return lmt_fail(LMT_ERR_FORMAT, "%s: byte piece %zu \"%.40s\" is not <0xXX>", path, i, s);
            m->byte_id[hexval(s[3]) * 16 + hexval(s[4])] = (int32_t)i;
        }
    }
    LMT_TRY(build_trie(m));
    if (m->byte_fallback)
        for (int k = 0; k < 256; k++)
            if (m->byte_id[k] < 0) return lmt_fail(LMT_ERR_FORMAT, "%s: byte_fallback is set but piece <0x%02X> is missing", path, k);
    if (!m->unk_surface) m->unk_surface = lmt_strdup(" \xE2\x81\x87 ");
    return m->unk_surface ? LMT_OK : lmt_fail(LMT_ERR_NOMEM, "out of memory");
}

lmt_status lmt_spm_load(const char *path, lmt_spm *m) {
    memset(m, 0, sizeof *m);
    /* proto defaults */
    m->model_type = 1;
    m->unk_id = 0; m->bos_id = 1; m->eos_id = 2; m->pad_id = -1;
    m->add_dummy_prefix = m->remove_extra_ws = m->escape_ws = true;
    char *data;
    size_t len;
    LMT_TRY(lmt_read_file(path, &data, &len));
    pb b = {(const uint8_t *)data, len, 0, 0, path};
    size_t cap = 0;
    lmt_status s = LMT_OK;
    while (s == LMT_OK && b.off < b.n) {
        uint32_t f, wt;
        uint64_t v;
        pb sub;
        if ((s = pb_field(&b, &f, &wt, &v, &sub)) != LMT_OK) break;
        if (wt != 2) continue;
        if (f == 1) { if ((s = grow(m, &cap)) == LMT_OK) s = read_piece(m, &sub); }
        else if (f == 2) s = read_trainer(m, &sub);
        else if (f == 3) s = read_normalizer(m, &sub);
    }
    free(data);
    if (s == LMT_OK) s = build(m, path);
    if (s != LMT_OK) lmt_spm_free(m);
    return s;
}

void lmt_spm_free(lmt_spm *m) {
    for (size_t i = 0; i < m->n; i++) free(m->piece[i]);
    free(m->piece); free(m->piece_len); free(m->score); free(m->type);
    if (m->normal) lmt_strmap_free(m->normal);
    if (m->reserved) lmt_strmap_free(m->reserved);
    free(m->edge);
    free(m->unk_surface); free(m->trie); free(m->norm);
    memset(m, 0, sizeof *m);
}
