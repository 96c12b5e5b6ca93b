/* Supervised fine-tuning data as TRL's SFTTrainer prepares it (trl 1.16,
 * SFTTrainer._prepare_dataset and DataCollatorForLanguageModeling;
 * docs/SFT.md). From JSON Lines rows of one of three kinds, told by the
 * first row as TRL tells them:
 *   conversational   {"messages": [{"role", "content"}, ...]} (or ShareGPT's
 *                    {"conversations": [{"from", "value"}]}): the chat template's
 *                    rendering, tokenized without special tokens
 *   prompt-completion {"prompt", "completion"}: strings (EOS appended to the
 *                    completion unless it ends with it; tokenized with special
 *                    tokens) or message lists (the prompt rendered with the
 *                    generation prompt, then prompt + completion); the completion
 *                    starts where the two token lists diverge
 *   language modeling {"<dataset_text_field>": str}: EOS appended, tokenized
 * labels = input_ids with -100 outside the completion (completion_only_loss,
 * by default on for prompt-completion rows) and outside the template's
 * {% generation %} blocks (assistant_only_loss); then truncation to
 * max_length (rows left without a label dropped) or packing. */
#ifndef LMT_DATA_SFT_DATA_H
#define LMT_DATA_SFT_DATA_H
#include <stdbool.h>
#include <stdint.h>
#include "lmtune/lmtune.h"
#include "lmtune/tokenizer.h"
#include "data/batch.h"
#include "data/chat_template.h"

typedef enum { LMT_SFT_TEXT = 0, LMT_SFT_PROMPT_COMPLETION, LMT_SFT_MESSAGES } lmt_sft_kind;
/* packing_strategy: "bfd" (best-fit decreasing, overflow truncated), "bfd_split"
 * (overflow split into further sequences), "wrapped" (concatenated and cut) */
typedef enum { LMT_PACK_BFD = 0, LMT_PACK_BFD_SPLIT, LMT_PACK_WRAPPED } lmt_pack_strategy;

typedef struct lmt_sft_opts {
    const char *text_field;        /* dataset_text_field: "text" */
    int64_t max_length;            /* 1024; 0: None (no truncation) */
    bool keep_end;                 /* truncation_mode keep_end (deprecated in TRL) instead of keep_start */
    bool packing;
    lmt_pack_strategy strategy;    /* bfd */
    int completion_only_loss;      /* -1: None (on for prompt-completion rows), 0, 1 */
    bool assistant_only_loss;
    const char *eos_token;         /* NULL: the tokenizer's */
    int map_batch_size;            /* rows per packing batch (datasets' map: 1000) */
    /* SFTTrainer's formatting_func as a Jinja template: each row's fields are
     * its variables and its rendering becomes the row's text (a language-
     * modeling row, EOS appended). NULL: none. */
    const struct lmt_jinja_template *formatting;
    /* shuffle_dataset: Dataset.shuffle(seed) (numpy's default_rng(seed).permutation)
     * of the prepared examples; with packing also before packing */
    bool shuffle;
    uint64_t seed;
} lmt_sft_opts;
void lmt_sft_opts_default(lmt_sft_opts *o);
const char *lmt_pack_strategy_name(lmt_pack_strategy s);
/* "bfd", "bfd_split" (or the old "bfd-requeue"), "wrapped" */
lmt_status lmt_pack_strategy_parse(const char *name, lmt_pack_strategy *out);

/* The prepared dataset: example i is ids/labels[off[i], off[i+1]); packed
 * with bfd / bfd_split, its sequences have the lengths
 * seq_len[seq_off[i], seq_off[i+1]) (TRL's seq_lengths). */
typedef struct lmt_sft_data {
    int64_t n;
    int64_t *off;
    int32_t *ids, *labels;
    int64_t *seq_off;              /* NULL unless padding_free */
    int32_t *seq_len;
    lmt_sft_kind kind;
    bool conversational;           /* message lists (prompt-completion ones too) */
    bool completion_only_loss;     /* as resolved */
    bool padding_free;             /* packing with bfd / bfd_split: batches restart positions per sequence */
    int64_t n_rows, n_dropped;     /* rows read; rows dropped by truncation (no label left) */
} lmt_sft_data;

/* Reads path (JSON Lines, or a .json list of objects) and prepares it.
 * tmpl: the chat template (needed for conversational rows; NULL otherwise).
 * Errors name the file and line. */
lmt_status lmt_sft_prepare(const lmt_tokenizer *tok, const lmt_chat_tmpl *tmpl, const char *path, const lmt_sft_opts *o,
                           lmt_sft_data *out);
void lmt_sft_data_free(lmt_sft_data *d);
/* Reorders the examples as Dataset.shuffle(seed) does (called by lmt_sft_prepare). */
lmt_status lmt_sft_shuffle(lmt_sft_data *d, uint64_t seed);
/* Packs d in place (called by lmt_sft_prepare; sft_pack.c). */
lmt_status lmt_sft_pack(lmt_sft_data *d, int64_t seq_length, lmt_pack_strategy s, int map_batch_size);

/* DataCollatorForLanguageModeling over d: right padding with pad_id to the
 * longest example of the batch, labels -100 there, attention mask. Padding-
 * free batches (bfd packing) are TRL's one flattened row whose positions
 * restart at each sequence and whose attention (transformers' packed-
 * sequence mask) never crosses a sequence boundary, the first label of each
 * sequence -100. lmtune keeps each packed example as a row of the batch
 * (right-padded to the longest) with those position_ids, which models that
 * read them (the Llama family) attend and rotate by - the same computation
 * and loss as the flattened row; with per_sequence_rows (models without
 * position_ids: GPT-2) every sequence gets its own row instead, at
 * positions 0, 1, ... - the same again, with more padding. */
typedef struct lmt_sft_collator {
    lmt_train_data base;
    const lmt_sft_data *d;
    int32_t pad_id;
    bool per_sequence_rows;
} lmt_sft_collator;
void lmt_sft_collator_init(lmt_sft_collator *c, const lmt_sft_data *d, int32_t pad_id, bool per_sequence_rows);
/* The largest batch of up to bs examples the collator can produce (rows, tokens), for sizing a model. */
void lmt_sft_max_batch(const lmt_sft_collator *c, int bs, int *rows, int *tokens);
#endif
