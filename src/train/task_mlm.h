/* Masked language modelling for the Trainer: the BERT / RoBERTa / DistilBERT
 * encoders behind lmt_task_model. Labels are not shifted: every label !=
 * -100 is one item (num_items_in_batch), as transformers counts it for MLM. */
#ifndef LMT_TRAIN_TASK_MLM_H
#define LMT_TRAIN_TASK_MLM_H
#include "models/encoder_mlm.h"
#include "train/trainer.h"

typedef struct lmt_mlm_task {
    lmt_task_model base;
    lmt_encoder_mlm *enc;
} lmt_mlm_task;

/* Binds a BERT, RoBERTa or DistilBERT model for batches up to max_B x max_T. */
lmt_status lmt_mlm_task_create(lmt_model *m, int max_B, int max_T, lmt_mlm_task **out);
void lmt_mlm_task_free(lmt_mlm_task *t);
#endif
