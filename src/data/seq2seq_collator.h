/* transformers' DataCollatorForSeq2Seq with a model that has
 * prepare_decoder_input_ids_from_labels (MarianMTModel's
 * shift_tokens_right), as run_translation.py and the course build their
 * batches:
 *  - input_ids padded with the tokenizer's pad id and attention_mask (1 on
 *    real tokens, 0 on padding) to the longest row, rounded up to
 *    pad_to_multiple_of: (B, T);
 *  - labels padded with label_pad_token_id (-100) to the longest label row,
 *    rounded up the same way: (B, T_dec);
 *  - decoder_input_ids = labels shifted right by one, decoder_start_token_id
 *    first, every -100 replaced by the model's pad id: (B, T_dec).
 * Padding goes on the tokenizer's side (right for Marian; pad_left for a
 * tokenizer with padding_side="left"). */
#ifndef LMT_DATA_SEQ2SEQ_COLLATOR_H
#define LMT_DATA_SEQ2SEQ_COLLATOR_H
#include <stdbool.h>
#include <stdint.h>
#include "data/dataset.h"
#include "data/batch.h"

typedef struct lmt_seq2seq_collator_opts {
    int32_t pad_id;                  /* tokenizer.pad_token_id (inputs) */
    int32_t model_pad_id;            /* model.config.pad_token_id (decoder inputs) */
    int32_t decoder_start_token_id;  /* model.config.decoder_start_token_id */
    int32_t label_pad_token_id;      /* -100 */
    int pad_to_multiple_of;          /* 0 = none */
    bool pad_left;                   /* tokenizer.padding_side == "left" */
} lmt_seq2seq_collator_opts;
/* pad ids and decoder start must be set by the caller (they default to -1,
 * which init rejects); label pad -100, no multiple, right padding. */
lmt_seq2seq_collator_opts lmt_seq2seq_collator_opts_default(void);

/* Reads INTS columns "input_ids" and "labels" (both required; an optional
 * INTS "attention_mask" is used as given, as tokenizer.pad keeps it). The
 * dataset must outlive the collator. */
typedef struct lmt_seq2seq_collator {
    lmt_seq2seq_collator_opts o;
    const lmt_dataset *ds;
    const lmt_ds_column *input_ids, *attention_mask, *labels;
} lmt_seq2seq_collator;

lmt_status lmt_seq2seq_collator_init(lmt_seq2seq_collator *c, const lmt_dataset *ds,
                                     const lmt_seq2seq_collator_opts *o);
/* Collates rows idx[0..n) into *out (malloc'd arrays; release with
 * lmt_batch_free). Signature of lmt_train_data.collate. */
lmt_status lmt_seq2seq_collate(void *collator, const int64_t *idx, int n, lmt_batch *out);
lmt_train_data lmt_seq2seq_train_data(lmt_seq2seq_collator *c);
#endif
