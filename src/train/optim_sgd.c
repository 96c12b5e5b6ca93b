/* torch.optim.SGD (single-tensor, as on a CPU): weight decay added to the
 * gradient, an optional momentum buffer (the first step copies the
 * gradient in), Nesterov's look-ahead, then p -= lr * d. */
#include "train/optimizer.h"

typedef struct { const float *g; float *p; float gs, lr, mom, damp; bool nesterov, first; } sgd_c;

static void sgd_span(const lmt_optimizer *o, const void *cv, size_t off, long n, float wd) {
    const sgd_c *c = cv;
    float *p = c->p + off, *buf = o->n_state ? o->state[0] + off : NULL;
    const float *g = c->g + off;
    for (long i = 0; i < n; i++) {
        float d = g[i] * c->gs;
        if (wd != 0.0f) d += wd * p[i];
        if (buf) {
            buf[i] = c->first ? d : buf[i] * c->mom + (1.0f - c->damp) * d;
            d = c->nesterov ? d + c->mom * buf[i] : buf[i];
        }
        p[i] += -c->lr * d;
    }
}

void lmt_sgd_step(lmt_optimizer *o, float *params, const float *grads, double lr, float grad_scale) {
    sgd_c c = {grads, params, grad_scale, (float)lr, (float)o->set.momentum, (float)o->set.dampening, o->set.nesterov,
               o->step == 1};
    lmt_optim_each_span(o, sgd_span, &c);
}
