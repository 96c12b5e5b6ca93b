/* torch.optim.Adagrad (single-tensor): weight decay added to the gradient,
 * sum += g^2, p -= clr * g / (sqrt(sum) + eps) with
 * clr = lr / (1 + (step - 1) * lr_decay). */
#include <math.h>
#include "train/optimizer.h"

typedef struct { const float *g; float *p; float gs, clr, eps; } adagrad_c;

static void adagrad_span(const lmt_optimizer *o, const void *cv, size_t off, long n, float wd) {
    const adagrad_c *c = cv;
    float *p = c->p + off, *sum = o->state[0] + off;
    const float *g = c->g + off;
    for (long i = 0; i < n; i++) {
        float d = g[i] * c->gs;
        if (wd != 0.0f) d += wd * p[i];
        sum[i] += d * d;
        p[i] += -c->clr * (d / (sqrtf(sum[i]) + c->eps));
    }
}

void lmt_adagrad_step(lmt_optimizer *o, float *params, const float *grads, double lr, float grad_scale) {
    double clr = lr / (1.0 + (double)(o->step - 1) * o->set.lr_decay);
    adagrad_c c = {grads, params, grad_scale, (float)clr, (float)o->set.eps};
    lmt_optim_each_span(o, adagrad_span, &c);
}
