/* Generation for the encoder-decoder MarianMTModel with transformers'
 * generate() semantics: greedy search (num_beams 1) and beam search
 * (_beam_search of transformers 5.x: 2 * num_beams candidates per step,
 * finished hypotheses ranked by sum of log-probs / len**length_penalty,
 * the early-stopping heuristic, bad_words_ids, forced_eos_token_id).
 *
 * No KV cache yet: every step re-runs lmt_marian_forward (encoder included)
 * over the whole decoder prefix of all beams. Correct, O(T^2) per row. */
#ifndef LMT_GENERATE_SEQ2SEQ_GENERATE_H
#define LMT_GENERATE_SEQ2SEQ_GENERATE_H
#include <stdbool.h>
#include <stdint.h>
#include "models/model.h"

enum { LMT_S2S_ES_FALSE = 0, LMT_S2S_ES_TRUE = 1, LMT_S2S_ES_NEVER = 2 };

typedef struct lmt_s2s_gen_opts {
    int num_beams;                 /* 1 = greedy */
    int max_length;                /* total decoder length, decoder_start included */
    int max_new_tokens;            /* > 0 overrides max_length: max_length = 1 + max_new_tokens */
    double length_penalty;         /* 1.0 */
    int early_stopping;            /* LMT_S2S_ES_* (False by default, as transformers) */
    int num_return_sequences;      /* <= num_beams */
    int32_t eos_token_id;          /* -1 = none */
    int32_t pad_token_id;          /* fills finished rows; -1 = none */
    int32_t decoder_start_token_id;
    int32_t forced_eos_token_id;   /* -1 = none */
    const int32_t *bad_words;      /* single-token bans; multi-token bans are not supported */
    int n_bad_words;
} lmt_s2s_gen_opts;

/* transformers' defaults overlaid with the model's config.json and
 * generation_config.json (decoder_start/pad/eos/forced_eos token ids,
 * num_beams, max_length, length_penalty, early_stopping). */
lmt_s2s_gen_opts lmt_s2s_gen_opts_from_model(const lmt_model *m);

/* input_ids and attention_mask (NULL = all 1) are (B, Ts) int32. On
 * success *out is (B * num_return_sequences, *out_len) int32 row-major
 * (decoder_start first, shorter rows padded), and *scores (when scores is not
 * NULL; beam search only, else NULL) the sequences_scores, one per row.
 * Caller frees both. */
lmt_status lmt_seq2seq_generate(lmt_model *m, const int32_t *input_ids, const int32_t *attention_mask, int B, int Ts,
                                const lmt_s2s_gen_opts *opts, int32_t **out, int *out_len, float **scores);
#endif
