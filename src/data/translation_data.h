/* The translation data preparation of run_translation.py / the course
 * (SPEC §3): load the pairs (JSON Lines {"translation": {src, tgt}} as HF's
 * kde4, or two parallel text files), train_test_split(train_size, seed)
 * with the test split used as validation, then tokenize: input_ids /
 * attention_mask from the source with truncation at max_source_length,
 * labels from the target encoded as text_target (Marian: target.spm) with
 * truncation at max_target_length. Original columns are removed, as the
 * scripts' map(remove_columns=...) does. */
#ifndef LMT_DATA_TRANSLATION_DATA_H
#define LMT_DATA_TRANSLATION_DATA_H
#include <stdint.h>
#include "data/dataset.h"
#include "lmtune/tokenizer.h"

typedef struct lmt_translation_data_opts {
    const char *path;             /* .jsonl / .json with translation.<lang> columns, or the source text file */
    const char *target_path;      /* parallel text: the target file (NULL for JSON Lines) */
    const char *source_lang, *target_lang;   /* "en", "fr" */
    lmt_split_size train_size;    /* 0.9 */
    lmt_split_size test_size;     /* None */
    uint64_t seed;                /* 20 */
    int64_t max_source_length;    /* 128; 0 = no truncation */
    int64_t max_target_length;    /* 128; 0 = no truncation */
} lmt_translation_data_opts;
/* The SPEC §3 values for path (JSON Lines), en -> fr. */
lmt_translation_data_opts lmt_translation_data_opts_default(const char *path);

/* Tokenizes the pairs of columns src_col / tgt_col of `in` into `out`
 * (input_ids, attention_mask, labels). A missing side (None) or an empty
 * source fails naming the row. */
lmt_status lmt_translation_tokenize(const lmt_dataset *in, const lmt_tokenizer *tok, const char *src_col,
                                    const char *tgt_col, int64_t max_source_length, int64_t max_target_length,
                                    lmt_dataset *out);
/* Load, split, tokenize: *train and *validation (both freed by the caller
 * on success; untouched-and-empty on failure). */
lmt_status lmt_translation_data_prepare(const lmt_translation_data_opts *o, const lmt_tokenizer *tok,
                                        lmt_dataset *train, lmt_dataset *validation);
#endif
