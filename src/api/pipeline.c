/* lmtune/pipeline.h: transformers' text-generation, fill-mask and
 * translation pipelines over lmtune/generate.h and generate/fill_mask_pipeline.h. */
#include <stdlib.h>
#include <string.h>
#include "lmtune/pipeline.h"
#include "core/error.h"
#include "generate/fill_mask_pipeline.h"
#include "models/model.h"
#include "train/seq2seq_metrics.h"

struct lmt_pipeline {
    lmt_pipeline_task task;
    lmt_model *m;
    const lmt_tokenizer *tok;
    lmt_model *owned_model;        /* lmt_pipeline_load's */
    lmt_tokenizer *owned_tok;
    bool clean_up;                 /* tokenizer_config.json's clean_up_tokenization_spaces */
};

static const char *const task_names[] = {"text-generation", "fill-mask", "translation"};

/* Whether m's architecture serves the task, as an error naming both. */
static lmt_status check_fit(lmt_pipeline_task task, const lmt_model *m, const lmt_tokenizer *tok) {
    if ((unsigned)task > LMT_PIPELINE_TRANSLATION) return lmt_fail(LMT_ERR_ARG, "pipeline task %d: unknown", (int)task);
    lmt_arch a = lmt_model_arch(m);
    bool ok = task == LMT_PIPELINE_TEXT_GENERATION ? a == LMT_ARCH_GPT2 || a == LMT_ARCH_LLAMA || a == LMT_ARCH_MISTRAL || a == LMT_ARCH_QWEN2
            : task == LMT_PIPELINE_TRANSLATION     ? a == LMT_ARCH_MARIAN
                                                   : a == LMT_ARCH_BERT || a == LMT_ARCH_ROBERTA || a == LMT_ARCH_DISTILBERT;
    if (!ok) return lmt_fail(LMT_ERR_ARG, "%s pipeline: %s does not do it", task_names[task], lmt_arch_class_name(a));
    if (lmt_tokenizer_vocab_size(tok) > (size_t)m->cfg.vocab_size)
        return lmt_fail(LMT_ERR_ARG, "%s pipeline: the tokenizer has %zu tokens but the model's vocabulary holds %lld",
                        task_names[task], lmt_tokenizer_vocab_size(tok), (long long)m->cfg.vocab_size);
    return LMT_OK;
}

lmt_status lmt_pipeline_create(lmt_pipeline_task task, lmt_model *m, const lmt_tokenizer *tok, lmt_pipeline **out) {
    *out = NULL;
    LMT_TRY(check_fit(task, m, tok));
    lmt_pipeline *p = calloc(1, sizeof *p);
    if (!p) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    p->task = task;
    p->m = m;
    p->tok = tok;
    *out = p;
    return LMT_OK;
}

lmt_status lmt_pipeline_load(lmt_pipeline_task task, const char *model_dir, const char *tokenizer_dir, lmt_pipeline **out) {
    *out = NULL;
    if (!tokenizer_dir) tokenizer_dir = model_dir;
    lmt_model *m = NULL;
    lmt_tokenizer *tok = NULL;
    lmt_status s = lmt_model_load(model_dir, &m);
    if (s == LMT_OK) s = lmt_tokenizer_load(tokenizer_dir, &tok);
    if (s == LMT_OK) s = lmt_pipeline_create(task, m, tok, out);
    if (s != LMT_OK) {
        lmt_tokenizer_free(tok);
        lmt_model_free(m);
        return s;
    }
    (*out)->owned_model = m;
    (*out)->owned_tok = tok;
    (*out)->clean_up = lmt_tokenizer_dir_cleans_up(tokenizer_dir);
    return LMT_OK;
}

void lmt_pipeline_free(lmt_pipeline *p) {
    if (!p) return;
    lmt_tokenizer_free(p->owned_tok);
    lmt_model_free(p->owned_model);
    free(p);
}

lmt_model *lmt_pipeline_model(lmt_pipeline *p) { return p->m; }
const lmt_tokenizer *lmt_pipeline_tokenizer(const lmt_pipeline *p) { return p->tok; }

