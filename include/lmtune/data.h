/* lmtune datasets and collators: what the HF `datasets` workflows do before
 * training. Load a file into a column table (lmt_data), tokenize it, cut it
 * into blocks (group_texts) or tokenize translation pairs, split it, and
 * wrap it in a collator (causal-LM blocks, MLM masking with tokens or whole
 * words, DataCollatorForSeq2Seq) that the Trainer (lmtune/trainer.h) reads.
 *
 * Every lmt_data and lmt_collator is owned by the caller and released with
 * its _free function; functions that make a new table return it in *out,
 * leaving the input untouched. A collator borrows its table (and tokenizer):
 * they must outlive it. */
#ifndef LMTUNE_DATA_H
#define LMTUNE_DATA_H
#include "lmtune/lmtune.h"
#include "lmtune/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lmt_data lmt_data;

typedef enum lmt_data_format {
    LMT_DATA_AUTO = 0,    /* by extension: .jsonl/.json, .csv, .tsv, else text */
    LMT_DATA_TEXT,        /* one example per line in column "text", "\n" kept (run_clm.py's keep_linebreaks) */
    LMT_DATA_WIKITEXT,    /* as the HF wikitext script: whitespace-only lines become "" */
    LMT_DATA_JSONL,       /* JSON Lines; nested objects become dotted columns ("translation.en") */
    LMT_DATA_CSV,         /* header row, RFC 4180 quoting, pandas' type inference */
    LMT_DATA_TSV
} lmt_data_format;

/* Loads a file as load_dataset(...)["train"] does. *out is the caller's
 * (lmt_data_free). Fails naming the file (and line) when it is missing,
 * empty, not UTF-8 or malformed. */
LMT_API lmt_status lmt_data_load(const char *path, lmt_data_format format, lmt_data **out);
/* Parallel text files (line i of each, strip()ped) as rows {"id",
 * "translation.<src_lang>", "translation.<tgt_lang>"}. Fails when the line
 * counts differ. *out is the caller's. */
LMT_API lmt_status lmt_data_load_parallel(const char *src_path, const char *tgt_path, const char *src_lang,
                                          const char *tgt_lang, lmt_data **out);
/* Releases d (NULL is fine). */
LMT_API void lmt_data_free(lmt_data *d);

LMT_API int64_t lmt_data_num_rows(const lmt_data *d);
LMT_API size_t lmt_data_num_columns(const lmt_data *d);
/* Name of column i (owned by d), or NULL past the last column. */
LMT_API const char *lmt_data_column_name(const lmt_data *d, size_t i);
LMT_API bool lmt_data_has_column(const lmt_data *d, const char *name);
/* Row `row` of a string column, not NUL-terminated: *text points into d
 * (valid while d lives). Fails (LMT_ERR_ARG) naming the column when it is
 * absent or not a string column, or the row is out of range. */
LMT_API lmt_status lmt_data_get_text(const lmt_data *d, const char *column, int64_t row, const char **text, size_t *len);
/* Row `row` of a token-id column (input_ids, labels, ...): *ids points into
 * d. Errors as lmt_data_get_text. */
LMT_API lmt_status lmt_data_get_ids(const lmt_data *d, const char *column, int64_t row, const int32_t **ids, size_t *n);

/* Dataset.select(rows): a new table with those rows in that order. Fails
 * naming the first index out of range. */
LMT_API lmt_status lmt_data_select(const lmt_data *d, const int64_t *rows, int64_t n, lmt_data **out);
/* Dataset.shuffle(seed=seed), numpy's exact permutation. */
LMT_API lmt_status lmt_data_shuffle(const lmt_data *d, uint64_t seed, lmt_data **out);
/* Dataset.train_test_split(test_size, train_size, seed): each size is a
 * fraction when in (0, 1), a row count when >= 1, None when 0. Both tables
 * are the caller's. Fails as datasets does on impossible sizes. */
LMT_API lmt_status lmt_data_train_test_split(const lmt_data *d, double test_size, double train_size, uint64_t seed,
                                             lmt_data **train, lmt_data **test);

/* Tokenizes column `column` (NULL: "text"; a column of string lists is
 * joined with spaces, as the ELI5 notebook does) into a table with INTS
 * columns input_ids, attention_mask, special_tokens_mask and word_ids
 * (-1 = None). max_length > 0 truncates (line-by-line MLM); 0 keeps every
 * token. Empty rows give empty rows. Fails naming the column or row. */
