/* The Trainer's optimizers behind one interface, as TrainingArguments.optim
 * names them and Trainer.get_optimizer_cls_and_kwargs configures them:
 *   adamw_torch, adamw_torch_fused   torch.optim.AdamW (train/adamw.c; fused
 *                                    is the same arithmetic on a CPU)
 *   adafactor                        transformers.optimization.Adafactor with
 *                                    scale_parameter=False, relative_step=False
 *                                    (the scheduler's lr), train/optim_adafactor.c
 *   sgd, adagrad, rmsprop            torch.optim.SGD / Adagrad / RMSprop with
 *                                    the optim_args keys the Trainer reads,
 *                                    train/optim_sgd.c, optim_adagrad.c, optim_rmsprop.c
 * Every optimizer sees the Trainer's two parameter groups: weight_decay for
 * the decayed tensors, 0 for biases and norms (LMT_PARAM_NO_DECAY); buffers
 * and static tensors are not trained. The state (moments, sums, buffers and
 * the step) goes to a checkpoint's optimizer.safetensors and back. */
#ifndef LMT_TRAIN_OPTIMIZER_H
#define LMT_TRAIN_OPTIMIZER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lmtune/lmtune.h"
#include "models/layout.h"
#include "train/adamw.h"
#include "train/args.h"

typedef enum {
    LMT_OPTIM_ADAMW_TORCH = 0, LMT_OPTIM_ADAMW_TORCH_FUSED, LMT_OPTIM_ADAFACTOR, LMT_OPTIM_SGD, LMT_OPTIM_ADAGRAD,
    LMT_OPTIM_RMSPROP
} lmt_optim_kind;

/* The settings besides the learning rate (the scheduler's, per step). */
typedef struct lmt_optim_settings {
    lmt_optim_kind kind;
    double weight_decay;                 /* of the decayed group (the other has 0) */
    double beta1, beta2, eps;            /* AdamW: adam_*; Adagrad (1e-10) / RMSprop (1e-8): optim_args eps */
    double momentum, dampening;          /* SGD, RMSprop (momentum) */
    bool nesterov;                       /* SGD */
    double lr_decay, initial_accumulator_value;   /* Adagrad */
    double alpha;                        /* RMSprop (0.99) */
    bool centered;                       /* RMSprop */
} lmt_optim_settings;

#define LMT_OPTIM_MAX_STATE 3
typedef struct lmt_optimizer {
    lmt_optim_settings set;
    const lmt_layout *layout;            /* not owned */
    size_t n;                            /* floats of the trained layout */
    int64_t step;                        /* steps taken */
    lmt_adamw adamw;                     /* the AdamW kinds' state */
    int n_state;                         /* the other kinds' state buffers, by name */
    float *state[LMT_OPTIM_MAX_STATE];
    size_t state_n[LMT_OPTIM_MAX_STATE];
    const char *state_name[LMT_OPTIM_MAX_STATE];
    size_t *offsets;                     /* Adafactor: each parameter's place in its state (row, col or full) */
    float *scratch;                      /* Adafactor: as large as its state (row factors), not saved */
    double *scratch_d;                   /* Adafactor: as large again, in double (column sums), not saved */
} lmt_optimizer;

/* The name as TrainingArguments spells it ("adamw_torch"). */
const char *lmt_optim_name(lmt_optim_kind k);
/* The profiler's row for its step ("optimizer/adamw" for both AdamW kinds). */
const char *lmt_optim_profile_name(lmt_optim_kind k);
/* args->optim and args->optim_args ("momentum=0.9,nesterov=True") into
 * settings, as the Trainer reads them for that optimizer. The other names of
 * OptimizerNames (bitsandbytes, GaLore, ...) and malformed or unknown
 * optim_args keys are refused with the reason. */
lmt_status lmt_optim_settings_from_args(const lmt_training_args *args, lmt_optim_settings *out);

lmt_status lmt_optimizer_init(lmt_optimizer *o, const lmt_optim_settings *set, const lmt_layout *layout);
void lmt_optimizer_free(lmt_optimizer *o);
/* One step at learning rate lr with every gradient multiplied by grad_scale
 * (clip_grad_norm_'s coefficient, or 1) first. */
void lmt_optimizer_step(lmt_optimizer *o, float *params, const float *grads, double lr, float grad_scale);
/* optimizer.safetensors of a checkpoint: the state buffers, "step", and the
 * optimizer's name in the metadata ("format": "lmtune-<optim>"). */
lmt_status lmt_optimizer_save(const lmt_optimizer *o, const char *path);
/* Reads what lmt_optimizer_save wrote; a file of another optimizer or
 * another model is refused. */
lmt_status lmt_optimizer_load(lmt_optimizer *o, const char *path);

/* The kinds' steps (o->step already counts this one). */
void lmt_sgd_step(lmt_optimizer *o, float *params, const float *grads, double lr, float grad_scale);
void lmt_adagrad_step(lmt_optimizer *o, float *params, const float *grads, double lr, float grad_scale);
void lmt_rmsprop_step(lmt_optimizer *o, float *params, const float *grads, double lr, float grad_scale);
void lmt_adafactor_step(lmt_optimizer *o, float *params, const float *grads, double lr, float grad_scale);
/* Adafactor's state layout: per parameter, rows + cols floats (2-D and up:
 * factored) or numel (1-D); fills o->offsets, returns the total. */
size_t lmt_adafactor_plan(lmt_optimizer *o);

/* Runs fn over every trained tensor, each split between the threads of one
 * parallel region: fn(o, c, offset, n, weight decay) for a share of n floats
 * at offset in the flat buffers (the element-wise optimizers). */
typedef void (*lmt_optim_span_fn)(const lmt_optimizer *o, const void *c, size_t off, long n, float decay);
void lmt_optim_each_span(const lmt_optimizer *o, lmt_optim_span_fn fn, const void *c);

/* Whether the tensor trains, and its weight decay under the Trainer's groups. */
bool lmt_optim_trained(const lmt_param_spec *p);
float lmt_optim_decay(const lmt_optimizer *o, const lmt_param_spec *p);
#endif
