/* Seq2SeqTrainer's evaluation with predict_with_generate, as
 * run_translation.py computes its metrics: every evaluation batch (the one
 * eval_loss is computed on) goes through generate() (beam search with
 * generation_num_beams / generation_max_length, else the model's
 * generation_config), predictions and labels (-100 -> pad) are decoded with
 * special tokens skipped and stripped, and the Trainer gets
 *   bleu    = sacreBLEU corpus BLEU (13a, exp smoothing), rounded to 4 places
 *   gen_len = mean count of non-pad tokens per prediction, rounded to 4 places
 * which it logs as eval_bleu and eval_gen_len. */
#ifndef LMT_TRAIN_SEQ2SEQ_METRICS_H
#define LMT_TRAIN_SEQ2SEQ_METRICS_H
#include <stdbool.h>
#include <stdint.h>
#include "generate/seq2seq_generate.h"
#include "lmtune/tokenizer.h"
#include "train/trainer.h"

#define LMT_S2S_MAX_BAD_WORDS 16

typedef struct lmt_seq2seq_metrics {
    lmt_model *model;                /* the model being trained (generation reads its current weights) */
    const lmt_tokenizer *tok;        /* decodes predictions and labels */
    bool clean_up_tokenization_spaces;  /* the tokenizer's setting (tokenizer_config.json) */
    lmt_s2s_gen_opts gen;
    int32_t bad_words[LMT_S2S_MAX_BAD_WORDS * 4];   /* config.json's bad_words_ids (no generation_config.json) */
    int bad_word_lens[LMT_S2S_MAX_BAD_WORDS];
    /* this rank's generated ids and labels, row by row as prediction_step
     * saw them (row i: the i-th example of the rank's shard) */
    int32_t **gen_rows, **label_rows;
    int *gen_lens, *label_lens;
    size_t n_rows, cap_rows;
    /* the last evaluation's decoded texts (n_texts of each, the whole set in
     * its order), kept for reports */
    char **predictions, **references;
    size_t n_texts;
    double gen_tokens;               /* non-pad tokens generated in the last evaluation */
} lmt_seq2seq_metrics;

/* Generation settings: the model's generation_config.json (else the
 * generation keys of its config.json: bad_words_ids, forced_eos_token_id,
 * num_beams, max_length), then num_beams / max_length when > 0 (the
 * Seq2SeqTrainingArguments generation_num_beams / generation_max_length).
 * Fails naming the value when num_beams < 1 or max_length is beyond the
 * model's max_position_embeddings. */
lmt_status lmt_seq2seq_metrics_init(lmt_seq2seq_metrics *c, lmt_model *m, const lmt_tokenizer *tok, int num_beams,
                                    int max_length);
void lmt_seq2seq_metrics_free(lmt_seq2seq_metrics *c);
/* lmt_prediction_fn: generates for one evaluation batch (the batch the
 * loss was computed on) and keeps the generated ids and the labels; start
 * is the batch's first row in this rank's shard (0: a new evaluation). */
lmt_status lmt_seq2seq_prediction_step(void *ctx, lmt_trainer *t, const lmt_batch *b, int64_t start);
/* lmt_metrics_fn: under mpirun the ranks' ids and labels are gathered to
 * every rank (evaluation_loop's pad_across_processes + gather_for_metrics:
 * the shards' rows put back in the set's order, the wrapped-round rows that
 * pad the last batches dropped; padding ids decode to nothing), then
 * decoded, and bleu and gen_len computed over the whole evaluation set. Set
 * both (t.prediction_step and t.compute_metrics, t.metrics_ctx = c). */
lmt_status lmt_seq2seq_compute_metrics(void *ctx, lmt_trainer *t, lmt_eval_output *out);
/* Writes the last evaluation's predictions to path, one per line (an
 * evaluation without predictions writes an empty file). */
lmt_status lmt_seq2seq_write_predictions(const lmt_seq2seq_metrics *c, const char *path);
/* true when tok_dir/tokenizer_config.json sets clean_up_tokenization_spaces
 * true (transformers 5's default is false). */
bool lmt_tokenizer_dir_cleans_up(const char *tok_dir);
#endif
