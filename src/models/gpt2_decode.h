/* GPT-2 (and Llama / Mistral / Qwen2) inference one token at a time with a
 * key/value cache: each new token costs one pass over the weights and an
 * attention over the cached keys, instead of recomputing the whole
 * sequence. The layers are the pre-LN cached layers of
 * models/blocks/kv_layer.h over a one-row cache. */
#ifndef LMT_MODELS_GPT2_DECODE_H
#define LMT_MODELS_GPT2_DECODE_H
#include "models/model.h"

typedef struct lmt_gpt2_kv lmt_gpt2_kv;
/* Under bf16 matmul precision (lmt_matmul_set_precision) the matrices are
 * copied to bf16 once here and every step reads those: half the bytes per
 * token (decoding is bound by memory bandwidth), fp32 arithmetic, the same
 * rounding as the bf16 GEMMs. The weights must not change while kv lives. */
lmt_status lmt_gpt2_kv_create(lmt_model *m, int max_len, lmt_gpt2_kv **out);
void lmt_gpt2_kv_free(lmt_gpt2_kv *kv);
/* Appends token at the next position; *logits (V) is valid until the next call. */
lmt_status lmt_gpt2_kv_step(lmt_gpt2_kv *kv, int32_t token, const float **logits);
/* Appends tokens[0..n) (a prompt) in one pass: the matrices are read once
 * for all n rows (as transformers' generate() runs the prompt), *logits
 * those of the last token. Rows beyond four go through the blocked matrix
 * product, whose sums may differ from one-row steps in the last bits. */
lmt_status lmt_gpt2_kv_prefill(lmt_gpt2_kv *kv, const int32_t *tokens, int n, const float **logits);
int lmt_gpt2_kv_length(const lmt_gpt2_kv *kv);
#endif
