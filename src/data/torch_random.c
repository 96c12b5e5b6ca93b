/* torch's CPU generator: at::mt19937 seeded by manual_seed (init_genrand
 * with the seed's low 32 bits) and randperm_cpu (aten/src/ATen/native/
 * TensorFactories.cpp): for n < 2^32 / 20, swap i with i + random() % (n - i)
 * for i = 0 .. n-2; above that, an inside-out Fisher-Yates on random64(). */
#include "data/dataset.h"

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
