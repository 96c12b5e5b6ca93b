#include <stdlib.h>
#include "core/error.h"
#include "train/task_mlm.h"

static lmt_status mlm_forward(void *self, const lmt_batch *b, bool training, uint64_t seed, double *loss_sum,
                              int64_t *n_items) {
    lmt_mlm_task *t = self;
    if (training) lmt_encoder_mlm_set_seed(t->enc, seed);
    /* DistilBERT has no token types; a collator's zeros are dropped, as its forward never takes them */
    const int32_t *types = t->enc->TV > 0 ? b->token_type_ids : NULL;
    LMT_TRY(lmt_encoder_mlm_forward(t->enc, LMT_I32, b->input_ids, b->attention_mask, types, b->labels, b->B, b->T,
                                    training));
    *n_items = t->enc->net.n_targets;
    *loss_sum = t->enc->net.n_targets > 0 ? (double)t->enc->net.loss * (double)t->enc->net.n_targets : 0.0;
    return LMT_OK;
}

static lmt_status mlm_backward(void *self, float scale) {
    return lmt_encoder_mlm_backward_scaled(((lmt_mlm_task *)self)->enc, scale);
}

static void mlm_zero_grad(void *self) { lmt_encoder_mlm_zero_grad(((lmt_mlm_task *)self)->enc); }

static int64_t mlm_count_items(void *self, const lmt_batch *b) {
    (void)self;
    int64_t n = 0;
    if (!b->labels) return 0;
    for (size_t k = 0; k < (size_t)b->B * b->T; k++) n += b->labels[k] != -100;
    return n;
}

static int64_t mlm_count_tokens(void *self, const lmt_batch *b) { (void)self; return (int64_t)b->B * b->T; }

lmt_status lmt_mlm_task_create(lmt_model *m, int max_B, int max_T, lmt_mlm_task **out) {
    *out = NULL;
    lmt_arch a = m->cfg.arch;
    if (a != LMT_ARCH_BERT && a != LMT_ARCH_ROBERTA && a != LMT_ARCH_DISTILBERT)
        return lmt_fail(LMT_ERR_ARG, "masked LM training needs a BERT, RoBERTa or DistilBERT model, got %s",
                        lmt_arch_class_name(a));
    lmt_mlm_task *t = calloc(1, sizeof *t);
    if (!t) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_status s = lmt_encoder_mlm_create(m, max_B, max_T, true, &t->enc);
    if (s != LMT_OK) { free(t); return s; }
    t->base.self = t;
    t->base.model = m;
    t->base.grads = t->enc->net.grads;
    t->base.net = &t->enc->net;
    t->enc->loss_only = true;   // the Trainer needs losses and gradients, not the logits of unlabelled rows
    t->base.forward = mlm_forward;
    t->base.backward = mlm_backward;
    t->base.zero_grad = mlm_zero_grad;
    t->base.count_items = mlm_count_items;
    t->base.count_tokens = mlm_count_tokens;
    *out = t;
    return LMT_OK;
}

void lmt_mlm_task_free(lmt_mlm_task *t) {
    if (!t) return;
    lmt_encoder_mlm_free(t->enc);
    free(t);
}
