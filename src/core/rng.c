#include <math.h>
#include "core/rng.h"

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void lmt_rng_seed(lmt_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t lmt_rng_u64(lmt_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double lmt_rng_uniform(lmt_rng *r) { return (double)(lmt_rng_u64(r) >> 11) * 0x1.0p-53; }

uint64_t lmt_rng_below(lmt_rng *r, uint64_t n) {
    if (n == 0) return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;  /* rejection removes modulo bias */
    uint64_t x;
    do x = lmt_rng_u64(r); while (x >= limit);
    return x % n;
}

double lmt_rng_normal(lmt_rng *r) {
    double u1 = lmt_rng_uniform(r), u2 = lmt_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* torch's CPU generator (at::mt19937) and CPython's random share MT19937. */
void lmt_mt_seed(lmt_mt19937 *g, uint64_t seed) {
    g->mt[0] = (uint32_t)seed;
    for (int i = 1; i < 624; i++) g->mt[i] = 1812433253u * (g->mt[i - 1] ^ (g->mt[i - 1] >> 30)) + (uint32_t)i;
    g->mti = 624;
}

uint32_t lmt_mt_next(lmt_mt19937 *g) {
    if (g->mti >= 624) {
        for (int i = 0; i < 624; i++) {
            uint32_t y = (g->mt[i] & 0x80000000u) | (g->mt[(i + 1) % 624] & 0x7fffffffu);
            g->mt[i] = g->mt[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
        }
        g->mti = 0;
    }
    uint32_t y = g->mt[g->mti++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

float lmt_torch_uniform(lmt_mt19937 *g, float from, float to) {
    double x = (double)(lmt_mt_next(g) & 0xFFFFFFu) * (1.0 / 16777216.0);
    return (float)(x * ((double)to - (double)from) + (double)from);
}
