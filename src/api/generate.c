/* lmtune/generate.h over src/generate: GPT-2 through lmt_generate, Marian
 * through lmt_seq2seq_generate, with one options struct. */
#include <stdlib.h>
#include <string.h>
#include "lmtune/generate.h"
#include "core/error.h"
#include "generate/generate.h"
#include "generate/seq2seq_generate.h"
#include "models/model.h"

lmt_generation_opts lmt_generation_opts_default(const lmt_model *m) {
    lmt_gen_opts g = lmt_gen_opts_default();
    lmt_generation_opts o;
    memset(&o, 0, sizeof o);
    o.max_new_tokens = g.max_new_tokens;
    o.temperature = g.temperature;
    o.top_k = 50;   /* GenerationConfig's top_k; used only when sampling */
    o.top_p = g.top_p;
    o.seed = g.seed;
    o.num_beams = o.num_return_sequences = 1;
    o.length_penalty = 1.0;
    o.early_stopping = LMT_EARLY_STOP_FALSE;
    o.eos_token_id = o.forced_bos_token_id = o.forced_eos_token_id = -1;
    if (!m) return o;
    o.eos_token_id = (int32_t)m->cfg.eos_token_id;
    if (m->cfg.arch != LMT_ARCH_MARIAN) return o;
    lmt_s2s_gen_opts s = lmt_s2s_gen_opts_from_model(m);
    o.max_new_tokens = s.max_new_tokens;
    o.max_length = s.max_length;
    o.min_length = s.min_length;
    o.min_new_tokens = s.min_new_tokens;
    o.num_beams = s.num_beams;
    o.num_return_sequences = s.num_return_sequences;
    o.length_penalty = s.length_penalty;
    o.early_stopping = (lmt_early_stopping)s.early_stopping;
    o.no_repeat_ngram_size = s.no_repeat_ngram_size;
    o.eos_token_id = s.eos_token_id;
    o.forced_bos_token_id = s.forced_bos_token_id;
    o.forced_eos_token_id = s.forced_eos_token_id;
    return o;
}

void lmt_generation_free(lmt_generation *g) {
    free(g->ids);
    free(g->scores);
    memset(g, 0, sizeof *g);
}

static lmt_status generate_causal(lmt_model *m, const int32_t *ids, size_t n, const lmt_generation_opts *o,
                                  lmt_generation *out) {
    if (o->num_beams != 1) return lmt_fail(LMT_ERR_ARG, "num_beams %d: beam search is for Marian; GPT-2 generates greedily or samples", o->num_beams);
    if (!(o->temperature > 0) || !(o->top_p > 0 && o->top_p <= 1) || o->top_k < 0)
        return lmt_fail(LMT_ERR_ARG, "temperature %g, top_p %g, top_k %d: need temperature > 0, top_p in (0, 1], top_k >= 0",
                        o->temperature, o->top_p, o->top_k);
    lmt_gen_opts g = lmt_gen_opts_from_model(m);   /* generation_config.json's EOS list, pad, repetition_penalty, min_p */
    g.no_repeat_ngram_size = o->no_repeat_ngram_size;
    if (o->eos_token_id != (int32_t)m->cfg.eos_token_id) g.n_eos = 0;   /* an EOS the caller chose replaces the list */
    g.max_new_tokens = o->max_new_tokens > 0 ? o->max_new_tokens : o->max_length > (int32_t)n ? o->max_length - (int)n : 0;
    g.do_sample = o->do_sample;
    g.temperature = o->temperature;
    g.top_k = o->top_k;
    g.top_p = o->top_p;
    g.seed = o->seed;
    g.eos_token_id = o->eos_token_id;
    int n_out = 0;
    LMT_TRY(lmt_generate(m, ids, (int)n, &g, &out->ids, &n_out));
    out->n_sequences = 1;
    out->length = (size_t)n_out;
    return LMT_OK;
}

static lmt_status generate_seq2seq(lmt_model *m, const int32_t *ids, size_t n, const lmt_generation_opts *o,
                                   lmt_generation *out) {
    /* the model's settings the struct does not carry (bad_words_ids, pad,
     * decoder_start) stay as lmt_s2s_gen_opts_from_model reads them */
    lmt_s2s_gen_opts g = lmt_s2s_gen_opts_from_model(m);
    g.num_beams = o->num_beams;
    g.max_length = o->max_length;
    g.max_new_tokens = o->max_new_tokens;
    g.min_length = o->min_length;
    g.min_new_tokens = o->min_new_tokens;
    g.length_penalty = o->length_penalty;
    g.early_stopping = (int)o->early_stopping;
    g.num_return_sequences = o->num_return_sequences;
    g.no_repeat_ngram_size = o->no_repeat_ngram_size;
    g.eos_token_id = o->eos_token_id;
    g.forced_bos_token_id = o->forced_bos_token_id;
    g.forced_eos_token_id = o->forced_eos_token_id;
    int len = 0;
    LMT_TRY(lmt_seq2seq_generate(m, ids, NULL, 1, (int)n, &g, &out->ids, &len, &out->scores));
    out->n_sequences = g.num_beams > 1 ? (size_t)g.num_return_sequences : 1;
    out->length = (size_t)len;
    return LMT_OK;
}

lmt_status lmt_model_generate(lmt_model *m, const int32_t *input_ids, size_t n, const lmt_generation_opts *opts,
                              lmt_generation *out) {
    memset(out, 0, sizeof *out);
    lmt_generation_opts d;
    if (!opts) { d = lmt_generation_opts_default(m); opts = &d; }
    if (n == 0 || n > (size_t)m->cfg.max_positions)
        return lmt_fail(LMT_ERR_ARG, "input of %zu tokens: the model takes 1 to %lld", n, (long long)m->cfg.max_positions);
    for (size_t i = 0; i < n; i++)
        if (input_ids[i] < 0 || input_ids[i] >= m->cfg.vocab_size)
            return lmt_fail(LMT_ERR_ARG, "input id %d at %zu: outside the vocabulary of %lld", input_ids[i], i, (long long)m->cfg.vocab_size);
    switch (m->cfg.arch) {
    case LMT_ARCH_GPT2:
    case LMT_ARCH_LLAMA:
    case LMT_ARCH_MISTRAL:
    case LMT_ARCH_QWEN2: return generate_causal(m, input_ids, n, opts, out);
    case LMT_ARCH_MARIAN: return generate_seq2seq(m, input_ids, n, opts, out);
    default: return lmt_fail(LMT_ERR_UNSUPPORTED, "generate: %s is an encoder; it does not generate", lmt_arch_class_name(m->cfg.arch));
    }
}
