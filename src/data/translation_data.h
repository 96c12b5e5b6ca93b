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
/* run_translation.py's loading: the pairs of path (JSON Lines with
 * translation.<lang> columns, or path + target_path as parallel text files),
 * checked: both languages exist (the message lists the file's), every pair has
 * both sides and a non-empty source (the message names the file and line);
 * source_prefix (NULL or "" for none) is put before every source, as
 * `inputs = [prefix + inp for inp in inputs]`. */
lmt_status lmt_translation_load_pairs(const char *path, const char *target_path, const char *source_lang,
                                      const char *target_lang, const char *source_prefix, lmt_dataset *out);
/* --pad_to_max_length: input_ids padded with pad_id and attention_mask with 0
 * to max_source_length, labels with -100 (ignore_pad_token_for_loss) to
 * max_target_length, as the tokenizer's padding="max_length" does after its
 * truncation: every row then has exactly that length. */
lmt_status lmt_translation_pad(lmt_dataset *ds, int32_t pad_id, int64_t max_source_length, int64_t max_target_length);
/* Load, split, tokenize: *train and *validation (both freed by the caller
 * on success; untouched-and-empty on failure). */
lmt_status lmt_translation_data_prepare(const lmt_translation_data_opts *o, const lmt_tokenizer *tok,
                                        lmt_dataset *train, lmt_dataset *validation);
#endif
