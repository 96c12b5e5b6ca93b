/* numpy's default generator, bit for bit: SeedSequence (numpy/random/
 * bit_generator.pyx: hashmix/mix over a 4-word pool, generate_state),
 * PCG64 (pcg64.h: 128-bit LCG, XSL-RR output, 32-bit draws buffered from
 * halves of a 64-bit draw), random_interval (distributions.c) and
 * Generator.shuffle's Fisher-Yates (_shuffle_raw: i from n-1 down to 1,
 * j = random_interval(i)). */
#include "data/dataset.h"

#define INIT_A 0x43b0d7e5u
#define MULT_A 0x931e8875u
#define INIT_B 0x8b51f9ddu
#define MULT_B 0x58f38dedu
#define MIX_MULT_L 0xca01f9ddu
#define MIX_MULT_R 0x4973f715u
#define XSHIFT 16

static uint32_t hashmix(uint32_t value, uint32_t *hash_const) {
    value ^= *hash_const;
    *hash_const *= MULT_A;
    value *= *hash_const;
    value ^= value >> XSHIFT;
    return value;
}

static uint32_t mix(uint32_t x, uint32_t y) {
    uint32_t r = MIX_MULT_L * x - MIX_MULT_R * y;
    return r ^ (r >> XSHIFT);
}

void lmt_np_seed_sequence(const uint32_t *entropy, size_t n, uint32_t pool[4]) {
    uint32_t hc = INIT_A;
    for (size_t i = 0; i < 4; i++) pool[i] = hashmix(i < n ? entropy[i] : 0, &hc);
    for (size_t src = 0; src < 4; src++)
        for (size_t dst = 0; dst < 4; dst++)
            if (src != dst) pool[dst] = mix(pool[dst], hashmix(pool[src], &hc));
    for (size_t src = 4; src < n; src++)
        for (size_t dst = 0; dst < 4; dst++) pool[dst] = mix(pool[dst], hashmix(entropy[src], &hc));
}

void lmt_np_generate_state(const uint32_t pool[4], uint32_t *out, size_t n_words) {
    uint32_t hc = INIT_B;
    for (size_t i = 0; i < n_words; i++) {
        uint32_t v = pool[i % 4];
        v ^= hc;
        hc *= MULT_B;
        v *= hc;
        v ^= v >> XSHIFT;
        out[i] = v;
    }
}

#define PCG_MULT (((unsigned __int128)0x2360ed051fc65da4ULL << 64) | 0x4385df649fccf645ULL)

static void pcg_step(lmt_np_rng *g) { g->state = g->state * PCG_MULT + g->inc; }

void lmt_np_rng_seed_words(lmt_np_rng *g, const uint32_t *entropy, size_t n) {
    uint32_t pool[4], w[8];
    /* an int seed of 0 is the one word [0] (numpy's _int_to_uint32_array) */
    static const uint32_t zero = 0;
    if (n == 0) { entropy = &zero; n = 1; }
    lmt_np_seed_sequence(entropy, n, pool);
    lmt_np_generate_state(pool, w, 8);
    /* generate_state(4, uint64): little-endian pairs of 32-bit words */
    uint64_t v[4];
    for (int i = 0; i < 4; i++) v[i] = (uint64_t)w[2 * i] | ((uint64_t)w[2 * i + 1] << 32);
    unsigned __int128 seed = ((unsigned __int128)v[0] << 64) | v[1];
    unsigned __int128 inc = ((unsigned __int128)v[2] << 64) | v[3];
    /* pcg_setseq_128_srandom_r */
    g->state = 0;
    g->inc = (inc << 1) | 1u;
    pcg_step(g);
    g->state += seed;
    pcg_step(g);
    g->has_uint32 = 0;
    g->uinteger = 0;
}

void lmt_np_rng_seed(lmt_np_rng *g, uint64_t seed) {
    uint32_t w[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    lmt_np_rng_seed_words(g, w, seed >> 32 ? 2 : 1);
}

uint64_t lmt_np_next_u64(lmt_np_rng *g) {
    pcg_step(g);
    uint64_t hi = (uint64_t)(g->state >> 64), lo = (uint64_t)g->state;
    unsigned rot = (unsigned)(g->state >> 122);
    uint64_t x = hi ^ lo;
    return (x >> rot) | (x << ((64 - rot) & 63));
}

uint32_t lmt_np_next_u32(lmt_np_rng *g) {
    if (g->has_uint32) {
        g->has_uint32 = 0;
        return g->uinteger;
    }
    uint64_t next = lmt_np_next_u64(g);
    g->has_uint32 = 1;
    g->uinteger = (uint32_t)(next >> 32);
    return (uint32_t)next;
}

uint64_t lmt_np_random_interval(lmt_np_rng *g, uint64_t max) {
    if (max == 0) return 0;
    uint64_t mask = max, value;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    if (max <= 0xffffffffULL) {
        while ((value = (lmt_np_next_u32(g) & mask)) > max) {}
    } else {
        while ((value = (lmt_np_next_u64(g) & mask)) > max) {}
    }
    return value;
}

void lmt_np_permutation(lmt_np_rng *g, int64_t n, int64_t *out) {
    for (int64_t i = 0; i < n; i++) out[i] = i;
    for (int64_t i = n - 1; i >= 1; i--) {
        int64_t j = (int64_t)lmt_np_random_interval(g, (uint64_t)i);
        int64_t t = out[i];
        out[i] = out[j];
        out[j] = t;
    }
}
