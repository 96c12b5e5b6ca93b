/* CPython's random module on the shared MT19937: random.seed(int) (init_by_array
 * over the absolute value's 32-bit words, least significant first) and
 * randint via _randbelow_with_getrandbits. */
#include "data/dataset.h"

static void init_genrand(lmt_mt19937 *g, uint32_t s) { lmt_mt_seed(g, s); }

void lmt_py_random_seed(lmt_mt19937 *g, uint64_t seed) {
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    size_t klen = seed >> 32 ? 2 : 1;
    init_genrand(g, 19650218u);
    uint32_t *mt = g->mt;
    size_t i = 1, j = 0;
    for (size_t k = 624 > klen ? 624 : klen; k; k--) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525u)) + key[j] + (uint32_t)j;
        i++;
        j++;
        if (i >= 624) { mt[0] = mt[623]; i = 1; }
        if (j >= klen) j = 0;
    }
    for (size_t k = 623; k; k--) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941u)) - (uint32_t)i;
        i++;
        if (i >= 624) { mt[0] = mt[623]; i = 1; }
    }
    mt[0] = 0x80000000u;
    g->mti = 624;
}

/* random.getrandbits(k), 1 <= k <= 64: 32-bit words least significant first. */
static uint64_t getrandbits(lmt_mt19937 *g, int k) {
    if (k <= 32) return lmt_mt_next(g) >> (32 - k);
    uint64_t lo = lmt_mt_next(g);
    uint64_t hi = lmt_mt_next(g) >> (64 - k);
    return lo | (hi << 32);
}

int64_t lmt_py_randint(lmt_mt19937 *g, int64_t a, int64_t b) {
    uint64_t n = (uint64_t)(b - a) + 1;
    int k = 0;
    while (k < 64 && (n >> k)) k++;   /* n.bit_length() */
    uint64_t r = getrandbits(g, k);
    while (r >= n) r = getrandbits(g, k);
    return a + (int64_t)r;
}
