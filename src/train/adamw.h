/* AdamW with torch.optim.AdamW's arithmetic (decoupled weight decay applied
 * first, bias correction by the step count, eps added to sqrt(v_hat)), over
 * the flat parameter buffer; plus global gradient-norm clipping as
 * torch.nn.utils.clip_grad_norm_. Biases and LayerNorm weights
 * (LMT_PARAM_NO_DECAY) get no weight decay, as the HF Trainer groups them;
 * buffers and static tensors are not trained. */
#ifndef LMT_TRAIN_ADAMW_H
#define LMT_TRAIN_ADAMW_H
#include <stddef.h>
#include <stdint.h>
#include "lmtune/lmtune.h"
#include "models/layout.h"

typedef struct lmt_adamw {
    double beta1, beta2, eps, weight_decay;
    int64_t step;              /* steps taken */
    size_t n;                  /* floats in the flat buffer */
    float *m, *v;              /* exp_avg, exp_avg_sq: same layout as the parameters */
    const lmt_layout *layout;  /* not owned */
} lmt_adamw;

lmt_status lmt_adamw_init(lmt_adamw *opt, const lmt_layout *layout, double beta1, double beta2, double eps,
                          double weight_decay);
void lmt_adamw_free(lmt_adamw *opt);
/* One step at learning rate lr (the scheduler's value for this step). */
void lmt_adamw_step(lmt_adamw *opt, float *params, const float *grads, double lr);
/* The same with every gradient multiplied by grad_scale first (in fp32, as
 * clip_grad_norm_ would have scaled it in place): clipping costs no pass of
 * its own over the gradients. */
void lmt_adamw_step_scaled(lmt_adamw *opt, float *params, const float *grads, double lr, float grad_scale);

/* Total L2 norm of all trained gradients; when it exceeds max_norm, scales
 * them by max_norm / (norm + 1e-6). Returns the norm before clipping.
 * max_norm <= 0 only measures. */
double lmt_clip_grad_norm(float *grads, const lmt_layout *layout, double max_norm);
/* Its two halves: the norm alone, and torch's clip coefficient for it
 * (min(1, max_norm / (norm + 1e-6)); 1 when max_norm <= 0). */
double lmt_grad_norm(const float *grads, const lmt_layout *layout);
float lmt_clip_coef(double norm, double max_norm);
#endif
