/* Byte-level BPE model: vocabulary, merges by rank, and the merge loop
 * (lowest rank first, leftmost on ties - as HF tokenizers), with a cache
 * of already-encoded pieces. */
#ifndef LMT_TOK_BPE_H
#define LMT_TOK_BPE_H
#include <stddef.h>
#include <stdint.h>
#include "lmtune/lmtune.h"
#include "core/hashmap.h"
#include "tokenizers/bytelevel.h"

typedef struct lmt_bpe {
    lmt_strmap *vocab;        /* token string -> id */
    char **id_to_token;       /* NUL-terminated; NULL for unused ids */
    size_t n_ids;             /* max id + 1 */
    size_t ids_cap;
    uint64_t *mkey;           /* merges: (left id << 32 | right id) + 1, 0 = empty */
    uint32_t *mrank;
    int32_t *mnew;
    size_t mcap, n_merges;
    int32_t byte_id[256];     /* id of the one-character token of each byte, -1 if none */
    lmt_bytelevel bl;
    const char *merge_prefix;  /* continuing_subword_prefix: "a ##b" makes "ab" */
    size_t merge_prefix_len;
} lmt_bpe;

/* One encoded token of a piece: id and byte range within the piece. */
typedef struct lmt_bpe_tok { int32_t id; uint32_t start, end; } lmt_bpe_tok;

typedef struct lmt_bpe_cache lmt_bpe_cache;
lmt_bpe_cache *lmt_bpe_cache_new(void);
void lmt_bpe_cache_free(lmt_bpe_cache *c);
/* A slot for per-thread buffers that live as long as the cache, freed
 * with free_fn. */
void **lmt_bpe_cache_scratch(lmt_bpe_cache *c, void (*free_fn)(void *));

lmt_status lmt_bpe_init(lmt_bpe *b, size_t vocab_hint);
void lmt_bpe_free(lmt_bpe *b);
lmt_status lmt_bpe_add_token(lmt_bpe *b, const char *tok, size_t len, int32_t id, const char *source);
/* Adds the merge "left right" with the given rank. */
lmt_status lmt_bpe_add_merge(lmt_bpe *b, const char *left, size_t ll, const char *right, size_t rl, uint32_t rank, const char *source);
/* Call once after loading: resolves the byte tokens. */
void lmt_bpe_finish(lmt_bpe *b);
/* Encodes the raw bytes of one pre-token. Appends to *out (grown with
 * realloc; *cap tracks capacity). Returns 0, -1 on allocation failure. */
int lmt_bpe_encode(const lmt_bpe *b, lmt_bpe_cache *cache, const unsigned char *bytes, size_t n,
                   lmt_bpe_tok **out, size_t *count, size_t *cap);
/* Appends t to *out (grown with realloc). 0, or -1 on allocation failure. */
int lmt_bpe_push(lmt_bpe_tok **out, size_t *count, size_t *cap, lmt_bpe_tok t);
/* Runs the merge loop over m initial symbols; appends the result. */
int lmt_bpe_merge(const lmt_bpe *b, const lmt_bpe_tok *syms, size_t m, lmt_bpe_tok **out, size_t *count, size_t *cap);
/* Cache of encoded pieces: get appends a hit's tokens and returns 1 (0 on a
 * miss, -1 on allocation failure); put stores (short pieces only). */
int lmt_bpe_cache_get(lmt_bpe_cache *cache, const unsigned char *key, size_t n, lmt_bpe_tok **out, size_t *count, size_t *cap);
void lmt_bpe_cache_put(lmt_bpe_cache *cache, const unsigned char *key, size_t n, const lmt_bpe_tok *toks, size_t cnt);
#endif
