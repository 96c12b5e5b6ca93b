/* The element-wise passes of an optimizer step: train/adamw.c walks the
 * parameter layout and hands these one tensor (or one thread's share of
 * one) at a time, so they run at the instruction-set level of the other
 * kernels (kernels/variant.h). */
#ifndef LMT_KERNELS_OPTIMIZER_H
#define LMT_KERNELS_OPTIMIZER_H

/* One AdamW step's scalars, in fp32 as torch applies them. */
typedef struct lmt_adamw_coefs {
    float w1;          /* 1 - beta1 */
    float b2, w2;      /* beta2, 1 - beta2 */
    float bc2_sqrt;    /* sqrt(1 - beta2^step) */
    float eps;
    float step_size;   /* lr / (1 - beta1^step) */
    float decay;       /* 1 - lr * weight_decay, or 1 */
    float grad_scale;  /* clip_grad_norm_'s coefficient, or 1 */
} lmt_adamw_coefs;

/* p, m, v (n) one AdamW step further from the gradient g (n), element by
 * element (torch.optim.AdamW's single-tensor arithmetic); on the calling
 * thread. */
void lmt_adamw_update(float *p, float *m, float *v, const float *g, long n, const lmt_adamw_coefs *c);
/* sum of x[i]^2 (n), in double; on the calling thread. */
double lmt_sum_squares(const float *x, long n);
/* x (n) *= s, threads for large n. */
void lmt_scale_floats(float *x, long n, float s);
#endif
