#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "train/task_clm.h"

/* SFTTrainer's per-batch metrics from the head's rows: the entropy of each
 * labelled position's distribution and whether its most likely token is the
 * label, averaged over the labelled positions (0 without any). The rows hold
 * the logits, or after a fused loss the probabilities minus the one-hot label. */
static void batch_metrics(lmt_clm_task *t, const lmt_batch *b, bool training) {
    const lmt_head_acts *a = t->llama ? &t->llama->head : &t->gpt2->head;
    const int32_t *tg = t->llama ? t->llama->targets : t->gpt2->targets;
    int V = (int)t->base.model->cfg.vocab_size;
    double ent = 0;
    long valid = 0, correct = 0;
    bool grad = a->logits_are_grad;
#pragma omp parallel for schedule(static) reduction(+:ent, valid, correct) if ((long)a->M * V >= 1L << 20)
    for (int r = 0; r < (a->gathered ? 0 : a->M); r++) {
        int32_t y = tg[r];
        if (y == -100) continue;
        const float *x = a->logits + (size_t)r * V;
        float l = grad ? 0.0f : a->lse[r], h = 0.0f, best = -INFINITY;
        int arg = 0;
        /* fused: the label's row value is p - 1, which has lost p's low digits; its loss -log p has them */
        float py = grad ? expf(-a->losses[r]) : 0.0f;
        for (int v = 0; v < V; v++) {
            float p = grad ? (v == y ? py : x[v]) : expf(x[v] - l);
            float lp = grad && v == y ? -a->losses[r] : p > 0.0f ? (grad ? logf(p) : x[v] - l) : 0.0f;
            h -= p * lp;
            float key = grad ? p : x[v];
            if (key > best) { best = key; arg = v; }
        }
        ent += h;
        correct += arg == y;
        valid++;
    }
    int m = training ? 0 : 1;
    t->entropy_sum[m] += valid ? ent / (double)valid : 0.0;
    t->accuracy_sum[m] += valid ? (double)correct / (double)valid : 0.0;
    t->n_batches[m]++;
    if (training)
        for (size_t i = 0; i < (size_t)b->B * b->T; i++) t->num_tokens += b->attention_mask ? b->attention_mask[i] != 0 : 1;
}

static int clm_log_extras(void *self, bool eval, const char **keys, double *vals) {
    lmt_clm_task *t = self;
    int m = eval ? 1 : 0, n = 0;
    if (keys && t->n_batches[m] > 0) {   /* in SFTTrainer's order */
        keys[n] = eval ? "eval_entropy" : "entropy"; vals[n++] = t->entropy_sum[m] / (double)t->n_batches[m];
        keys[n] = eval ? "eval_mean_token_accuracy" : "mean_token_accuracy"; vals[n++] = t->accuracy_sum[m] / (double)t->n_batches[m];
        keys[n] = eval ? "eval_num_tokens" : "num_tokens"; vals[n++] = (double)t->num_tokens;
    }
    t->entropy_sum[m] = t->accuracy_sum[m] = 0;
    t->n_batches[m] = 0;
    return n;
}

void lmt_clm_task_log_metrics(lmt_clm_task *t) {
    t->sft_metrics = true;
    t->base.log_extras = clm_log_extras;
}

static lmt_status clm_forward(void *self, const lmt_batch *b, bool training, uint64_t seed, double *loss_sum, int64_t *n_items) {
    lmt_clm_task *t = self;
    if (training) lmt_net_set_seed(t->net, seed);
    if (b->position_ids && !t->llama) return lmt_fail(LMT_ERR_UNSUPPORTED, "packed sequences (position_ids) need a Llama-family model");
    if (t->llama) lmt_llama_set_positions(t->llama, b->position_ids);
    if (t->llama) LMT_TRY(lmt_llama_forward(t->llama, LMT_I32, b->input_ids, b->attention_mask, b->labels, b->B, b->T, training));
    else LMT_TRY(lmt_gpt2_forward(t->gpt2, LMT_I32, b->input_ids, b->attention_mask, b->labels, b->B, b->T, training));
    if (t->sft_metrics && b->labels) batch_metrics(t, b, training);
    *n_items = t->net->n_targets;
    *loss_sum = t->net->n_targets > 0 ? (double)t->net->loss * (double)t->net->n_targets : 0.0;
    return LMT_OK;
}

static lmt_status clm_backward(void *self, float scale) {
    lmt_clm_task *t = self;
    return t->llama ? lmt_llama_backward_scaled(t->llama, scale) : lmt_gpt2_backward_scaled(t->gpt2, scale);
}

