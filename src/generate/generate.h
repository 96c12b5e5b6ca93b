/* Text generation for decoder-only models (transformers' generate() for
 * GPT-2): greedy search, or sampling with temperature, top-k and top-p
 * applied in that order as HF's logits warpers do. */
#ifndef LMT_GENERATE_GENERATE_H
#define LMT_GENERATE_GENERATE_H
#include <stdbool.h>
#include <stdint.h>
#include "models/model.h"

typedef struct lmt_gen_opts {
    int max_new_tokens;       /* default 20 */
    bool do_sample;
    double temperature;       /* 1.0 */
    int top_k;                /* 0 = off (HF's default top_k=50 applies only when do_sample and set) */
    double top_p;             /* 1.0 = off */
    uint64_t seed;
    int32_t eos_token_id;     /* stop when produced; -1 = none */
} lmt_gen_opts;

lmt_gen_opts lmt_gen_opts_default(void);
/* Applies temperature, top-k and top-p to logits[V] in place (filtered
 * entries become -inf), as TemperatureLogitsWarper, TopKLogitsWarper and
 * TopPLogitsWarper do. */
void lmt_logits_warp(float *logits, int V, double temperature, int top_k, double top_p);
/* Continues prompt[0..n_prompt) by up to max_new_tokens tokens. *out holds
 * prompt + new tokens (caller frees). */
lmt_status lmt_generate(lmt_model *m, const int32_t *prompt, int n_prompt, const lmt_gen_opts *opts, int32_t **out, int *n_out);
#endif
