/* String -> int64 hash map (open addressing, FNV-1a). Keys are copied into
 * an internal arena and may contain NUL bytes (explicit length). */
#ifndef LMT_CORE_HASHMAP_H
#define LMT_CORE_HASHMAP_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "lmtune/lmtune.h"

typedef struct lmt_strmap lmt_strmap;
lmt_strmap *lmt_strmap_new(size_t expected);
void lmt_strmap_free(lmt_strmap *m);
/* Inserts or overwrites. Returns LMT_ERR_NOMEM on allocation failure. */
lmt_status lmt_strmap_put(lmt_strmap *m, const char *key, size_t len, int64_t value);
/* Returns true and sets *value if present. */
bool lmt_strmap_get(const lmt_strmap *m, const char *key, size_t len, int64_t *value);
size_t lmt_strmap_size(const lmt_strmap *m);
uint64_t lmt_hash_bytes(const void *p, size_t n);
#endif
