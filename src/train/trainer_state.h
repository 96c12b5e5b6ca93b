/* trainer_state.json: the Trainer's progress and log history, written in
 * each checkpoint exactly as transformers' TrainerState.save_to_json does
 * (json.dumps(asdict(state), indent=2, sort_keys=True) + "\n"), and read
 * back on resume. */
#ifndef LMT_TRAIN_TRAINER_STATE_H
#define LMT_TRAIN_TRAINER_STATE_H
#include <stdbool.h>
#include <stdint.h>
#include "lmtune/lmtune.h"
#include "core/json.h"

typedef struct lmt_trainer_state {
    double epoch;
    int64_t global_step, max_steps;
    int64_t logging_steps, eval_steps, save_steps;
    int64_t train_batch_size;
    int64_t num_train_epochs;
    int64_t num_input_tokens_seen;
    double total_flos;
    lmt_json *log_history;       /* array of objects, in order */
    bool has_best;
    double best_metric;
    int64_t best_global_step;
    char best_model_checkpoint[1024];
    bool should_training_stop;   /* TrainerControl flag saved with the last checkpoint */
} lmt_trainer_state;

lmt_status lmt_trainer_state_init(lmt_trainer_state *s);
void lmt_trainer_state_free(lmt_trainer_state *s);
/* Appends {key: value, ..., "epoch": e, "step": s} to log_history; keys and
 * values are parallel arrays of n metrics. */
lmt_status lmt_trainer_state_log(lmt_trainer_state *s, const char *const *keys, const double *values, size_t n);
char *lmt_trainer_state_to_json(const lmt_trainer_state *s);
lmt_status lmt_trainer_state_save(const lmt_trainer_state *s, const char *path);
lmt_status lmt_trainer_state_load(lmt_trainer_state *s, const char *path);
#endif