static void clm_zero_grad(void *self) { lmt_net_zero_grad(((lmt_clm_task *)self)->net); }

/* num_items_in_batch as transformers 5.23's Trainer counts it for GPT-2:
 * it would count labels[..., 1:] only when config.loss_type names
 * ForCausalLM; GPT-2 configs (distilgpt2's included) leave loss_type unset,
 * so every label != -100 is counted and the summed loss is divided by
 * B*T rather than B*(T-1). We follow it, so losses and gradients match. */
static int64_t clm_count_items(void *self, const lmt_batch *b) {
    lmt_clm_task *t = self;
    int64_t n = 0;
    if (!b->labels) return 0;
    int first = t->count_shifted ? 1 : 0;
    for (int i = 0; i < b->B; i++)
        for (int j = first; j < b->T; j++) n += b->labels[(size_t)i * b->T + j] != -100;
    return n;
}

static int64_t clm_count_tokens(void *self, const lmt_batch *b) { (void)self; return (int64_t)b->B * b->T; }

static lmt_status create(lmt_model *m, int max_B, int max_T, bool with_grads, lmt_clm_task **out) {
    *out = NULL;
    bool llama = lmt_arch_is_llama(m->cfg.arch);
    if (m->cfg.arch != LMT_ARCH_GPT2 && !llama)
        return lmt_fail(LMT_ERR_ARG, "causal LM training needs a GPT-2, Llama, Mistral or Qwen2 model, got %s", lmt_arch_class_name(m->cfg.arch));
    lmt_clm_task *t = calloc(1, sizeof *t);
    if (!t) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_status s = llama ? lmt_llama_create(m, max_B, max_T, with_grads, &t->llama)
                         : lmt_gpt2_create(m, max_B, max_T, with_grads, &t->gpt2);
    if (s != LMT_OK) { free(t); return s; }
    t->net = llama ? &t->llama->net : &t->gpt2->net;
    t->base.self = t;
    t->base.model = m;
    t->base.grads = t->net->grads;
    t->base.net = t->net;
    t->base.forward = clm_forward;
    t->base.backward = clm_backward;
    t->base.zero_grad = clm_zero_grad;
    t->base.count_items = clm_count_items;
    t->base.count_tokens = clm_count_tokens;
    const lmt_json *lt = lmt_json_get(m->cfg.raw, "loss_type");
    /* LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM: the class name
     * itself maps to ForCausalLM in transformers' LOSS_MAPPING (model.loss_type) */
    t->count_shifted = llama || (lt && lt->type == LMT_JSON_STRING && !strcmp(lt->str, "ForCausalLM"));
    *out = t;
    return LMT_OK;
}

lmt_status lmt_clm_task_create(lmt_model *m, int max_B, int max_T, lmt_clm_task **out) {
    return create(m, max_B, max_T, true, out);
}

lmt_status lmt_clm_task_create_eval(lmt_model *m, int max_B, int max_T, lmt_clm_task **out) {
    return create(m, max_B, max_T, false, out);
}

void lmt_clm_task_free(lmt_clm_task *t) {
    if (!t) return;
    lmt_gpt2_free(t->gpt2);
    lmt_llama_free(t->llama);
    free(t);
}

static lmt_status blocks_collate(void *ctx, const int64_t *idx, int n, lmt_batch *out) {
    lmt_block_data *d = ctx;
    size_t T = (size_t)d->block_size, N = (size_t)n * T;
    memset(out, 0, sizeof *out);
    out->B = n;
    out->T = d->block_size;
    out->input_ids = malloc(N * 4);
    out->labels = malloc(N * 4);
    out->attention_mask = malloc(N * 4);
    if (!out->input_ids || !out->labels || !out->attention_mask) { lmt_batch_free(out); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    for (int i = 0; i < n; i++) {
        if (idx[i] < 0 || idx[i] >= d->base.n) { lmt_batch_free(out); return lmt_fail(LMT_ERR_ARG, "example %lld out of range", (long long)idx[i]); }
        memcpy(out->input_ids + (size_t)i * T, d->ids + (size_t)idx[i] * T, T * 4);
    }
    memcpy(out->labels, out->input_ids, N * 4);
    for (size_t k = 0; k < N; k++) out->attention_mask[k] = 1;
    return LMT_OK;
}

void lmt_block_data_init(lmt_block_data *d, const int32_t *ids, int64_t n_blocks, int block_size) {
    memset(d, 0, sizeof *d);
    d->base.n = n_blocks;
    d->base.ctx = d;
    d->base.collate = blocks_collate;
    d->ids = ids;
    d->block_size = block_size;
}
