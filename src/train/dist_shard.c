/* The sample shards of data-parallel training (see dist_shard.h). */
#include <math.h>
#include "train/dist_shard.h"

int64_t lmt_shard_num_batches(int64_t n, int64_t bs, int world) {
    int64_t batches = (n + bs - 1) / bs;
    return world > 1 ? (batches + world - 1) / world : batches;
}

int lmt_shard_batch(const int64_t *order, int64_t n, int64_t bs, int world, int rank, int64_t s, int64_t *idx) {
    if (s < 0 || s >= lmt_shard_num_batches(n, bs, world)) return 0;
    int64_t j = s * world + rank, at = j * bs;
    /* one process: the last batch is what is left; several: wrapped round */
    int64_t cnt = world > 1 ? bs : (n - at < bs ? n - at : bs);
    for (int64_t k = 0; k < cnt; k++) {
        int64_t p = (at + k) % n;
        idx[k] = order ? order[p] : p;
    }
    return (int)cnt;
}

int64_t lmt_shard_position(int64_t i, int64_t n, int64_t bs, int world, int rank) {
    int64_t pos = world > 1 ? (i / bs * world + rank) * bs + i % bs : i;
    return pos < n ? pos : -1;
}

double lmt_shard_eval_loss(const double *all, int64_t nb, int64_t n, int64_t bs, int world) {
    double total = 0;
    for (int64_t s = 0; s < nb; s++) {
        double items = 0;
        for (int r = 0; r < world; r++) items += all[((int64_t)r * nb + s) * 2 + 1];
        for (int r = 0; r < world; r++) {
            int64_t j = s * world + r, real = n - j * bs;
            if (real <= 0) continue;
            double loss = items > 0 ? world * all[((int64_t)r * nb + s) * 2] / items : NAN;
            total += loss * (double)(real < bs ? real : bs);
        }
    }
    return total / (double)n;
}
