/* The TrainingArguments of issue 18 item 1 beyond the optimizer
 * (train/optimizer.h): their defaults and checks (called from
 * train/args.c), and what the Trainer does with them - label smoothing,
 * the sampler (data_seed, train_sampling_strategy), tokens seen and
 * tokens per second, log_level. docs/TRAINER.md lists each with its test. */
#ifndef LMT_TRAIN_TRAINER_FEATURES_H
#define LMT_TRAIN_TRAINER_FEATURES_H
#include <stdbool.h>
#include <stdint.h>
#include "lmtune/lmtune.h"
#include "core/rng.h"
#include "core/util.h"
#include "data/batch.h"
#include "train/args.h"

void lmt_training_args_features_default(lmt_training_args *a);
/* As TrainingArguments.__post_init__ and the Trainer check them: optim and
 * optim_args, label_smoothing_factor in [0, 1), the sampling strategy (with
 * group_by_length folded in), eval_accumulation_steps >= 0,
 * include_num_input_tokens_seen (booleans and include_tokens_per_second
 * folded in), log levels. */
lmt_status lmt_training_args_features_validate(lmt_training_args *a);

/* The seed of the training sampler: data_seed, else seed. */
int64_t lmt_sampler_seed(const lmt_training_args *a);
/* The input tokens of a batch _track_num_input_tokens counts: "all"
 * input_ids.numel(), "non_padding" attention_mask.sum(); 0 for "no". */
int64_t lmt_batch_input_tokens(const lmt_training_args *a, const lmt_batch *b);
/* rng_state.json's record of torch's global generator under group_by_length:
 * "torch_mt19937" (now) and "torch_mt19937_epoch" (at the epoch's start),
 * each the 624 words and the index, appended to b as `, "key": [...]`. */
void lmt_rng_state_append(lmt_strbuf *b, const lmt_mt19937 *now, const lmt_mt19937 *epoch);
/* Reads them back from a checkpoint's rng_state.json (path). */
lmt_status lmt_rng_state_read(const char *path, lmt_mt19937 *now, lmt_mt19937 *epoch);
/* log_level's threshold for lmt_log_threshold, or -1 for "passive". */
int lmt_log_level_threshold(const char *level);
#endif
