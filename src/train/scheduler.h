/* Learning-rate schedules of transformers' get_scheduler(): the multiplier
 * of the base learning rate after `step` optimizer steps. */
#ifndef LMT_TRAIN_SCHEDULER_H
#define LMT_TRAIN_SCHEDULER_H
#include <stdint.h>
#include "lmtune/lmtune.h"

typedef enum lmt_sched_kind {
    LMT_SCHED_LINEAR = 0, LMT_SCHED_COSINE, LMT_SCHED_COSINE_WITH_RESTARTS, LMT_SCHED_POLYNOMIAL,
    LMT_SCHED_CONSTANT, LMT_SCHED_CONSTANT_WITH_WARMUP, LMT_SCHED_INVERSE_SQRT
} lmt_sched_kind;

typedef struct lmt_scheduler {
    lmt_sched_kind kind;
    double base_lr;
    int64_t warmup_steps, total_steps;
    double num_cycles;      /* cosine: 0.5; cosine_with_restarts: 1 */
    double lr_end, power;   /* polynomial: 1e-7, 1.0 */
    int64_t timescale;      /* inverse_sqrt: warmup_steps or 10000 */
} lmt_scheduler;

/* Parses an lr_scheduler_type name ("linear", "cosine", ...). */
lmt_status lmt_scheduler_kind_parse(const char *name, lmt_sched_kind *out);
const char *lmt_scheduler_kind_name(lmt_sched_kind k);
/* Fills the HF defaults for the kind. */
lmt_status lmt_scheduler_init(lmt_scheduler *s, lmt_sched_kind kind, double base_lr, int64_t warmup_steps, int64_t total_steps);
/* Learning rate in effect after `step` optimizer steps (LambdaLR: base * lambda(step)). */
double lmt_scheduler_lr(const lmt_scheduler *s, int64_t step);
/* TrainingArguments.get_warmup_steps: warmup_steps if > 0, else ceil(total * ratio). */
int64_t lmt_warmup_steps(int64_t warmup_steps, double warmup_ratio, int64_t total_steps);
#endif
