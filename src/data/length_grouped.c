#include <stdlib.h>
#include "data/dataset.h"
#include "data/length_grouped.h"

void lmt_length_grouped_indices(const int64_t *lengths, int64_t n, int64_t batch_size, lmt_mt19937 *g, int64_t *order) {
    int64_t mult = n / (batch_size * 4);
    if (mult > 50) mult = 50;
    if (mult == 0) mult = 1;
    int64_t mb = mult * batch_size;
    lmt_torch_randperm(g, n, order);
    /* each megabatch sorted by length, longest first; sorted() is stable:
     * insertion sort keeps equal lengths in permutation order */
    int64_t best_mb = 0, best_len = -1;
    for (int64_t s = 0; s < n; s += mb) {
        int64_t e = s + mb < n ? s + mb : n;
        for (int64_t i = s + 1; i < e; i++) {
            int64_t v = order[i], j = i;
            while (j > s && lengths[order[j - 1]] < lengths[v]) { order[j] = order[j - 1]; j--; }
            order[j] = v;
        }
        if (lengths[order[s]] > best_len) { best_len = lengths[order[s]]; best_mb = s; }   /* argmax: the first maximum */
    }
    int64_t tmp = order[0];
    order[0] = order[best_mb];
    order[best_mb] = tmp;
}

void lmt_sampler_length_grouped(void *ctx, int64_t seed, int64_t epoch, int64_t n, int64_t *order) {
    const lmt_length_sampler *s = ctx;
    lmt_mt19937 g;
    lmt_mt_seed(&g, (uint64_t)seed);
    for (int64_t e = 0; e <= epoch; e++) lmt_length_grouped_indices(s->lengths, n, s->batch_size, &g, order);
}
