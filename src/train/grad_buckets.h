/* The overlapped gradient all-reduce's buckets, as DDP builds them but by
 * layer: a layer's gradients are final once the backward pass has gone
 * through it (the stacks run last layer first), so its spans of the flat
 * gradient buffer go to the all-reduce thread (train/dist.h) then, adjacent
 * layers merged up to the bucket cap (ddp_bucket_cap_mb); what no layer owns
 * (embeddings, heads, final norms, LoRA's trained copies, alignment padding)
 * goes after the backward. The spans cover the buffer exactly once. */
#ifndef LMT_TRAIN_GRAD_BUCKETS_H
#define LMT_TRAIN_GRAD_BUCKETS_H
#include <stdbool.h>
#include <stddef.h>
#include "models/layout.h"

typedef struct lmt_grad_span { size_t off, n; int stack, layer; } lmt_grad_span;

typedef struct lmt_grad_buckets {
    lmt_grad_span *layer_spans;  /* runs of one layer's tensors, in buffer order */
    size_t n_layer;
    bool *sent;                  /* (n_layer) handed to the pending bucket this step */
    lmt_grad_span *rest;         /* the rest of the buffer, in buffer order */
    size_t n_rest;
    size_t cap;                  /* floats per bucket before it is sent */
    size_t pend_off, pend_n;     /* the bucket being filled (pend_n 0: none) */
    size_t pushed;               /* floats handed to the all-reduce this step */
    void (*push)(size_t off, size_t n);  /* lmt_dist_overlap_push (a test records them) */
} lmt_grad_buckets;

/* The stack (lmt_stack's id) whose backward finishes a tensor of slot_stack. */
int lmt_grad_buckets_stack(int slot_stack);
/* Spans of a layout's num_floats buffer; cap_mb: ddp_bucket_cap_mb. */
lmt_status lmt_grad_buckets_plan(const lmt_layout *l, double cap_mb, lmt_grad_buckets *out);
void lmt_grad_buckets_free(lmt_grad_buckets *b);
/* A step starts: nothing pending. */
void lmt_grad_buckets_reset(lmt_grad_buckets *b);
/* The layer's spans join the pending bucket (a full one is pushed);
 * usable as lmt_block_ctx's layer_backward_done (user: the buckets). */
void lmt_grad_buckets_layer_done(void *buckets, int stack, int layer);
/* After the backward: the pending bucket, then the layers' spans that no
 * layer_backward_done sent (a stack without a backward), then the rest. */
void lmt_grad_buckets_finish(lmt_grad_buckets *b);
#endif
