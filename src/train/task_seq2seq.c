#include <stdlib.h>
#include "core/error.h"
#include "train/task_seq2seq.h"

static lmt_status s2s_forward(void *self, const lmt_batch *b, bool training, uint64_t seed, double *loss_sum,
                              int64_t *n_items) {
    lmt_seq2seq_task *t = self;
    if (!b->labels || b->T_dec <= 0)
        return lmt_fail(LMT_ERR_ARG, "seq2seq batch without labels (B x T_dec = %d x %d)", b->B, b->T_dec);
    if (training) lmt_marian_set_seed(t->mt, seed);
    LMT_TRY(lmt_marian_forward(t->mt, LMT_I32, b->input_ids, b->attention_mask, b->decoder_input_ids, b->labels, b->B,
                               b->T, b->T_dec, training));
    *n_items = t->mt->net.n_targets;
    *loss_sum = t->mt->net.n_targets > 0 ? (double)t->mt->net.loss * (double)t->mt->net.n_targets : 0.0;
    return LMT_OK;
}

static lmt_status s2s_backward(void *self, float scale) {
    return lmt_marian_backward_scaled(((lmt_seq2seq_task *)self)->mt, scale);
}

static void s2s_zero_grad(void *self) { lmt_marian_zero_grad(((lmt_seq2seq_task *)self)->mt); }

static int64_t s2s_count_items(void *self, const lmt_batch *b) {
    (void)self;
    int64_t n = 0;
    if (!b->labels || b->T_dec <= 0) return 0;
    for (size_t k = 0; k < (size_t)b->B * b->T_dec; k++) n += b->labels[k] != -100;
    return n;
}

/* transformers' estimate_tokens counts the main input (input_ids) only */
static int64_t s2s_count_tokens(void *self, const lmt_batch *b) { (void)self; return (int64_t)b->B * b->T; }

lmt_status lmt_seq2seq_task_create(lmt_model *m, int max_B, int max_Tsrc, int max_Ttgt, lmt_seq2seq_task **out) {
    *out = NULL;
    if (m->cfg.arch != LMT_ARCH_MARIAN)
        return lmt_fail(LMT_ERR_ARG, "translation training needs a Marian model, got %s", lmt_arch_class_name(m->cfg.arch));
    lmt_seq2seq_task *t = calloc(1, sizeof *t);
    if (!t) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_status s = lmt_marian_create(m, max_B, max_Tsrc, max_Ttgt, true, &t->mt);
    if (s != LMT_OK) { free(t); return s; }
    t->base.self = t;
    t->base.model = m;
    t->base.grads = t->mt->net.grads;
    t->base.net = &t->mt->net;
    t->mt->loss_only = true;   // the Trainer needs losses and gradients, not the logits of padding rows
    t->base.forward = s2s_forward;
    t->base.backward = s2s_backward;
    t->base.zero_grad = s2s_zero_grad;
    t->base.count_items = s2s_count_items;
    t->base.count_tokens = s2s_count_tokens;
    *out = t;
    return LMT_OK;
}

void lmt_seq2seq_task_free(lmt_seq2seq_task *t) {
    if (!t) return;
    lmt_marian_free(t->mt);
    free(t);
}