LMT_API lmt_status lmt_data_tokenize(const lmt_data *d, const lmt_tokenizer *tok, const char *column, int64_t max_length,
                                     lmt_data **out);
/* group_texts: concatenates every token column in batches of 1000 rows,
 * cuts block_size chunks and drops each batch's remainder; labels = a copy
 * of input_ids. The input must hold token columns only (lmt_data_tokenize's
 * output). Fails when block_size < 1 or no block results. */
LMT_API lmt_status lmt_data_group_texts(const lmt_data *tokenized, int64_t block_size, lmt_data **out);
/* Translation pairs (run_translation.py's preprocess): input_ids and
 * attention_mask from the source column truncated at max_source_length,
 * labels from the target column encoded as text_target (Marian: target.spm)
 * truncated at max_target_length (0 = no truncation). Fails naming a row with
 * a missing side. */
LMT_API lmt_status lmt_data_tokenize_pairs(const lmt_data *d, const lmt_tokenizer *tok, const char *source_column,
                                           const char *target_column, int64_t max_source_length,
                                           int64_t max_target_length, lmt_data **out);

/* ---- collators ----------------------------------------------------------- */

typedef struct lmt_collator lmt_collator;

/* Masked-LM options (DataCollatorForLanguageModeling, or the course's
 * whole-word masking). */
typedef struct lmt_masking_opts {
    bool whole_word;             /* mask whole words (needs word_ids) with wwm_probability */
    double mlm_probability;      /* 0.15: each token chosen with it (token masking) */
    double mask_replace_prob;    /* 0.8 of the chosen become the mask token */
    double random_replace_prob;  /* 0.1 of the chosen become a random token */
    double wwm_probability;      /* 0.2: each word masked with it (whole_word) */
    int32_t pad_to_multiple_of;  /* 0 = none */
    uint64_t seed;               /* the masking stream (lmtune's own generator, not torch's) */
} lmt_masking_opts;
LMT_API lmt_masking_opts lmt_masking_opts_default(void);

/* The default collator over fixed-length blocks (lmt_data_group_texts
 * output): input_ids, labels = input_ids, attention_mask 1. Fails unless
 * every row of input_ids has the same length. */
LMT_API lmt_status lmt_collator_create_clm(const lmt_data *blocks, lmt_collator **out);
/* The masking collator: each batch draws fresh masks, pads to its longest
 * row. Fails naming the option or column (probabilities outside (0, 1), a
 * tokenizer without mask or pad token, no word_ids for whole_word). */
LMT_API lmt_status lmt_collator_create_mlm(const lmt_data *d, const lmt_tokenizer *tok, const lmt_masking_opts *o,
                                           lmt_collator **out);
/* Masks every row of d once (the course's insert_random_mask) and returns a
 * collator over the masked copy, which it owns: the same seed gives the same
 * evaluation set, so perplexity repeats. */
LMT_API lmt_status lmt_collator_create_mlm_fixed(const lmt_data *d, const lmt_tokenizer *tok, const lmt_masking_opts *o,
                                                 lmt_collator **out);
/* DataCollatorForSeq2Seq for a Marian model: inputs padded with the
 * tokenizer's pad id, labels with -100, decoder_input_ids = labels shifted
 * right from the model's decoder_start_token_id. Needs input_ids and labels
 * (lmt_data_tokenize_pairs). */
LMT_API lmt_status lmt_collator_create_seq2seq(const lmt_data *d, const lmt_tokenizer *tok, const lmt_model *m,
                                               int32_t pad_to_multiple_of, lmt_collator **out);
/* Releases c (NULL is fine); the borrowed table and tokenizer stay. */
LMT_API void lmt_collator_free(lmt_collator *c);
LMT_API int64_t lmt_collator_num_examples(const lmt_collator *c);

/* One collated batch: (batch, length) row-major arrays, NULL when absent;
 * labels are (batch, decoder_length) for seq2seq. */
typedef struct lmt_collated_batch {
    int32_t batch, length, decoder_length;
    int32_t *input_ids, *attention_mask, *labels, *token_type_ids, *decoder_input_ids;
} lmt_collated_batch;
/* Collates examples rows[0..n) into *out (the caller's: lmt_collated_batch_free).
 * Random collators advance their stream. Fails naming a row out of range. */
LMT_API lmt_status lmt_collator_collate(lmt_collator *c, const int64_t *rows, size_t n, lmt_collated_batch *out);
LMT_API void lmt_collated_batch_free(lmt_collated_batch *b);

#ifdef __cplusplus
}
#endif
#endif
