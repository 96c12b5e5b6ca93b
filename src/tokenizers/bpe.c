#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "tokenizers/bpe.h"

lmt_status lmt_bpe_init(lmt_bpe *b, size_t vocab_hint) {
    memset(b, 0, sizeof *b);
    lmt_bytelevel_init(&b->bl);
    b->vocab = lmt_strmap_new(vocab_hint);
    if (!b->vocab) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    return LMT_OK;
}

void lmt_bpe_free(lmt_bpe *b) {
    lmt_strmap_free(b->vocab);
    for (size_t i = 0; i < b->n_ids; i++) free(b->id_to_token[i]);
    free(b->id_to_token);
    free(b->mkey);
    free(b->mrank);
    free(b->mnew);
    memset(b, 0, sizeof *b);
}

lmt_status lmt_bpe_add_token(lmt_bpe *b, const char *tok, size_t len, int32_t id, const char *source) {
    if (id < 0 || id > (1 << 26)) return lmt_fail(LMT_ERR_FORMAT, "%s: token id %d is out of range", source, id);
    if ((size_t)id >= b->ids_cap) {
        size_t nc = b->ids_cap ? b->ids_cap : 1024;
        while (nc <= (size_t)id) nc *= 2;
        char **nt = realloc(b->id_to_token, nc * sizeof *nt);
        if (!nt) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
        memset(nt + b->ids_cap, 0, (nc - b->ids_cap) * sizeof *nt);
        b->id_to_token = nt;
        b->ids_cap = nc;
    }
    if ((size_t)id >= b->n_ids) b->n_ids = (size_t)id + 1;
    if (b->id_to_token[id]) return lmt_fail(LMT_ERR_FORMAT, "%s: id %d is given to two tokens", source, id);
    if (!(b->id_to_token[id] = lmt_strndup(tok, len))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    if (lmt_strmap_put(b->vocab, tok, len, id) != LMT_OK) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    return LMT_OK;
}

static inline uint64_t pair_key(int32_t a, int32_t c) { return (((uint64_t)(uint32_t)a << 32) | (uint32_t)c) + 1; }
static inline size_t pair_slot(uint64_t k, size_t mask) {
    k ^= k >> 33; k *= 0xff51afd7ed558ccdULL; k ^= k >> 33;
    return (size_t)k & mask;
}

static lmt_status merges_grow(lmt_bpe *b) {
    size_t nc = b->mcap ? b->mcap * 2 : 1 << 16;
    uint64_t *nk = calloc(nc, sizeof *nk);
    uint32_t *nr = malloc(nc * sizeof *nr);
    int32_t *nn = malloc(nc * sizeof *nn);
    if (!nk || !nr || !nn) { free(nk); free(nr); free(nn); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    for (size_t i = 0; i < b->mcap; i++) {
        if (!b->mkey[i]) continue;
        size_t j = pair_slot(b->mkey[i], nc - 1);
        while (nk[j]) j = (j + 1) & (nc - 1);
        nk[j] = b->mkey[i]; nr[j] = b->mrank[i]; nn[j] = b->mnew[i];
    }
    free(b->mkey); free(b->mrank); free(b->mnew);
    b->mkey = nk; b->mrank = nr; b->mnew = nn; b->mcap = nc;
    return LMT_OK;
}

lmt_status lmt_bpe_add_merge(lmt_bpe *b, const char *l, size_t ll, const char *r, size_t rl, uint32_t rank, const char *source) {
    int64_t a, c, m;
    if (!lmt_strmap_get(b->vocab, l, ll, &a) || !lmt_strmap_get(b->vocab, r, rl, &c))
        return lmt_fail(LMT_ERR_FORMAT, "%s: merge %u (\"%.*s %.*s\") uses a token that is not in the vocabulary", source, rank + 1,
                        (int)(ll > 40 ? 40 : ll), l, (int)(rl > 40 ? 40 : rl), r);
    char buf[512];
    if (ll + rl > sizeof buf) return lmt_fail(LMT_ERR_FORMAT, "%s: merge %u is too long", source, rank + 1);
    size_t skip = b->merge_prefix_len && rl >= b->merge_prefix_len && !memcmp(r, b->merge_prefix, b->merge_prefix_len)
                      ? b->merge_prefix_len : 0;
    memcpy(buf, l, ll);
    memcpy(buf + ll, r + skip, rl - skip);
    if (!lmt_strmap_get(b->vocab, buf, ll + rl - skip, &m))
        return lmt_fail(LMT_ERR_FORMAT, "%s: merge %u (\"%.*s %.*s\") produces a token that is not in the vocabulary", source,
                        rank + 1, (int)(ll > 40 ? 40 : ll), l, (int)(rl > 40 ? 40 : rl), r);
    if ((b->n_merges + 1) * 2 > b->mcap) LMT_TRY(merges_grow(b));
    uint64_t k = pair_key((int32_t)a, (int32_t)c);
    size_t j = pair_slot(k, b->mcap - 1);
    while (b->mkey[j] && b->mkey[j] != k) j = (j + 1) & (b->mcap - 1);
    if (b->mkey[j]) return LMT_OK;   /* a repeated merge keeps its first rank */
    b->mkey[j] = k;
    b->mrank[j] = rank;
    b->mnew[j] = (int32_t)m;
    b->n_merges++;
    return LMT_OK;
}

void lmt_bpe_finish(lmt_bpe *b) {
    for (int i = 0; i < 256; i++) {
        int64_t id;
        b->byte_id[i] = lmt_strmap_get(b->vocab, b->bl.byte_utf8[i], b->bl.byte_utf8_len[i], &id) ? (int32_t)id : -1;
    }
    if (!b->mcap) merges_grow(b);
}

static inline int lookup_merge(const lmt_bpe *b, int32_t a, int32_t c, uint32_t *rank, int32_t *nid) {
    uint64_t k = pair_key(a, c);
    size_t j = pair_slot(k, b->mcap - 1);
    while (b->mkey[j]) {
        if (b->mkey[j] == k) { *rank = b->mrank[j]; *nid = b->mnew[j]; return 1; }
        j = (j + 1) & (b->mcap - 1);
    }
    return 0;
}

/* ---- cache: piece bytes -> tokens ---- */
#define CACHE_MAX_ENTRIES 200000
#define CACHE_MAX_PIECE 64

struct lmt_bpe_cache {
    lmt_strmap *map;          /* piece -> (offset << 8 | count) into pool */
    lmt_bpe_tok *pool;
    size_t n, cap;
    void *scratch;            /* the encoder's per-thread buffers */
    void (*scratch_free)(void *);
};

void **lmt_bpe_cache_scratch(lmt_bpe_cache *c, void (*free_fn)(void *)) {
    c->scratch_free = free_fn;
    return &c->scratch;
}

lmt_bpe_cache *lmt_bpe_cache_new(void) {
    lmt_bpe_cache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->map = lmt_strmap_new(4096);
    if (!c->map) { free(c); return NULL; }
    return c;
}

void lmt_bpe_cache_free(lmt_bpe_cache *c) {
    if (!c) return;
    if (c->scratch && c->scratch_free) c->scratch_free(c->scratch);
    lmt_strmap_free(c->map);
    free(c->pool);
    free(c);
}

/* ---- merge loop ---- */
/* A candidate merge of the symbol at pos with its right neighbour: valid
 * while both symbols keep the versions they had when it was pushed. */
typedef struct { uint32_t rank; uint32_t pos; uint32_t vl, vr; int32_t nid; } heap_ent;

static inline int heap_less(heap_ent x, heap_ent y) { return x.rank < y.rank || (x.rank == y.rank && x.pos < y.pos); }

static void heap_push(heap_ent *h, size_t *n, heap_ent e) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(e, h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = e;
}

static heap_ent heap_pop(heap_ent *h, size_t *n) {
    heap_ent top = h[0], last = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        heap_ent best = last;
        if (l < *n && heap_less(h[l], best)) { m = l; best = h[l]; }
        if (r < *n && heap_less(h[r], best)) { m = r; }
        if (m == i) break;
        h[i] = h[m];
        i = m;
    }
    if (*n) h[i] = last;
    return top;
}

int lmt_bpe_push(lmt_bpe_tok **out, size_t *count, size_t *cap, lmt_bpe_tok t) {
    if (*count == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        lmt_bpe_tok *no = realloc(*out, nc * sizeof *no);
        if (!no) return -1;
        *out = no;
        *cap = nc;
    }
    (*out)[(*count)++] = t;
    return 0;
}

int lmt_bpe_cache_get(lmt_bpe_cache *cache, const unsigned char *key, size_t n, lmt_bpe_tok **out, size_t *count, size_t *cap) {
    int64_t hit;
    if (!cache || n > CACHE_MAX_PIECE || !lmt_strmap_get(cache->map, (const char *)key, n, &hit)) return 0;
    size_t off = (size_t)(hit >> 8), cnt = (size_t)(hit & 0xff);
    for (size_t i = 0; i < cnt; i++)
        if (lmt_bpe_push(out, count, cap, cache->pool[off + i])) return -1;
    return 1;
}

void lmt_bpe_cache_put(lmt_bpe_cache *cache, const unsigned char *key, size_t n, const lmt_bpe_tok *toks, size_t cnt) {
    if (!cache || n > CACHE_MAX_PIECE || lmt_strmap_size(cache->map) >= CACHE_MAX_ENTRIES || cnt >= 256) return;
    if (cache->n + cnt > cache->cap) {
        size_t nc = cache->cap ? cache->cap * 2 : 4096;
        while (nc < cache->n + cnt) nc *= 2;
        lmt_bpe_tok *np = realloc(cache->pool, nc * sizeof *np);
        if (!np) return;   /* caching is optional */
        cache->pool = np;
        cache->cap = nc;
    }
    if (cnt) memcpy(cache->pool + cache->n, toks, cnt * sizeof *toks);
    if (lmt_strmap_put(cache->map, (const char *)key, n, (int64_t)((cache->n << 8) | cnt)) == LMT_OK) cache->n += cnt;
}

int lmt_bpe_merge(const lmt_bpe *b, const lmt_bpe_tok *syms, size_t m, lmt_bpe_tok **out, size_t *count, size_t *cap) {
    if (m == 0) return 0;
    /* symbols: id, byte start, byte end, prev, next (doubly linked), version;
     * the heap holds at most m - 1 + (merges) < 2m entries (a merge pops one
     * and pushes at most two) */
    int32_t sid_s[64]; uint32_t st_s[64], en_s[64], ver_s[64]; int32_t pv_s[64], nx_s[64]; heap_ent hp_s[128];
    bool big = m > 64;
    int32_t *sid = big ? malloc(m * sizeof *sid) : sid_s;
    uint32_t *st = big ? malloc(m * sizeof *st) : st_s, *en = big ? malloc(m * sizeof *en) : en_s;
    uint32_t *ver = big ? malloc(m * sizeof *ver) : ver_s;
    int32_t *pv = big ? malloc(m * sizeof *pv) : pv_s, *nx = big ? malloc(m * sizeof *nx) : nx_s;
    heap_ent *hp = big ? malloc(2 * m * sizeof *hp) : hp_s;
    int rc = 0;
    if (!sid || !st || !en || !ver || !pv || !nx || !hp) { rc = -1; goto done; }
    for (size_t i = 0; i < m; i++) {
        sid[i] = syms[i].id; st[i] = syms[i].start; en[i] = syms[i].end; ver[i] = 0;
        pv[i] = (int32_t)i - 1; nx[i] = (int32_t)i + 1;
    }
    nx[m - 1] = -1;
    size_t hn = 0;
    uint32_t r;
    int32_t nid;
    for (size_t i = 0; i + 1 < m; i++)
        if (lookup_merge(b, sid[i], sid[i + 1], &r, &nid)) heap_push(hp, &hn, (heap_ent){r, (uint32_t)i, 0, 0, nid});
    while (hn) {
        heap_ent e = heap_pop(hp, &hn);
        size_t i = e.pos;
        if (sid[i] < 0 || nx[i] < 0 || ver[i] != e.vl) continue;   /* merged away or changed */
        size_t j = (size_t)nx[i];
        if (ver[j] != e.vr) continue;                                /* the right one changed */
        sid[i] = e.nid;
        ver[i]++;
        en[i] = en[j];
        sid[j] = -1;
        nx[i] = nx[j];
        if (nx[j] >= 0) pv[nx[j]] = (int32_t)i;
        if (pv[i] >= 0 && lookup_merge(b, sid[pv[i]], sid[i], &r, &nid))
            heap_push(hp, &hn, (heap_ent){r, (uint32_t)pv[i], ver[pv[i]], ver[i], nid});
        if (nx[i] >= 0 && lookup_merge(b, sid[i], sid[nx[i]], &r, &nid))
            heap_push(hp, &hn, (heap_ent){r, (uint32_t)i, ver[i], ver[nx[i]], nid});
    }
    for (int32_t i = 0; i >= 0; i = nx[i])
        if (lmt_bpe_push(out, count, cap, (lmt_bpe_tok){sid[i], st[i], en[i]})) { rc = -1; goto done; }
done:
    if (big) { free(sid); free(st); free(en); free(ver); free(pv); free(nx); free(hp); }
    return rc;
}

int lmt_bpe_encode(const lmt_bpe *b, lmt_bpe_cache *cache, const unsigned char *bytes, size_t n,
                   lmt_bpe_tok **out, size_t *count, size_t *cap) {
    if (n == 0) return 0;
    int hit = lmt_bpe_cache_get(cache, bytes, n, out, count, cap);
    if (hit) return hit < 0 ? -1 : 0;
    size_t first = *count;
    lmt_bpe_tok syms_s[64];
    lmt_bpe_tok *syms = n > 64 ? malloc(n * sizeof *syms) : syms_s;
    if (!syms) return -1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = b->byte_id[bytes[i]];
        if (id < 0) continue;   /* no such byte token and no unk: skipped, as tokenizers does */
        /* positions count only the symbols kept, as tokenizers' Word offsets */
        syms[m] = (lmt_bpe_tok){id, (uint32_t)m, (uint32_t)m + 1};
        m++;
    }
    int rc = lmt_bpe_merge(b, syms, m, out, count, cap);
    if (syms != syms_s) free(syms);
    /* a piece whose bytes all lack a token encodes to nothing, before any
     * output was allocated: no offset from a null pointer */
    if (rc == 0) lmt_bpe_cache_put(cache, bytes, n, *count > first ? *out + first : NULL, *count - first);
    return rc;
}
