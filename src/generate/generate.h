/* Text generation for decoder-only models (transformers' generate() for
 * GPT-2 and the Llama family): greedy search, or sampling; the logits
 * processors in generate()'s order: repetition_penalty,
 * no_repeat_ngram_size, then (sampling) temperature, top-k, top-p, min-p.
 * Batched prompts are left-padded as a tokenizer with padding_side="left"
 * pads them; each row decodes as transformers does with its attention mask
 * and position_ids = cumsum(mask) - 1 (positions from 0 at its first token,
 * the pads never attended), finished rows continue with pad_token_id. */
#ifndef LMT_GENERATE_GENERATE_H
#define LMT_GENERATE_GENERATE_H
#include <stdbool.h>
#include <stdint.h>
#include "models/model.h"

#define LMT_GEN_MAX_EOS 16

typedef struct lmt_gen_opts {
    int max_new_tokens;       /* default 20 */
    bool do_sample;
    double temperature;       /* 1.0 */
    int top_k;                /* 0 = off (HF's default top_k=50 applies only when do_sample and set) */
    double top_p;             /* 1.0 = off */
    uint64_t seed;
    int32_t eos_token_id;     /* stop when produced; -1 = none */
    int32_t eos_ids[LMT_GEN_MAX_EOS];   /* more EOS ids (generation_config.json's list) */
    int n_eos;
    int32_t pad_token_id;     /* after a row's EOS in a batch; -1: the first EOS id, else 0 */
    double repetition_penalty;   /* 1.0 = off */
    int no_repeat_ngram_size;    /* 0 = off */
    double min_p;                /* 0 = off */
} lmt_gen_opts;

lmt_gen_opts lmt_gen_opts_default(void);
/* Applies temperature, top-k and top-p to logits[V] in place (filtered
 * entries become -inf), as TemperatureLogitsWarper, TopKLogitsWarper and
 * TopPLogitsWarper do. */
void lmt_logits_warp(float *logits, int V, double temperature, int top_k, double top_p);
/* ... and then min_p as MinPLogitsWarper (tokens whose probability is below
 * min_p times the top one's become -inf; min_p <= 0: off). */
void lmt_logits_warp_min_p(float *logits, int V, double min_p);
/* RepetitionPenaltyLogitsProcessor then NoRepeatNGramLogitsProcessor on
 * one row: ids[0..n) as generate()'s input_ids row (left pads included),
 * n_pad of them left padding (not penalised; the n-grams see them). */
void lmt_logits_penalize(float *logits, int V, const int32_t *ids, int n, int n_pad, double repetition_penalty,
                         int no_repeat_ngram_size);
/* generate()'s defaults for m: GenerationConfig's (top_k 50) overridden by
 * generation_config.json (do_sample, temperature, top_k, top_p, min_p,
 * repetition_penalty, no_repeat_ngram_size, max_new_tokens, eos_token_id as
 * an id or a list, pad_token_id), else config.json's eos / pad ids. */
lmt_gen_opts lmt_gen_opts_from_model(const lmt_model *m);
/* Continues prompt[0..n_prompt) by up to max_new_tokens tokens. *out holds
 * prompt + new tokens (caller frees). */
lmt_status lmt_generate(lmt_model *m, const int32_t *prompt, int n_prompt, const lmt_gen_opts *opts, int32_t **out, int *n_out);
/* B prompts (prompts[b][0..lens[b])), left-padded with pad_token_id to the
 * longest: *out (caller frees) holds B rows of *width tokens, as
 * generate(input_ids, attention_mask) returns them. */
lmt_status lmt_generate_batch(lmt_model *m, const int32_t *const *prompts, const int *lens, int B, const lmt_gen_opts *opts,
                              int32_t **out, int *width);
#endif
