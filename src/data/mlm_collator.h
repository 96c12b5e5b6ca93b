/* Masking collators for masked-language-model training, as the HF
 * workflows build their batches:
 *  - LMT_MLM_TOKENS: transformers' DataCollatorForLanguageModeling
 *    (torch_mask_tokens): each eligible token chosen with mlm_probability;
 *    of the chosen, mask_replace_prob -> mask token, random_replace_prob
 *    (of all chosen) -> a uniform random id in [0, len(tokenizer)), the rest
 *    kept. Special tokens and padding are never chosen.
 *  - LMT_MLM_WHOLE_WORD: the course's whole_word_masking_data_collator:
 *    tokens grouped into words by runs of equal word_ids (-1 = None never
 *    belongs to a word), each word masked with wwm_probability, every token
 *    of a masked word becomes the mask token.
 *  - LMT_MLM_PREMASKED: no masking; the rows already carry their masked
 *    input_ids and labels (see lmt_mlm_mask_dataset), only padded.
 * Batches are padded (right) to the longest example, rounded up to
 * pad_to_multiple_of; attention_mask is 1 on real tokens, labels -100 on
 * everything not masked. The random stream is core/rng.h seeded from `seed`
 * (not torch's), and each collate call draws fresh masks. */
#ifndef LMT_DATA_MLM_COLLATOR_H
#define LMT_DATA_MLM_COLLATOR_H
#include <stdbool.h>
#include <stdint.h>
#include "core/rng.h"
#include "data/dataset.h"
#include "lmtune/tokenizer.h"
#include "data/batch.h"

typedef enum lmt_mlm_mode { LMT_MLM_TOKENS = 0, LMT_MLM_WHOLE_WORD, LMT_MLM_PREMASKED } lmt_mlm_mode;

typedef struct lmt_mlm_opts {
    lmt_mlm_mode mode;
    double mlm_probability;      /* TOKENS: 0.15; must be in (0, 1) */
    double mask_replace_prob;    /* TOKENS: 0.8 */
    double random_replace_prob;  /* TOKENS: 0.1 (mask + random <= 1) */
    double wwm_probability;      /* WHOLE_WORD: 0.2; must be in (0, 1) */
    int pad_to_multiple_of;      /* 0 = none */
    uint64_t seed;
} lmt_mlm_opts;
lmt_mlm_opts lmt_mlm_opts_default(void);

/* Reads rows of a dataset: INTS columns "input_ids" (required), optional
 * "token_type_ids", "special_tokens_mask" (1 = special; without it, ids in
 * the tokenizer's special ids are special, as get_special_tokens_mask does),
 * "word_ids" (required for WHOLE_WORD) and "labels" (required for
 * PREMASKED; ignored otherwise: masking makes its own). The dataset and
 * tokenizer must outlive the collator. */
typedef struct lmt_mlm_collator {
    lmt_mlm_opts o;
    const lmt_dataset *ds;
    const lmt_ds_column *input_ids, *token_type_ids, *special_tokens_mask, *word_ids, *labels;
    int32_t pad_id, mask_id;
    int64_t vocab_size;          /* len(tokenizer): range of random replacement ids */
    int32_t special[7];          /* the tokenizer's special ids */
    int n_special;
    lmt_rng rng;
} lmt_mlm_collator;

/* Checks the options (probabilities, a mask token, a pad token, the columns
 * and their lengths) and seeds the generator. */
lmt_status lmt_mlm_collator_init(lmt_mlm_collator *c, const lmt_dataset *ds, const lmt_tokenizer *tok,
                                 const lmt_mlm_opts *o);
/* Collates rows idx[0..n) of the dataset into *out (malloc'd arrays; release
 * with lmt_batch_free). Signature of lmt_train_data.collate. */
lmt_status lmt_mlm_collate(void *collator, const int64_t *idx, int n, lmt_batch *out);
/* The collator as the Trainer's data source. */
lmt_train_data lmt_mlm_train_data(lmt_mlm_collator *c);

/* The deterministic evaluation mode (the course's insert_random_mask): masks
 * every row of `in` once, in order, with a generator seeded from o->seed,
 * and writes a dataset with columns input_ids (masked), labels and, when
 * present in `in`, token_type_ids. Collate it with a PREMASKED collator:
 * the same seed gives the same evaluation set, so perplexity repeats. */
lmt_status lmt_mlm_mask_dataset(const lmt_dataset *in, const lmt_tokenizer *tok, const lmt_mlm_opts *o,
                                lmt_dataset *out);
#endif
