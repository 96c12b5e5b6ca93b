/* lmtune pipelines: transformers' pipeline("text-generation"),
 * pipeline("fill-mask") and pipeline("translation"): text in, text out. */
#ifndef LMTUNE_PIPELINE_H
#define LMTUNE_PIPELINE_H
#include "lmtune/generate.h"
#include "lmtune/lmtune.h"
#include "lmtune/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lmt_pipeline_task {
    LMT_PIPELINE_TEXT_GENERATION = 0,  /* GPT-2 */
    LMT_PIPELINE_FILL_MASK,            /* BERT, RoBERTa, DistilBERT */
    LMT_PIPELINE_TRANSLATION           /* Marian */
} lmt_pipeline_task;

typedef struct lmt_pipeline lmt_pipeline;

/* Loads the model folder and the tokenizer (tokenizer_dir NULL: the model
 * folder) for a task; the pipeline owns both. Fails (LMT_ERR_ARG) when the
 * model does not fit the task or the tokenizer has more tokens than the
 * model's vocabulary, and as lmt_model_load / lmt_tokenizer_load otherwise. */
LMT_API lmt_status lmt_pipeline_load(lmt_pipeline_task task, const char *model_dir, const char *tokenizer_dir,
                                     lmt_pipeline **out);
/* The same over a model and tokenizer the caller keeps (borrowed: they must
 * outlive the pipeline), e.g. a model just trained. Decoding then uses
 * clean_up_tokenization_spaces false (transformers 5's default). */
LMT_API lmt_status lmt_pipeline_create(lmt_pipeline_task task, lmt_model *m, const lmt_tokenizer *tok,
                                       lmt_pipeline **out);
LMT_API void lmt_pipeline_free(lmt_pipeline *p);
/* The pipeline's model and tokenizer (owned by it, or the borrowed ones). */
LMT_API lmt_model *lmt_pipeline_model(lmt_pipeline *p);
LMT_API const lmt_tokenizer *lmt_pipeline_tokenizer(const lmt_pipeline *p);

/* text-generation: *generated_text = prompt + continuation (the pipeline's
 * "generated_text"), the caller's to free. opts NULL: the model's defaults
 * (lmt_generation_opts_default). */
LMT_API lmt_status lmt_pipeline_text_generation(lmt_pipeline *p, const char *prompt, const lmt_generation_opts *opts,
                                                char **generated_text);

/* One fill-mask candidate: the pipeline's {score, token, token_str, sequence}. */
typedef struct lmt_fill_candidate {
    double score;
    int32_t token;
    char *token_str;
    char *sequence;
} lmt_fill_candidate;
/* n_masks * top_k candidates, mask by mask, best first. */
typedef struct lmt_fill_result {
    int32_t n_masks, top_k;
    lmt_fill_candidate *candidates;
} lmt_fill_result;
/* fill-mask with top_k candidates per mask token of text. *out is the
 * caller's (lmt_fill_result_free). Fails (LMT_ERR_ARG) for a text without a
 * mask token, top_k outside 1..vocabulary, or a text longer than the model's
 * positions. */
LMT_API lmt_status lmt_pipeline_fill_mask(lmt_pipeline *p, const char *text, int32_t top_k, lmt_fill_result *out);
LMT_API void lmt_fill_result_free(lmt_fill_result *r);

/* translation: the "translation_text"s of text, num_return_sequences of them
 * (1 unless opts asks for more), in *texts[0..*n) (the caller frees each and
 * the array). opts NULL: the model's generation_config (beam search). */
LMT_API lmt_status lmt_pipeline_translate(lmt_pipeline *p, const char *text, const lmt_generation_opts *opts,
                                          char ***texts, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
