/* torch's CPU generator: at::mt19937 seeded by manual_seed (init_genrand
 * with the seed's low 32 bits) and randperm_cpu (aten/src/ATen/native/
 * TensorFactories.cpp): for n < 2^32 / 20, swap i with i + random() % (n - i)
 * for i = 0 .. n-2; above that, an inside-out Fisher-Yates on random64(). */
#include "data/dataset.h"

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

void lmt_torch_randperm(lmt_mt19937 *g, int64_t n, int64_t *out) {
    if (n < (int64_t)(UINT32_MAX / 20)) {
        for (int64_t i = 0; i < n; i++) out[i] = i;
        for (int64_t i = 0; i < n - 1; i++) {
            int64_t z = (int64_t)(lmt_mt_next(g) % (uint64_t)(n - i));
            int64_t t = out[i];
            out[i] = out[z + i];
            out[z + i] = t;
        }
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        uint64_t hi = lmt_mt_next(g), lo = lmt_mt_next(g);  /* random64(): first draw is the high half */
        int64_t z = (int64_t)(((hi << 32) | lo) % (uint64_t)(i + 1));
        out[i] = out[z];
        out[z] = i;
    }
}

void lmt_sampler_torch(void *ctx, int64_t seed, int64_t epoch, int64_t n, int64_t *order) {
    (void)ctx;
    lmt_mt19937 g;
    lmt_mt_seed(&g, (uint64_t)(seed + epoch));
    lmt_torch_randperm(&g, n, order);
}
