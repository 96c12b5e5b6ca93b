/* GPT-2 inference one token at a time with a key/value cache: each new token
 * costs one pass over the weights and an attention over the cached keys,
 * instead of recomputing the whole sequence. */
#ifndef LMT_GENERATE_GPT2_KV_H
#define LMT_GENERATE_GPT2_KV_H
#include "models/model.h"

typedef struct lmt_gpt2_kv lmt_gpt2_kv;
lmt_status lmt_gpt2_kv_create(lmt_model *m, int max_len, lmt_gpt2_kv **out);
void lmt_gpt2_kv_free(lmt_gpt2_kv *kv);
/* Appends token at the next position; *logits (V) is valid until the next call. */
lmt_status lmt_gpt2_kv_step(lmt_gpt2_kv *kv, int32_t token, const float **logits);
int lmt_gpt2_kv_length(const lmt_gpt2_kv *kv);
#endif
