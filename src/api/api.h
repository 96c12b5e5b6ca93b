/* What the public API's files share: the structs behind the opaque handles
 * of lmtune/data.h (the trainer wrapper reads a collator's Trainer data and
 * the longest batch it can produce to size the task). */
#ifndef LMT_API_API_H
#define LMT_API_API_H
#include "lmtune/data.h"
#include "data/batch.h"
#include "data/dataset.h"
#include "data/mlm_collator.h"
#include "data/seq2seq_collator.h"
#include "train/task_clm.h"

struct lmt_data {
    lmt_dataset ds;
};

typedef enum { LMT_COLLATE_CLM, LMT_COLLATE_MLM, LMT_COLLATE_SEQ2SEQ } lmt_collate_kind;

struct lmt_collator {
    lmt_collate_kind kind;
    lmt_train_data data;        /* what the Trainer reads */
    int max_T, max_T_dec;       /* the longest batch it can produce (decoder side: seq2seq) */
    lmt_block_data blocks;      /* CLM: over block_ids */
    int32_t *block_ids;
    lmt_mlm_collator mlm;
    lmt_seq2seq_collator s2s;
    lmt_dataset owned;          /* a masked copy the collator reads (lmt_collator_create_mlm_fixed) */
};
#endif
