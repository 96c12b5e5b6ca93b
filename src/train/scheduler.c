/* The lr_lambda functions of transformers.optimization, in double precision
 * as Python computes them, so logged learning rates match to the bit. */
#include <math.h>
#include <string.h>
#include "core/error.h"
#include "train/scheduler.h"

static const char *const names[] = {"linear", "cosine", "cosine_with_restarts", "polynomial",
                                    "constant", "constant_with_warmup", "inverse_sqrt"};

lmt_status lmt_scheduler_kind_parse(const char *name, lmt_sched_kind *out) {
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i])) { *out = (lmt_sched_kind)i; return LMT_OK; }
    return lmt_fail(LMT_ERR_ARG, "lr_scheduler_type \"%s\" is not supported (linear, cosine, cosine_with_restarts, "
                                 "polynomial, constant, constant_with_warmup, inverse_sqrt)", name);
}

const char *lmt_scheduler_kind_name(lmt_sched_kind k) {
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

lmt_status lmt_scheduler_init(lmt_scheduler *s, lmt_sched_kind kind, double base_lr, int64_t warmup, int64_t total) {
    if (warmup < 0 || total < 0) return lmt_fail(LMT_ERR_ARG, "warmup_steps (%lld) and training steps (%lld) must be >= 0", (long long)warmup, (long long)total);
    if (!(base_lr >= 0) || !isfinite(base_lr)) return lmt_fail(LMT_ERR_ARG, "learning_rate must be a finite number >= 0");
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->base_lr = base_lr;
    s->warmup_steps = warmup;
    s->total_steps = total;
    s->num_cycles = kind == LMT_SCHED_COSINE_WITH_RESTARTS ? 1.0 : 0.5;
    s->lr_end = 1e-7;
    s->power = 1.0;
    s->timescale = warmup ? warmup : 10000;
    if (kind == LMT_SCHED_POLYNOMIAL && !(base_lr > s->lr_end))
        return lmt_fail(LMT_ERR_ARG, "polynomial schedule: lr_end (%g) must be smaller than the learning rate (%g)", s->lr_end, base_lr);
    return LMT_OK;
}

static double warm(int64_t step, int64_t warmup) { return (double)step / (double)(warmup > 1 ? warmup : 1); }

double lmt_scheduler_lr(const lmt_scheduler *s, int64_t step) {
    int64_t w = s->warmup_steps, n = s->total_steps;
    double f = 1.0;
    switch (s->kind) {
    case LMT_SCHED_LINEAR:
        if (step < w) f = warm(step, w);
        else f = fmax(0.0, (double)(n - step) / (double)(n - w > 1 ? n - w : 1));
        break;
    case LMT_SCHED_COSINE:
        if (step < w) f = warm(step, w);
        else {
            double progress = (double)(step - w) / (double)(n - w > 1 ? n - w : 1);
            f = fmax(0.0, 0.5 * (1.0 + cos(M_PI * s->num_cycles * 2.0 * progress)));
        }
        break;
    case LMT_SCHED_COSINE_WITH_RESTARTS:
        if (step < w) f = warm(step, w);
        else {
            double progress = (double)(step - w) / (double)(n - w > 1 ? n - w : 1);
            f = progress >= 1.0 ? 0.0 : fmax(0.0, 0.5 * (1.0 + cos(M_PI * fmod(s->num_cycles * progress, 1.0))));
        }
        break;
    case LMT_SCHED_POLYNOMIAL:
        if (step < w) f = warm(step, w);
        else if (step > n) f = s->lr_end / s->base_lr;
        else {
            double range = s->base_lr - s->lr_end;
            double pct = 1.0 - (double)(step - w) / (double)(n - w);
            f = (range * pow(pct, s->power) + s->lr_end) / s->base_lr;
        }
        break;
    case LMT_SCHED_CONSTANT: f = 1.0; break;
    case LMT_SCHED_CONSTANT_WITH_WARMUP: f = step < w ? warm(step, w) : 1.0; break;
    case LMT_SCHED_INVERSE_SQRT:
        if (step < w) f = warm(step, w);
        else f = 1.0 / sqrt((double)(step + s->timescale - w) / (double)s->timescale);
        break;
    }
    return s->base_lr * f;
}

int64_t lmt_warmup_steps(int64_t warmup_steps, double warmup_ratio, int64_t total_steps) {
    if (warmup_steps > 0) return warmup_steps;
    return (int64_t)ceil((double)total_steps * warmup_ratio);
}
