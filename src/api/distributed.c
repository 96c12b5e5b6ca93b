/* lmt_distributed_init / _finalize: the public face of train/dist.h. */
#include "lmtune/trainer.h"
#include "api/api.h"
#include "core/error.h"
#include "train/dist.h"

lmt_status lmt_distributed_init(int *rank, int *world_size) {
    LMT_TRY(lmt_dist_init());
    if (rank) *rank = lmt_dist_rank();
    if (world_size) *world_size = lmt_dist_world_size();
    return LMT_OK;
}

void lmt_distributed_finalize(void) { lmt_dist_finalize(); }
