/* lmtune generation: transformers' generate() on token ids. GPT-2: greedy
 * search or sampling (temperature, top-k, top-p); Marian: greedy or beam
 * search with the model's generation_config.json. */
#ifndef LMTUNE_GENERATE_H
#define LMTUNE_GENERATE_H
#include "lmtune/lmtune.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { LMT_EARLY_STOP_FALSE = 0, LMT_EARLY_STOP_TRUE = 1, LMT_EARLY_STOP_NEVER = 2 } lmt_early_stopping;

typedef struct lmt_generation_opts {
    /* length: max_new_tokens > 0 wins over max_length (total length; Marian
     * counts decoder_start) */
    int32_t max_new_tokens;
    int32_t max_length;
    int32_t min_length, min_new_tokens;   /* Marian: eos banned below; 0 = off */
    /* sampling (GPT-2) */
    bool do_sample;
    double temperature;                   /* > 0 */
    int32_t top_k;                        /* 0 = off */
    double top_p;                         /* (0, 1]; 1 = off */
    uint64_t seed;
    /* beam search (Marian) */
    int32_t num_beams;                    /* 1 = greedy */
    int32_t num_return_sequences;         /* 1..num_beams */
    double length_penalty;
    lmt_early_stopping early_stopping;
    int32_t no_repeat_ngram_size;         /* 0 = off */
    int32_t eos_token_id;                 /* -1 = none */
    int32_t forced_bos_token_id, forced_eos_token_id;   /* Marian; -1 = none */
} lmt_generation_opts;

/* generate()'s defaults for model m: transformers' GenerationConfig
 * overlaid with m's config.json and generation_config.json (eos, Marian's
 * num_beams, max_length, bad words, ...); GPT-2 gets greedy search of 20 new
 * tokens. m NULL gives transformers' plain defaults. */
LMT_API lmt_generation_opts lmt_generation_opts_default(const lmt_model *m);

/* Generated sequences: n_sequences rows of `length` ids, row-major. GPT-2:
 * prompt + new tokens; Marian: decoder_start + tokens, shorter rows padded
 * with the pad id. scores: beam search's sequences_scores, else NULL. */
typedef struct lmt_generation {
    size_t n_sequences, length;
    int32_t *ids;
    float *scores;
} lmt_generation;
LMT_API void lmt_generation_free(lmt_generation *g);

/* Continues (GPT-2) or translates (Marian) input_ids[0..n). opts NULL means
 * lmt_generation_opts_default(m). *out is the caller's (lmt_generation_free).
 * Fails (LMT_ERR_ARG) naming the option that is impossible (num_beams < 1,
 * beam search on GPT-2, max_length beyond the model's positions, an id
 * outside the vocabulary) and (LMT_ERR_UNSUPPORTED) for an encoder-only
 * model. */
LMT_API lmt_status lmt_model_generate(lmt_model *m, const int32_t *input_ids, size_t n, const lmt_generation_opts *opts,
                                      lmt_generation *out);

#ifdef __cplusplus
}
#endif
#endif
