/* Generation for the encoder-decoder MarianMTModel with transformers 5.x
 * generate() semantics: greedy search (num_beams 1) and beam search
 * (_beam_search: 2 * num_beams candidates per step, finished hypotheses
 * ranked by sum of log-probs / len**length_penalty, the early-stopping
 * heuristic), with the logits processors generate() builds, in its order:
 * no_repeat_ngram_size, bad_words_ids (multi-token; single-token bans of
 * the eos id dropped, as NoBadWordsLogitsProcessor does), min_length /
 * min_new_tokens, forced_bos_token_id, forced_eos_token_id.
 *
 * Decoding is incremental (src/models/marian_decode.h): the encoder runs
 * once per call, cross-attention keys/values once per layer, and each step
 * feeds one token per row against a self-attention key/value cache that
 * beam search reorders by beam index, as transformers' cache does. Cost per
 * step O(rows * (C^2 + t * C)) instead of re-running the whole prefix. */
#ifndef LMT_GENERATE_SEQ2SEQ_GENERATE_H
#define LMT_GENERATE_SEQ2SEQ_GENERATE_H
#include <stdbool.h>
#include <stdint.h>
#include "models/model.h"

enum { LMT_S2S_ES_FALSE = 0, LMT_S2S_ES_TRUE = 1, LMT_S2S_ES_NEVER = 2 };

typedef struct lmt_s2s_gen_opts {
    int num_beams;                 /* 1 = greedy; must be 1..32 */
    int max_length;                /* total decoder length, decoder_start included; <= max_position_embeddings */
    int max_new_tokens;            /* > 0 overrides max_length: max_length = 1 + max_new_tokens */
    int min_length;                /* eos banned while the decoder length (decoder_start included) is below; 0 = off */
    int min_new_tokens;            /* > 0 overrides min_length: min_length = 1 + min_new_tokens */
    double length_penalty;         /* 1.0 */
    int early_stopping;            /* LMT_S2S_ES_* (False by default, as transformers) */
    int num_return_sequences;      /* 1..num_beams */
    int no_repeat_ngram_size;      /* 0 = off */
    int32_t eos_token_id;          /* -1 = none */
    int32_t pad_token_id;          /* fills finished rows; -1 = none */
    int32_t decoder_start_token_id;
    int32_t forced_bos_token_id;   /* -1 = none: the first generated token */
    int32_t forced_eos_token_id;   /* -1 = none: the token at max_length - 1 */
    /* bad_words_ids: n_bad_words sequences, concatenated in bad_words, of
     * bad_word_lens[i] tokens each (bad_word_lens NULL: one token each). A
     * sequence's last token is banned when the others end the prefix. */
    const int32_t *bad_words;
    const int *bad_word_lens;
    int n_bad_words;
    bool config_bad_words;         /* bad_words NULL: use generation_config.json's bad_words_ids */
} lmt_s2s_gen_opts;

/* transformers' defaults overlaid with the model's config.json and
 * generation_config.json (decoder_start/pad/eos/forced_bos/forced_eos token
 * ids, num_beams, num_return_sequences, max_length (absent: 20 new tokens,
 * i.e. 21, capped at max_position_embeddings, as generate() does),
 * max_new_tokens, min_length, min_new_tokens, no_repeat_ngram_size,
 * length_penalty, early_stopping, bad_words_ids (config_bad_words)). */
lmt_s2s_gen_opts lmt_s2s_gen_opts_from_model(const lmt_model *m);

/* input_ids and attention_mask (NULL = all 1) are (B, Ts) int32. On
 * success *out is (B * num_return_sequences, *out_len) int32 row-major
 * (decoder_start first, shorter rows padded), and *scores (when scores is not
 * NULL; beam search only, else NULL) the sequences_scores, one per row.
 * Caller frees both. Bad options (num_beams < 1, num_return_sequences >
 * num_beams, max_length beyond max_position_embeddings, token ids outside
 * the vocabulary) fail with LMT_ERR_ARG naming the option. */
lmt_status lmt_seq2seq_generate(lmt_model *m, const int32_t *input_ids, const int32_t *attention_mask, int B, int Ts,
                                const lmt_s2s_gen_opts *opts, int32_t **out, int *out_len, float **scores);
#endif