static lmt_status want_task(const lmt_pipeline *p, lmt_pipeline_task task) {
    if (p->task != task) return lmt_fail(LMT_ERR_ARG, "a %s pipeline cannot run %s", task_names[p->task], task_names[task]);
    return LMT_OK;
}

/* Generates from text encoded with `eo` (NULL: the tokenizer's defaults). */
static lmt_status generate_text(lmt_pipeline *p, const char *text, const lmt_encode_opts *eo, const lmt_generation_opts *opts,
                                lmt_generation *g) {
    lmt_encoding e;
    LMT_TRY(lmt_tokenizer_encode(p->tok, text, strlen(text), NULL, 0, eo, &e));
    lmt_status s = lmt_model_generate(p->m, e.ids, e.n, opts, g);
    lmt_encoding_free(&e);
    return s;
}

lmt_status lmt_pipeline_text_generation(lmt_pipeline *p, const char *prompt, const lmt_generation_opts *opts,
                                        char **generated_text) {
    *generated_text = NULL;
    LMT_TRY(want_task(p, LMT_PIPELINE_TEXT_GENERATION));
    lmt_generation g;
    LMT_TRY(generate_text(p, prompt, NULL, opts, &g));
    size_t len;
    lmt_status s = lmt_tokenizer_decode(p->tok, g.ids, g.length, true, p->clean_up, generated_text, &len);
    lmt_generation_free(&g);
    return s;
}

lmt_status lmt_pipeline_fill_mask(lmt_pipeline *p, const char *text, int32_t top_k, lmt_fill_result *out) {
    memset(out, 0, sizeof *out);
    LMT_TRY(want_task(p, LMT_PIPELINE_FILL_MASK));
    lmt_fill_mask_output o = {0};
    LMT_TRY(lmt_fill_mask(p->m, p->tok, text, top_k, p->clean_up, &o));
    size_t n = (size_t)o.n_masks * (size_t)o.top_k;
    out->candidates = calloc(n ? n : 1, sizeof *out->candidates);
    if (!out->candidates) { lmt_fill_mask_output_free(&o); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    out->n_masks = o.n_masks;
    out->top_k = o.top_k;
    /* the strings change hands: the internal output keeps NULLs */
    for (size_t i = 0; i < n; i++) {
        lmt_fill_mask_result *r = &o.results[i];
        lmt_fill_candidate c = {r->score, r->token, r->token_str, r->sequence};
        out->candidates[i] = c;
        r->token_str = r->sequence = NULL;
    }
    lmt_fill_mask_output_free(&o);
    return LMT_OK;
}

void lmt_fill_result_free(lmt_fill_result *r) {
    for (size_t i = 0; r->candidates && i < (size_t)r->n_masks * (size_t)r->top_k; i++) {
        free(r->candidates[i].token_str);
        free(r->candidates[i].sequence);
    }
    free(r->candidates);
    memset(r, 0, sizeof *r);
}

lmt_status lmt_pipeline_translate(lmt_pipeline *p, const char *text, const lmt_generation_opts *opts, char ***texts,
                                  size_t *n) {
    *texts = NULL;
    *n = 0;
    LMT_TRY(want_task(p, LMT_PIPELINE_TRANSLATION));
    lmt_encode_opts eo = lmt_encode_opts_default();
    eo.truncation = LMT_TRUNCATE_LONGEST_FIRST;
    eo.max_length = p->m->cfg.max_positions;
    lmt_generation g;
    LMT_TRY(generate_text(p, text, &eo, opts, &g));
    char **t = calloc(g.n_sequences ? g.n_sequences : 1, sizeof *t);
    lmt_status s = t ? LMT_OK : lmt_fail(LMT_ERR_NOMEM, "out of memory");
    for (size_t r = 0; s == LMT_OK && r < g.n_sequences; r++) {
        size_t len;
        s = lmt_tokenizer_decode(p->tok, g.ids + r * g.length, g.length, true, p->clean_up, &t[r], &len);
    }
    if (s != LMT_OK) {
        for (size_t r = 0; t && r < g.n_sequences; r++) free(t[r]);
        free(t);
    } else {
        *texts = t;
        *n = g.n_sequences;
    }
    lmt_generation_free(&g);
    return s;
}
