/* The tokenizer files the Trainer saves beside the model (save_model and
 * each checkpoint: tokenizer.save_pretrained): the tokenizer's own files as
 * the source folder has them (tokenizer.json, vocab.json + merges.txt,
 * vocab.txt, source.spm + target.spm + vocab.json, tokenizer.model), its
 * tokenizer_config.json (and special_tokens_map.json when the source has
 * one), and, for a bare folder without tokenizer_config.json, the one
 * transformers 5.23's save_pretrained writes for that family (GPT-2,
 * RoBERTa, BERT): docs/TRAINER_OUTPUTS.md. */
#ifndef LMT_TRAIN_TOKENIZER_FILES_H
#define LMT_TRAIN_TOKENIZER_FILES_H
#include "lmtune/lmtune.h"
#include "lmtune/tokenizer.h"

/* *out: the tokenizer_config.json text to write for tok_dir's tokenizer, or
 * NULL when tok_dir has its own (it is copied). Caller frees. */
lmt_status lmt_tokenizer_config_text(const char *tok_dir, const lmt_tokenizer *tok, char **out);
/* Copies tok_dir's tokenizer files into dst (which must exist) and writes
 * config_text (lmt_tokenizer_config_text; NULL: none) as
 * dst/tokenizer_config.json. */
lmt_status lmt_tokenizer_files_save(const char *tok_dir, const char *config_text, const char *dst);
#endif
