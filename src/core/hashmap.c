/* Open-addressing string map; keys live in one growable arena so a 50k-entry
 * vocabulary costs two allocations, not 50k. */
#include <stdlib.h>
#include <string.h>
#include "core/hashmap.h"

typedef struct { size_t key_off; uint32_t key_len; uint32_t used; uint64_t hash; int64_t value; } slot;

struct lmt_strmap {
    slot *slots;
    size_t cap, size;       /* cap is a power of two */
    char *arena;
    size_t arena_len, arena_cap;
};

uint64_t lmt_hash_bytes(const void *p, size_t n) {
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) { h ^= s[i]; h *= 1099511628211ULL; }
    return h ^ (h >> 29);
}

lmt_strmap *lmt_strmap_new(size_t expected) {
    lmt_strmap *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    size_t cap = 16;
    while (cap < expected * 2) cap <<= 1;
    m->slots = calloc(cap, sizeof(slot));
    if (!m->slots) { free(m); return NULL; }
    m->cap = cap;
    return m;
}

void lmt_strmap_free(lmt_strmap *m) {
    if (!m) return;
    free(m->slots);
    free(m->arena);
    free(m);
}

static size_t find_slot(const lmt_strmap *m, const char *key, size_t len, uint64_t h) {
    size_t mask = m->cap - 1, i = h & mask;
    for (;;) {
        const slot *s = &m->slots[i];
        if (!s->used) return i;
        if (s->hash == h && s->key_len == len && memcmp(m->arena + s->key_off, key, len) == 0) return i;
        i = (i + 1) & mask;
    }
}

static lmt_status grow(lmt_strmap *m) {
    size_t ncap = m->cap * 2;
    slot *ns = calloc(ncap, sizeof(slot));
    if (!ns) return LMT_ERR_NOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].used) continue;
        size_t j = m->slots[i].hash & (ncap - 1);
        while (ns[j].used) j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return LMT_OK;
}

lmt_status lmt_strmap_put(lmt_strmap *m, const char *key, size_t len, int64_t value) {
    if (len > UINT32_MAX) return LMT_ERR_ARG;
    if ((m->size + 1) * 2 > m->cap && grow(m) != LMT_OK) return LMT_ERR_NOMEM;
    uint64_t h = lmt_hash_bytes(key, len);
    size_t i = find_slot(m, key, len, h);
    slot *s = &m->slots[i];
    if (s->used) { s->value = value; return LMT_OK; }
    if (m->arena_len + len + 1 > m->arena_cap) {
        size_t ncap = m->arena_cap ? m->arena_cap * 2 : 4096;
        while (ncap < m->arena_len + len + 1) ncap *= 2;
        char *na = realloc(m->arena, ncap);
        if (!na) return LMT_ERR_NOMEM;
        m->arena = na;
        m->arena_cap = ncap;
    }
    if (len) memcpy(m->arena + m->arena_len, key, len);
    m->arena[m->arena_len + len] = '\0';
    s->key_off = m->arena_len;
    s->key_len = (uint32_t)len;
    s->hash = h;
    s->used = 1;
    s->value = value;
    m->arena_len += len + 1;
    m->size++;
    return LMT_OK;
}

bool lmt_strmap_get(const lmt_strmap *m, const char *key, size_t len, int64_t *value) {
    if (!m || len > UINT32_MAX) return false;
    uint64_t h = lmt_hash_bytes(key, len);
    const slot *s = &m->slots[find_slot(m, key, len, h)];
    if (!s->used) return false;
    if (value) *value = s->value;
    return true;
}

size_t lmt_strmap_size(const lmt_strmap *m) { return m ? m->size : 0; }
