/* Sequence-to-sequence training for the Trainer: MarianMTModel behind
 * lmt_task_model. Labels are (B, T_dec) and not shifted (the decoder input
 * is the shifted sequence, from the collator or derived from the labels);
 * every label != -100 is one item (num_items_in_batch), as transformers
 * counts it. */
#ifndef LMT_TRAIN_TASK_SEQ2SEQ_H
#define LMT_TRAIN_TASK_SEQ2SEQ_H
#include "models/marian.h"
#include "train/trainer.h"

typedef struct lmt_seq2seq_task {
    lmt_task_model base;
    lmt_marian *mt;
} lmt_seq2seq_task;

/* Binds a Marian model for batches up to max_B x max_Tsrc source and
 * max_B x max_Ttgt target tokens. */
lmt_status lmt_seq2seq_task_create(lmt_model *m, int max_B, int max_Tsrc, int max_Ttgt, lmt_seq2seq_task **out);
void lmt_seq2seq_task_free(lmt_seq2seq_task *t);
#endif
