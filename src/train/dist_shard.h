/* Which examples each rank sees, as the HF Trainer shards its data loaders
 * under torchrun: accelerate's BatchSamplerShard (split_batches=False,
 * even_batches=True) over the batches of the epoch's order. Global batch j
 * holds positions j*bs .. j*bs+bs-1 of the order, wrapping round to its
 * start (the padding that makes every rank's batches full and equal in
 * number); rank r takes the batches j = s*world + r, s = 0, 1, ...
 * A world of one is the plain DataLoader: the last batch may be short. */
#ifndef LMT_TRAIN_DIST_SHARD_H
#define LMT_TRAIN_DIST_SHARD_H
#include <stdint.h>

/* Batches per rank in an epoch of n examples (len(train_dataloader)). */
int64_t lmt_shard_num_batches(int64_t n, int64_t bs, int world);
/* Rank rank's batch s: its examples (order[...], or positions themselves
 * when order is NULL) in idx[0..bs); returns how many (0 past the end). */
int lmt_shard_batch(const int64_t *order, int64_t n, int64_t bs, int world, int rank, int64_t s, int64_t *idx);
/* The example position of rank's shard row i (its batch s = i / bs, row
 * i % bs), or -1 when the row is a wrapped-round duplicate (position n or
 * beyond), which gather_for_metrics drops. With order NULL (the evaluation
 * set's own order) the position is the example's index. */
int64_t lmt_shard_position(int64_t i, int64_t n, int64_t bs, int world, int rank);
/* eval_loss as evaluation_loop computes it after gather_for_metrics: each
 * batch's loss counted once per example it holds, the padding dropped. A
 * batch's loss is prediction_step's: its loss sum over num_items_in_batch,
 * which average_tokens_across_devices sums over the ranks' batches of the
 * same step, times world (the plain mean in a world of one).
 * all[(r * nb + s) * 2 + {0, 1}]: rank r's batch s loss sum and item count
 * (lmt_dist_allgather_f64). */
double lmt_shard_eval_loss(const double *all, int64_t nb, int64_t n, int64_t bs, int world);
#endif
