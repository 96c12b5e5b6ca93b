#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "train/dist.h"
#include "train/grad_buckets.h"

/* The decoder's cross-attention tensors have their own slot stack but are
 * the decoder stack's layers' (its backward finishes them). */
int lmt_grad_buckets_stack(int slot_stack) { return slot_stack == LMT_STACK_CROSS ? LMT_STACK_DECODER : slot_stack; }

/* (offset, tensor) pairs, so that sorting needs no layout in a global:
 * two trainers may plan their buckets at once */
typedef struct { size_t offset, index; } by_offset_entry;
static int by_offset(const void *a, const void *b) {
    size_t x = ((const by_offset_entry *)a)->offset, y = ((const by_offset_entry *)b)->offset;
    return x < y ? -1 : x > y;
}

lmt_status lmt_grad_buckets_plan(const lmt_layout *l, double cap_mb, lmt_grad_buckets *out) {
    memset(out, 0, sizeof *out);
    size_t np = l->n_params;
    by_offset_entry *order = malloc((np ? np : 1) * sizeof *order);
    out->layer_spans = malloc((np ? np : 1) * sizeof *out->layer_spans);
    out->rest = malloc((np + 1) * sizeof *out->rest);
    out->sent = calloc(np ? np : 1, sizeof *out->sent);
    if (!order || !out->layer_spans || !out->rest || !out->sent) {
        free(order);
        lmt_grad_buckets_free(out);
        return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < np; i++) order[i] = (by_offset_entry){l->params[i].offset, i};
    qsort(order, np, sizeof *order, by_offset);
    /* runs: consecutive tensors (in buffer order) of one (stack, layer) */
    for (size_t i = 0; i < np; i++) {
        const lmt_param_spec *p = &l->params[order[i].index];
        if (p->slot.layer < 0 || p->numel == 0) continue;
        int st = lmt_grad_buckets_stack(p->slot.stack);
        lmt_grad_span *last = out->n_layer ? &out->layer_spans[out->n_layer - 1] : NULL;
        const lmt_param_spec *prev = i > 0 ? &l->params[order[i - 1].index] : NULL;
        bool joins = last && last->stack == st && last->layer == p->slot.layer && prev && prev->slot.layer == p->slot.layer &&
                     lmt_grad_buckets_stack(prev->slot.stack) == st && last->off + last->n <= p->offset;
        if (joins) last->n = p->offset + p->numel - last->off;
        else out->layer_spans[out->n_layer++] = (lmt_grad_span){p->offset, p->numel, st, p->slot.layer};
    }
    free(order);
    /* the rest: the gaps between the runs */
    size_t at = 0;
    for (size_t i = 0; i < out->n_layer; i++) {
        const lmt_grad_span *s = &out->layer_spans[i];
        if (s->off > at) out->rest[out->n_rest++] = (lmt_grad_span){at, s->off - at, -1, -1};
        at = s->off + s->n;
    }
    if (l->num_floats > at) out->rest[out->n_rest++] = (lmt_grad_span){at, l->num_floats - at, -1, -1};
    out->push = lmt_dist_overlap_push;
    out->cap = (size_t)(cap_mb * 1024 * 1024 / sizeof(float));
    if (out->cap == 0) out->cap = 1;
    return LMT_OK;
}

void lmt_grad_buckets_free(lmt_grad_buckets *b) {
    free(b->layer_spans);
    free(b->sent);
    free(b->rest);
    memset(b, 0, sizeof *b);
}

void lmt_grad_buckets_reset(lmt_grad_buckets *b) {
    b->pend_off = b->pend_n = b->pushed = 0;
    memset(b->sent, 0, b->n_layer * sizeof *b->sent);
}

static void push_pending(lmt_grad_buckets *b) {
    if (!b->pend_n) return;
    b->push(b->pend_off, b->pend_n);
    b->pushed += b->pend_n;
    b->pend_n = 0;
}

/* The backward meets the layers last first, and a layer's runs come last
 * first too: a run just below the pending bucket extends it. */
static void add(lmt_grad_buckets *b, const lmt_grad_span *s) {
    if (b->pend_n && s->off + s->n == b->pend_off) {
        b->pend_off = s->off;
        b->pend_n += s->n;
    } else {
        push_pending(b);
        b->pend_off = s->off;
        b->pend_n = s->n;
    }
    if (b->pend_n >= b->cap) push_pending(b);
}

void lmt_grad_buckets_layer_done(void *buckets, int stack, int layer) {
    lmt_grad_buckets *b = buckets;
    for (size_t i = b->n_layer; i-- > 0;)
        if (!b->sent[i] && b->layer_spans[i].stack == stack && b->layer_spans[i].layer == layer) {
            b->sent[i] = true;
            add(b, &b->layer_spans[i]);
        }
}

void lmt_grad_buckets_finish(lmt_grad_buckets *b) {
    push_pending(b);
    for (size_t i = b->n_layer; i-- > 0;)
        if (!b->sent[i]) {
            b->sent[i] = true;
            b->push(b->layer_spans[i].off, b->layer_spans[i].n);
            b->pushed += b->layer_spans[i].n;
        }
    for (size_t i = b->n_rest; i-- > 0;) {
        b->push(b->rest[i].off, b->rest[i].n);
        b->pushed += b->rest[i].n;
    }
}
