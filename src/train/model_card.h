/* The model card README.md that run_clm.py / run_mlm.py / run_translation.py
 * leave in output_dir (Trainer.create_model_card: transformers' modelcard.py
 * TrainingSummary.from_trainer + to_model_card): YAML metadata, the final
 * evaluation, the hyperparameters, the table of evaluations during training
 * (parse_log_history, make_markdown_table) and the framework versions. */
#ifndef LMT_TRAIN_MODEL_CARD_H
#define LMT_TRAIN_MODEL_CARD_H
#include "lmtune/lmtune.h"
#include "core/json.h"
#include "train/args.h"

typedef struct lmt_model_card {
    const char *model_name;       /* NULL: output_dir's last component (Path(output_dir).name) */
    const char *finetuned_from;   /* model_name_or_path; NULL: "trained from scratch" (a config) */
    const char *task;             /* run_*.py's tasks: "text-generation", "fill-mask", "translation" */
    const char *optim;            /* TrainingArguments.optim; NULL: "adamw_torch_fused" (the default) */
} lmt_model_card;

/* The card's text from the arguments and the log history (trainer_state's
 * log_history array). NULL when out of memory. Caller frees. */
char *lmt_model_card_text(const lmt_model_card *c, const lmt_training_args *a, const lmt_json *log_history);
/* Writes dir/README.md. */
lmt_status lmt_model_card_write(const char *dir, const lmt_model_card *c, const lmt_training_args *a, const lmt_json *log_history);
#endif
