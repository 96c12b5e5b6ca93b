/* TrainingArguments' push_to_hub, as transformers' Trainer does it
 * (init_hf_repo, _push_from_checkpoint, push_to_hub, create_model_card):
 * the repo is created (exist_ok) before training; with hub_strategy
 * every_save each checkpoint's model files are pushed ("Training in
 * progress, step N" / "epoch N"); at the end output_dir is pushed with a
 * model card ("End of training"). Uploads are synchronous (transformers
 * runs the checkpoint pushes in the background). */
#ifndef LMT_TRAIN_HUB_PUSH_H
#define LMT_TRAIN_HUB_PUSH_H
#include <stddef.h>
#include "lmtune/lmtune.h"
#include "train/args.h"

/* create_repo(hub_model_id or output_dir's name, private=hub_private_repo,
 * exist_ok=True): repo gets "ORG/NAME" as the Hub answered. */
lmt_status lmt_push_init(const lmt_training_args *a, char *repo, size_t cap);
/* upload_folder(folder) to repo with the arguments' token; ignore: NULL-terminated globs. */
lmt_status lmt_push_folder(const lmt_training_args *a, const char *repo, const char *folder, const char *message,
                           const char *const *ignore, char **commit_oid);
/* A checkpoint's model files (not its optimizer, scheduler, RNG or trainer
 * state) to the repo's root: "Training in progress, step N" (save_strategy
 * steps) or "epoch N". */
lmt_status lmt_push_checkpoint(const lmt_training_args *a, const char *repo, const char *checkpoint, int64_t step, double epoch);
/* README.md in dir (a minimal model card), then dir without "_*" and
 * "checkpoint-*" with message (NULL: "End of training"). */
lmt_status lmt_push_output_dir(const lmt_training_args *a, const char *repo, const char *dir, const char *message);
#endif
