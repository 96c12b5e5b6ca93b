/* transformers' fill-mask pipeline: tokenize, one eval forward of the MLM
 * encoder, softmax + top-k at every mask, and the pipeline's strings
 * (FillMaskPipeline.postprocess): token_str = decode([id]); sequence =
 * decode of the input ids with that mask replaced, padding dropped, special
 * tokens skipped only when the text has a single mask (with several, the
 * other [MASK]s - and [CLS]/[SEP] - stay, as the pipeline keeps them). */
#ifndef LMT_GENERATE_FILL_MASK_PIPELINE_H
#define LMT_GENERATE_FILL_MASK_PIPELINE_H
#include <stdbool.h>
#include <stdint.h>
#include "lmtune/lmtune.h"
#include "lmtune/tokenizer.h"

typedef struct lmt_fill_mask_result {
    double score;
    int32_t token;
    char *token_str;
    char *sequence;
} lmt_fill_mask_result;

typedef struct lmt_fill_mask_output {
    int n_masks, top_k;
    lmt_fill_mask_result *results;   /* n_masks * top_k, mask by mask, best first */
} lmt_fill_mask_output;

/* Fails (LMT_ERR_ARG) for a tokenizer without a mask token, a text without
 * one, a model that is not BERT / RoBERTa / DistilBERT, top_k outside
 * 1..vocab, or a text longer than the model's positions. Decoding uses
 * clean_up_tokenization_spaces = clean_up (the tokenizer_config value). */
lmt_status lmt_fill_mask(lmt_model *m, const lmt_tokenizer *tok, const char *text, int top_k, bool clean_up,
                         lmt_fill_mask_output *out);
void lmt_fill_mask_output_free(lmt_fill_mask_output *o);
#endif
