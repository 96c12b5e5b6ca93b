/* Model allocation, initialisation and accessors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/rng.h"
#include "core/util.h"
#include "models/model.h"

lmt_status lmt_model_init(lmt_config *cfg, uint64_t seed, lmt_model **out) {
    *out = NULL;
    lmt_model *m = calloc(1, sizeof *m);
    if (!m) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    m->cfg = *cfg;
    m->save_dtype = -1;
    memset(cfg, 0, sizeof *cfg);
    lmt_status s = lmt_layout_build(&m->cfg, &m->layout);
    if (s != LMT_OK) { lmt_model_free(m); return s; }
    if (m->layout.num_floats > SIZE_MAX / sizeof(float)) {
        s = lmt_fail(LMT_ERR_ARG, "%s: model too large", m->cfg.source);   /* the message reads m: before it is freed */
        lmt_model_free(m);
        return s;
    }
    m->params = lmt_aligned_alloc(m->layout.num_floats * sizeof(float));
    m->report.src_dtype = calloc(m->layout.n_params ? m->layout.n_params : 1, sizeof(lmt_dtype));
    if (!m->params || !m->report.src_dtype) {
        s = lmt_fail(LMT_ERR_NOMEM, "out of memory allocating %zu parameters", m->layout.num_floats);
        lmt_model_free(m);
        return s;
    }
    memset(m->params, 0, m->layout.num_floats * sizeof(float));
    for (size_t i = 0; i < m->layout.n_params; i++) lmt_model_init_param(m, i, seed);
    *out = m;
    return LMT_OK;
}

static void sinusoidal(float *w, int64_t n_pos, int64_t dim, bool marian) {
    /* Both follow transformers: angles in float64, then cast. Marian puts all
     * sines first, DistilBERT interleaves them. */
    int64_t sentinel = dim / 2 + (dim % 2);
    for (int64_t pos = 0; pos < n_pos; pos++) {
        for (int64_t j = 0; j < dim; j++) {
            double angle = (double)pos / pow(10000.0, 2.0 * (double)(j / 2) / (double)dim);
            double v = (j % 2 == 0) ? sin(angle) : cos(angle);
            int64_t col = marian ? ((j % 2 == 0) ? j / 2 : sentinel + j / 2) : j;
            w[pos * dim + col] = (float)v;
        }
    }
}

void lmt_model_init_param(lmt_model *m, size_t i, uint64_t seed) {
    const lmt_param_spec *p = &m->layout.params[i];
    float *w = m->params + p->offset;
    switch (p->init) {
    case LMT_INIT_ZEROS: memset(w, 0, p->numel * sizeof(float)); break;
    case LMT_INIT_ONES: for (size_t k = 0; k < p->numel; k++) w[k] = 1.0f; break;
    case LMT_INIT_SINUSOIDAL_MARIAN: sinusoidal(w, p->shape[0], p->shape[1], true); break;
    case LMT_INIT_SINUSOIDAL_DISTILBERT: sinusoidal(w, p->shape[0], p->shape[1], false); break;
    case LMT_INIT_NORMAL: {
        lmt_rng r;
        lmt_rng_seed(&r, seed * 1000003ULL + i);
        double std = m->cfg.initializer_range;
        for (size_t k = 0; k < p->numel; k++) w[k] = (float)(std * lmt_rng_normal(&r));
        /* nn.Embedding with padding_idx zeroes that row at init */
        bool embedding = m->cfg.arch == LMT_ARCH_MARIAN
                             ? (strstr(p->name, "shared.weight") || strstr(p->name, "embed_tokens.weight"))
                         : lmt_arch_is_llama(m->cfg.arch) ? strstr(p->name, "embed_tokens.weight") != NULL
                                                          : (strstr(p->name, "word_embeddings") && m->cfg.arch != LMT_ARCH_GPT2);
        if (embedding && m->cfg.pad_token_id >= 0 && p->ndim == 2 && p->shape[0] > m->cfg.pad_token_id &&
            (p->shape[0] == m->cfg.vocab_size || m->cfg.arch == LMT_ARCH_MARIAN))   // Marian: either vocabulary
            memset(w + m->cfg.pad_token_id * p->shape[1], 0, (size_t)p->shape[1] * sizeof(float));
        break;
    }
    }
}

void lmt_model_free(lmt_model *m) {
    if (!m) return;
    lmt_config_free(&m->cfg);
    lmt_layout_free(&m->layout);
    lmt_aligned_free(m->params);
    lmt_json_free(m->generation_config);
    free(m->report.weights_file);
    for (size_t i = 0; i < m->report.n_missing; i++) free(m->report.missing[i]);
    free(m->report.missing);
    for (size_t i = 0; i < m->report.n_unused; i++) free(m->report.unused[i]);
    free(m->report.unused);
    free(m->report.src_dtype);
    free(m->dir);
    free(m);
}

float *lmt_model_tensor(lmt_model *m, const char *hf_name) {
    long i = lmt_layout_find(&m->layout, hf_name);
    return i < 0 ? NULL : m->params + m->layout.params[i].offset;
}

lmt_arch lmt_model_arch(const lmt_model *m) { return m->cfg.arch; }

size_t lmt_model_num_params(const lmt_model *m) {
    size_t n = 0;
    /* as transformers' num_parameters(): buffers are not parameters */
    for (size_t i = 0; i < m->layout.n_params; i++)
        if (!(m->layout.params[i].flags & LMT_PARAM_BUFFER)) n += m->layout.params[i].numel;
    return n;
}

float *lmt_model_params(lmt_model *m) { return m->params; }
size_t lmt_model_num_tensors(const lmt_model *m) { return m->layout.n_params; }

lmt_status lmt_model_param_info(const lmt_model *m, size_t i, lmt_param_info *out) {
    if (i >= m->layout.n_params) return lmt_fail(LMT_ERR_ARG, "parameter index %zu out of range (%zu)", i, m->layout.n_params);
    const lmt_param_spec *p = &m->layout.params[i];
    memset(out, 0, sizeof *out);
    out->hf_name = p->name;
    out->ndim = p->ndim;
    for (int d = 0; d < p->ndim; d++) out->shape[d] = p->shape[d];
    out->offset = p->offset;
    out->numel = p->numel;
    out->no_decay = (p->flags & LMT_PARAM_NO_DECAY) != 0;
    return LMT_OK;
}
