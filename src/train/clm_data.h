/* Causal-LM data preparation as run_clm.py / the course notebook do it: one
 * example per line of a text file (trailing "\n" kept, blank lines kept),
 * tokenized, then group_texts: concatenated and cut into block_size chunks,
 * the remainder dropped per map batch of `map_batch_size` examples. */
#ifndef LMT_TRAIN_CLM_DATA_H
#define LMT_TRAIN_CLM_DATA_H
#include <stdbool.h>
#include <stdint.h>
#include "lmtune/tokenizer.h"

typedef struct lmt_clm_blocks {
    int32_t *ids;        /* (n_blocks, block_size) */
    int64_t n_blocks;
    int block_size;
    int64_t n_examples, n_tokens, n_dropped;   /* lines read, tokens produced, tokens dropped by grouping */
} lmt_clm_blocks;

/* Reads the examples of path: for a text file, its lines as the HF text
 * loader does; for JSON Lines (.jsonl / .json), the string at `column`
 * (dotted path into nested objects, e.g. "translation.en"; a list of strings
 * is joined with spaces) of each object. column NULL means "text". */
lmt_status lmt_text_lines_load(const char *path, char ***lines, size_t **lens, size_t *n);
lmt_status lmt_examples_load(const char *path, const char *column, char ***lines, size_t **lens, size_t *n);
/* The same with run_clm.py's keep_linebreaks for text files (true: each line
 * keeps its "\n", as lmt_examples_load; false: datasets' text builder default,
 * the "\n" dropped). WikiText's raw files read as the wikitext dataset either way. */
lmt_status lmt_examples_load_lb(const char *path, const char *column, bool keep_linebreaks, char ***lines, size_t **lens,
                                size_t *n);
void lmt_text_lines_free(char **lines, size_t *lens, size_t n);
/* group_texts over per-example token arrays. */
lmt_status lmt_group_texts(const lmt_encoding *enc, size_t n, int block_size, int map_batch_size, lmt_clm_blocks *out);
lmt_status lmt_clm_prepare(const lmt_tokenizer *tok, const char *path, int block_size, int map_batch_size,
                           int64_t max_examples, lmt_clm_blocks *out);
/* The same over examples already in memory; `source` names them in errors. */
lmt_status lmt_clm_prepare_examples(const lmt_tokenizer *tok, char *const *lines, const size_t *lens, size_t n, const char *source,
                                    int block_size, int map_batch_size, lmt_clm_blocks *out);
void lmt_clm_blocks_free(lmt_clm_blocks *b);
#endif
