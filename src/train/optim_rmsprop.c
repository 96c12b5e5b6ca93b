/* torch.optim.RMSprop (single-tensor): weight decay added to the gradient,
 * square_avg = alpha * square_avg + (1 - alpha) g^2; centered: grad_avg
 * lerps toward g and its square comes off; avg = sqrt(.) + eps; with
 * momentum buf = momentum * buf + g / avg and p -= lr * buf, else
 * p -= lr * g / avg. */
#include <math.h>
#include "train/optimizer.h"

typedef struct { const float *g; float *p; float gs, lr, alpha, eps, mom; int buf, gavg; } rmsprop_c;

static void rmsprop_span(const lmt_optimizer *o, const void *cv, size_t off, long n, float wd) {
    const rmsprop_c *c = cv;
    float *p = c->p + off, *sq = o->state[0] + off;
    float *buf = c->buf >= 0 ? o->state[c->buf] + off : NULL, *ga = c->gavg >= 0 ? o->state[c->gavg] + off : NULL;
    const float *g = c->g + off;
    const float w = 1.0f - c->alpha;
    for (long i = 0; i < n; i++) {
        float d = g[i] * c->gs;
        if (wd != 0.0f) d += wd * p[i];
        sq[i] = sq[i] * c->alpha + w * (d * d);
        float avg;
        if (ga) {
            /* lerp_(grad, 1 - alpha), torch's two-sided formula */
            ga[i] = w < 0.5f ? ga[i] + w * (d - ga[i]) : d - (d - ga[i]) * (1.0f - w);
            avg = sqrtf(sq[i] + -1.0f * (ga[i] * ga[i]));
        } else {
            avg = sqrtf(sq[i]);
        }
        avg += c->eps;
        if (buf) {
            buf[i] = buf[i] * c->mom + d / avg;
            p[i] += -c->lr * buf[i];
        } else {
            p[i] += -c->lr * (d / avg);
        }
    }
}

void lmt_rmsprop_step(lmt_optimizer *o, float *params, const float *grads, double lr, float grad_scale) {
    rmsprop_c c = {grads, params, grad_scale, (float)lr, (float)o->set.alpha, (float)o->set.eps, (float)o->set.momentum,
                   -1, -1};
    for (int i = 0; i < o->n_state; i++) {   /* the buffers init made, by name */
        if (o->state_name[i][0] == 'm') c.buf = i;
        if (o->state_name[i][0] == 'g') c.gavg = i;
    }
    lmt_optim_each_span(o, rmsprop_span, &c);
}
