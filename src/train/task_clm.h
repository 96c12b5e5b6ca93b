/* Causal language modelling for the Trainer: GPT-2 or a Llama-family decoder
 * (Llama, Mistral, Qwen2) behind lmt_task_model,
 * and the default collator over fixed-length blocks (group_texts output). */
#ifndef LMT_TRAIN_TASK_CLM_H
#define LMT_TRAIN_TASK_CLM_H
#include "models/gpt2.h"
#include "models/llama.h"
#include "train/trainer.h"

typedef struct lmt_clm_task {
    lmt_task_model base;
    lmt_gpt2 *gpt2;       /* the model: one of gpt2 and llama, the other NULL */
    lmt_llama *llama;
    lmt_net *net;         /* its scaffolding (loss, n_targets, seeds, gradients) */
    bool count_shifted;   /* config.loss_type == "ForCausalLM": count labels[..., 1:] */
    /* SFTTrainer's metrics (lmt_clm_task_log_metrics): per mode (0 training, 1
     * evaluation) the sums of the micro-batches' mean entropy and token
     * accuracy over labelled positions and how many; training tokens fed */
    bool sft_metrics;
    double entropy_sum[2], accuracy_sum[2];
    int64_t n_batches[2], num_tokens;
} lmt_clm_task;
/* Logs SFTTrainer's entropy, mean_token_accuracy and num_tokens too. */
void lmt_clm_task_log_metrics(lmt_clm_task *t);

/* Binds a GPT-2 or Llama-family model for batches up to max_B x max_T. */
lmt_status lmt_clm_task_create(lmt_model *m, int max_B, int max_T, lmt_clm_task **out);
/* Evaluation only: no gradient buffers (a third of a training task's memory
 * for distilgpt2); training with it fails with an error. */
lmt_status lmt_clm_task_create_eval(lmt_model *m, int max_B, int max_T, lmt_clm_task **out);
void lmt_clm_task_free(lmt_clm_task *t);

/* Blocks of block_size tokens; labels = input_ids, attention mask all 1
 * (transformers' default_data_collator over group_texts output). */
typedef struct lmt_block_data {
    lmt_train_data base;
    const int32_t *ids;      /* (n, block_size), not owned */
    int block_size;
} lmt_block_data;
void lmt_block_data_init(lmt_block_data *d, const int32_t *ids, int64_t n_blocks, int block_size);
#endif
