/* Greedy and beam search for MarianMTModel, following transformers 5.x
 * generate(): _sample (greedy) and _beam_search with its helpers
 * (_get_top_k_continuations, _get_running_beams_for_next_iteration,
 * _update_finished_beams, _check_early_stop_heuristic), over the key/value
 * cached decoder of models/marian_decode.h. Scores are kept in float32 and
 * the -1e9 penalties added as transformers adds them, so the same
 * candidates win. */
#include "generate/seq2seq_generate.h"
#include "kernels/fastmath.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "models/marian_decode.h"

#define NEG_BIG (-1.0e9f)
#define SRC "seq2seq generate"

static const lmt_json *gen_get(const lmt_json *g, const char *key) { return g ? lmt_json_get(g, key) : NULL; }

static int64_t gen_int(const lmt_json *g, const char *key, int64_t def) {
    const lmt_json *v = gen_get(g, key);
    if (v && v->type == LMT_JSON_ARRAY && v->len > 0) v = &v->items[0];   // eos_token_id may be a list: its first id
    return v && v->type == LMT_JSON_NUMBER && v->is_int ? v->i64 : def;
}

lmt_s2s_gen_opts lmt_s2s_gen_opts_from_model(const lmt_model *m) {
    const lmt_config *c = &m->cfg;
    const lmt_json *g = m->generation_config;
    lmt_s2s_gen_opts o = {.num_beams = 1, .length_penalty = 1.0, .early_stopping = LMT_S2S_ES_FALSE,
                          .num_return_sequences = 1};
    o.eos_token_id = (int32_t)gen_int(g, "eos_token_id", c->eos_token_id);
    o.pad_token_id = (int32_t)gen_int(g, "pad_token_id", c->pad_token_id);
    o.decoder_start_token_id = (int32_t)gen_int(g, "decoder_start_token_id", c->decoder_start_token_id);
    o.forced_bos_token_id = (int32_t)gen_int(g, "forced_bos_token_id", -1);
    o.forced_eos_token_id = (int32_t)gen_int(g, "forced_eos_token_id", -1);
    o.num_beams = (int)gen_int(g, "num_beams", 1);
    o.num_return_sequences = (int)gen_int(g, "num_return_sequences", 1);
    /* no max_length anywhere: generate() takes 20 new tokens after the one
     * decoder_start token, capped at max_position_embeddings */
    int64_t ml = gen_int(g, "max_length", -1);
    if (ml < 0) ml = c->max_positions > 0 && c->max_positions < 21 ? c->max_positions : 21;
    o.max_length = (int)ml;
    o.max_new_tokens = (int)gen_int(g, "max_new_tokens", 0);
    o.min_length = (int)gen_int(g, "min_length", 0);
    o.min_new_tokens = (int)gen_int(g, "min_new_tokens", 0);
    o.no_repeat_ngram_size = (int)gen_int(g, "no_repeat_ngram_size", 0);
    const lmt_json *v = gen_get(g, "length_penalty");
    if (v && v->type == LMT_JSON_NUMBER) o.length_penalty = v->num;
    v = gen_get(g, "early_stopping");
    if (v && v->type == LMT_JSON_BOOL) o.early_stopping = v->boolean ? LMT_S2S_ES_TRUE : LMT_S2S_ES_FALSE;
    if (v && v->type == LMT_JSON_STRING && strcmp(v->str, "never") == 0) o.early_stopping = LMT_S2S_ES_NEVER;
    v = gen_get(g, "bad_words_ids");
    o.config_bad_words = v && v->type == LMT_JSON_ARRAY && v->len > 0;
    return o;
}

/* The logits processors of one call, bad words resolved and checked. */
typedef struct {
    const lmt_s2s_gen_opts *o;
    int V, max_length, min_length;
    int32_t *bw;        /* concatenated bad-word sequences */
    int *bw_off, *bw_len;
    int nbw;
} procs;

static void procs_free(procs *p) {
    free(p->bw);
    free(p->bw_off);
    free(p->bw_len);
}

/* Adds one bad word (tokens[0..n)); drops a single-token ban of eos, as
 * NoBadWordsLogitsProcessor does. */
static lmt_status add_bad_word(procs *p, const int64_t *toks, int n, int idx, const char *what, size_t *cap) {
    if (n < 1) return lmt_fail(LMT_ERR_ARG, SRC ": %s[%d] is empty", what, idx);
    for (int i = 0; i < n; i++)
        if (toks[i] < 0 || toks[i] >= p->V)
            return lmt_fail(LMT_ERR_ARG, SRC ": %s[%d][%d] = %lld is outside the vocabulary (0..%d)", what, idx, i,
                            (long long)toks[i], p->V - 1);
    if (n == 1 && p->o->eos_token_id >= 0 && toks[0] == p->o->eos_token_id) return LMT_OK;
    size_t used = p->nbw ? (size_t)p->bw_off[p->nbw - 1] + p->bw_len[p->nbw - 1] : 0;
    if (used + n > *cap || !p->bw) {
        size_t nc = (*cap + n) * 2 + 16;
        int32_t *nb = realloc(p->bw, nc * sizeof *nb);
        if (!nb) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
        p->bw = nb;
        *cap = nc;
    }
    for (int i = 0; i < n; i++) p->bw[used + i] = (int32_t)toks[i];
    p->bw_off[p->nbw] = (int)used;
    p->bw_len[p->nbw++] = n;
    return LMT_OK;
}

static lmt_status procs_init(procs *p, const lmt_model *m, const lmt_s2s_gen_opts *o, int V, int max_length) {
    memset(p, 0, sizeof *p);
    p->o = o;
    p->V = V;
    p->max_length = max_length;
    p->min_length = o->min_new_tokens > 0 ? 1 + o->min_new_tokens : o->min_length;
    if (o->min_length < 0 || o->min_new_tokens < 0)
        return lmt_fail(LMT_ERR_ARG, SRC ": min_length (%d) / min_new_tokens (%d) must not be negative", o->min_length,
                        o->min_new_tokens);
    if (o->no_repeat_ngram_size < 0)
        return lmt_fail(LMT_ERR_ARG, SRC ": no_repeat_ngram_size must not be negative, got %d", o->no_repeat_ngram_size);
    struct { const char *name; int32_t id; } ids[] = {{"eos_token_id", o->eos_token_id},
                                                      {"forced_bos_token_id", o->forced_bos_token_id},
                                                      {"forced_eos_token_id", o->forced_eos_token_id},
                                                      {"decoder_start_token_id", o->decoder_start_token_id}};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (ids[i].id >= V || (i == 3 && ids[i].id < 0))
            return lmt_fail(LMT_ERR_ARG, SRC ": %s %d is outside the vocabulary (0..%d)", ids[i].name, ids[i].id, V - 1);
    size_t cap = 0;
    lmt_status st = LMT_OK;
    if (o->bad_words || o->n_bad_words > 0) {
        if (o->n_bad_words < 0 || (o->n_bad_words > 0 && !o->bad_words))
            return lmt_fail(LMT_ERR_ARG, SRC ": bad_words_ids: %d sequences but no tokens", o->n_bad_words);
        int n = o->n_bad_words;
        p->bw_off = malloc(((size_t)n + 1) * sizeof(int));
        p->bw_len = malloc(((size_t)n + 1) * sizeof(int));
        if (!p->bw_off || !p->bw_len) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
        size_t at = 0;
        for (int i = 0; i < n && st == LMT_OK; i++) {
            int len = o->bad_word_lens ? o->bad_word_lens[i] : 1;
            int64_t tk[64];
            if (len > 64) return lmt_fail(LMT_ERR_ARG, SRC ": bad_words_ids[%d] has %d tokens (at most 64)", i, len);
            for (int j = 0; j < len; j++) tk[j] = o->bad_words[at + j];
            at += len > 0 ? (size_t)len : 0;
            st = add_bad_word(p, tk, len, i, "bad_words_ids", &cap);
        }
    } else if (o->config_bad_words) {
        const lmt_json *v = gen_get(m->generation_config, "bad_words_ids");
        if (!v || v->type != LMT_JSON_ARRAY) return LMT_OK;
        p->bw_off = malloc((v->len + 1) * sizeof(int));
        p->bw_len = malloc((v->len + 1) * sizeof(int));
        if (!p->bw_off || !p->bw_len) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < v->len && st == LMT_OK; i++) {
            const lmt_json *seq = &v->items[i];
            int64_t tk[64];
            if (seq->type != LMT_JSON_ARRAY || seq->len > 64)
                return lmt_fail(LMT_ERR_FORMAT, SRC ": generation_config.json: bad_words_ids[%zu] is not a list of at most 64 token ids", i);
            for (size_t j = 0; j < seq->len; j++) {
                if (seq->items[j].type != LMT_JSON_NUMBER || !seq->items[j].is_int)
                    return lmt_fail(LMT_ERR_FORMAT, SRC ": generation_config.json: bad_words_ids[%zu][%zu] is not an integer", i, j);
                tk[j] = seq->items[j].i64;
            }
            st = add_bad_word(p, tk, (int)seq->len, (int)i, "generation_config.json bad_words_ids", &cap);
        }
    }
    return st;
}

/* The processors generate() builds, in its order, on one row's scores s (V)
 * given its tokens seq[0..cur_len) (decoder_start first). */
static void process_scores(const procs *p, float *s, const int32_t *seq, int cur_len) {
    const lmt_s2s_gen_opts *o = p->o;
    int V = p->V, n = o->no_repeat_ngram_size;
    if (n > 0 && cur_len >= n) {   // NoRepeatNGram: a window whose first n-1 tokens end the prefix bans its last
        const int32_t *tail = seq + cur_len - n + 1;
        for (int i = 0; i + n <= cur_len; i++)
            if (!memcmp(seq + i, tail, (size_t)(n - 1) * sizeof(int32_t)) && seq[i + n - 1] < V)
                s[seq[i + n - 1]] = -INFINITY;
    }
    for (int i = 0; i < p->nbw; i++) {   // NoBadWords
        const int32_t *w = p->bw + p->bw_off[i];
        int k = p->bw_len[i] - 1;
        if (k <= cur_len && !memcmp(seq + cur_len - k, w, (size_t)k * sizeof(int32_t))) s[w[k]] = -INFINITY;
    }
    if (o->eos_token_id >= 0 && cur_len < p->min_length) s[o->eos_token_id] = -INFINITY;   // MinLength / MinNewTokens
    if (o->forced_bos_token_id >= 0 && cur_len == 1) {
        for (int v = 0; v < V; v++) s[v] = -INFINITY;
        s[o->forced_bos_token_id] = 0;
    }
    if (o->forced_eos_token_id >= 0 && cur_len == p->max_length - 1) {
        for (int v = 0; v < V; v++) s[v] = -INFINITY;
        s[o->forced_eos_token_id] = 0;
    }
}

/* The sum of exponentials accumulates in double over the vectorised fp32
 * exp (2 ulp): lse agrees with an all-double computation to ~1e-7. */
static void log_softmax(const float *x, float *y, int V) {
    float mx = -INFINITY;
#pragma omp simd reduction(max:mx)
    for (int v = 0; v < V; v++) mx = x[v] > mx ? x[v] : mx;
    double sum = 0;
#pragma omp simd reduction(+:sum)
    for (int v = 0; v < V; v++) sum += (double)lmt_expf(x[v] - mx);
    float lse = mx + (float)log(sum);
#pragma omp simd
    for (int v = 0; v < V; v++) y[v] = x[v] - lse;
}

typedef struct { float score; int idx; } cand;

/* Descending by score; ties keep the lower index first (torch.topk on CPU
 * returns ties in index order in practice). */
static int cand_cmp(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->score > y->score) return -1;
    if (x->score < y->score) return 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* k best of n: partial selection, ascending idx among ties. */
static void top_k(const float *s, int n, int k, cand *out) {
    int have = 0;
    for (int i = 0; i < n; i++) {
        cand c = {s[i], i};
        if (have == k && cand_cmp(&c, &out[k - 1]) >= 0) continue;
        int j = have < k ? have++ : k - 1;
        while (j > 0 && cand_cmp(&c, &out[j - 1]) < 0) { out[j] = out[j - 1]; j--; }
        out[j] = c;
    }
}

typedef struct {
    lmt_marian_dec *dec;
    int32_t *tok;          /* (R) the tokens fed this step */
    int R, V;
} runner;

/* Logits (R, V) of the next token of each of the R rows seq[r][0..cur_len):
 * feeds each row's last token at position cur_len - 1 to the cache. */
static lmt_status run_step(runner *r, const int32_t *seq, int stride, int cur_len, float **last) {
    for (int i = 0; i < r->R; i++) r->tok[i] = seq[(size_t)i * stride + cur_len - 1];
    return lmt_marian_dec_step(r->dec, r->tok, cur_len - 1, last);
}

static lmt_status greedy(runner *r, const procs *p, int max_length, int32_t **out, int *out_len) {
    const lmt_s2s_gen_opts *o = p->o;
    int B = r->R, V = r->V;
    int32_t *seq = lmt_malloc((size_t)B * max_length * 4);
    bool *done = lmt_calloc((size_t)B, 1);
    if (!seq || !done) { free(seq); free(done); return lmt_fail(LMT_ERR_NOMEM, SRC ": out of memory"); }
    for (int b = 0; b < B; b++) seq[(size_t)b * max_length] = o->decoder_start_token_id;
    int cur_len = 1;
    lmt_status st = LMT_OK;
    while (cur_len < max_length) {
        float *lg;
        if ((st = run_step(r, seq, max_length, cur_len, &lg)) != LMT_OK) break;
        bool all_done = true;
        for (int b = 0; b < B; b++) {
            float *s = lg + (size_t)b * V;
            process_scores(p, s, seq + (size_t)b * max_length, cur_len);
            int best = 0;
            for (int v = 1; v < V; v++)
                if (s[v] > s[best]) best = v;
            // finished rows continue with pad, as transformers does
            int32_t tok = done[b] && o->pad_token_id >= 0 ? o->pad_token_id : best;
            seq[(size_t)b * max_length + cur_len] = tok;
            if (o->eos_token_id >= 0 && tok == o->eos_token_id) done[b] = true;
            all_done &= done[b];
        }
        cur_len++;
        if (all_done) break;
    }
    if (st == LMT_OK) {
        int32_t *res = lmt_malloc((size_t)B * cur_len * 4);
        if (!res) st = lmt_fail(LMT_ERR_NOMEM, SRC ": out of memory");
        else {
            for (int b = 0; b < B; b++) memcpy(res + (size_t)b * cur_len, seq + (size_t)b * max_length, (size_t)cur_len * 4);
            *out = res;
            *out_len = cur_len;
        }
    }
    free(seq);
    free(done);
    return st;
}

static lmt_status beam(runner *r, int B, const procs *p, int max_length, int32_t **out, int *out_len,
                       float **scores_out) {
    const lmt_s2s_gen_opts *o = p->o;
    const int nb = o->num_beams, V = r->V, L = max_length, K = 2 * nb, nret = o->num_return_sequences;
    const int32_t fill = o->pad_token_id >= 0 ? o->pad_token_id : o->eos_token_id >= 0 ? o->eos_token_id : -1;
    const float lp = (float)o->length_penalty;
    size_t nrun = (size_t)B * nb;
    int32_t *run = lmt_malloc(nrun * L * 4), *fin = lmt_malloc(nrun * L * 4), *cseq = lmt_malloc((size_t)K * L * 4);
    float *rscore = lmt_malloc(nrun * 4), *fscore = lmt_malloc(nrun * 4), *acc = lmt_malloc(nrun * V * 4);
    int *flen = lmt_calloc(nrun, sizeof(int)), *src_rows = lmt_malloc(nrun * sizeof(int));
    bool *ffin = lmt_calloc(nrun, 1), *unsat = lmt_malloc((size_t)B), *hits = lmt_calloc((size_t)K, 1);
    cand *ck = lmt_malloc((size_t)K * sizeof(cand)), *merged = lmt_malloc((size_t)(nb + K) * sizeof(cand));
    int32_t *mseq = lmt_malloc((size_t)nb * L * 4);
    lmt_status st = LMT_OK;
    if (!run || !fin || !cseq || !rscore || !fscore || !acc || !flen || !src_rows || !ffin || !unsat || !hits || !ck ||
        !merged || !mseq) {
        st = lmt_fail(LMT_ERR_NOMEM, SRC ": out of memory");
        goto done;
    }
    for (size_t i = 0; i < nrun * L; i++) run[i] = fill;
    for (size_t i = 0; i < nrun; i++) {
        run[i * L] = o->decoder_start_token_id;
        rscore[i] = (i % nb) ? NEG_BIG : 0.0f;   // only the first beam is live at the start
        fscore[i] = NEG_BIG;
    }
    memcpy(fin, run, nrun * L * 4);
    for (int b = 0; b < B; b++) unsat[b] = true;
    int cur_len = 1;
    while (true) {
        float *lg;
        if ((st = run_step(r, run, L, cur_len, &lg)) != LMT_OK) goto done;
        bool all_hit = true, all_fin = true, any_unsat = false;
        /* every row's log-probabilities, processors and running score, in
         * parallel: the rows are independent, and this is most of a step's
         * work outside the decoder (B x beams x 60k-word vocabularies) */
#pragma omp parallel for schedule(static)
        for (long i = 0; i < (long)nrun; i++) {
            float *a = acc + (size_t)i * V;
            log_softmax(lg + (size_t)i * V, a, V);
            process_scores(p, a, run + (size_t)i * L, cur_len);
            float base = rscore[i];
#pragma omp simd
            for (int v = 0; v < V; v++) a[v] += base;
        }
        for (int b = 0; b < B; b++) {
            float *rs = rscore + (size_t)b * nb, *fs = fscore + (size_t)b * nb;
            int32_t *rq = run + (size_t)b * nb * L, *fq = fin + (size_t)b * nb * L;
            int *fl = flen + (size_t)b * nb;
            bool *ff = ffin + (size_t)b * nb;
            top_k(acc + (size_t)b * nb * V, nb * V, K, ck);
            for (int j = 0; j < K; j++) {
                int beam_i = ck[j].idx / V, tok = ck[j].idx % V;
                memcpy(cseq + (size_t)j * L, rq + (size_t)beam_i * L, (size_t)L * 4);
                cseq[(size_t)j * L + cur_len] = tok;
                hits[j] = cur_len + 1 >= max_length || (o->eos_token_id >= 0 && tok == o->eos_token_id);
                all_hit &= hits[j];
            }
            // next running beams: the best candidates that did not finish
            float runsc[64];
            cand rk[64];
            for (int j = 0; j < K; j++) runsc[j] = ck[j].score + (hits[j] ? NEG_BIG : 0.0f);
            top_k(runsc, K, nb, rk);
            // finished set: previous finals, then the top-nb candidates that just finished
            bool full = o->early_stopping == LMT_S2S_ES_TRUE;
            for (int k = 0; k < nb; k++) full &= ff[k];
            float div = powf((float)cur_len, lp);
            int nm = 0;
            for (int k = 0; k < nb; k++) merged[nm++] = (cand){fs[k], k};
            for (int j = 0; j < K; j++) {
                bool did = hits[j] && j < nb;
                float s = ck[j].score / div;
                if (full) s += NEG_BIG;
                if (!unsat[b]) s += NEG_BIG;
                if (!did) s += NEG_BIG;
                merged[nm++] = (cand){s, nb + j};
            }
            qsort(merged, (size_t)nm, sizeof(cand), cand_cmp);
            float nfs[64];
            int nfl[64];
            bool nff[64];
            for (int k = 0; k < nb; k++) {
                int id = merged[k].idx;
                nfs[k] = merged[k].score;
                if (id < nb) {
                    memcpy(mseq + (size_t)k * L, fq + (size_t)id * L, (size_t)L * 4);
                    nfl[k] = fl[id];
                    nff[k] = ff[id];
                } else {
                    int j = id - nb;
                    memcpy(mseq + (size_t)k * L, cseq + (size_t)j * L, (size_t)L * 4);
                    nfl[k] = cur_len;   // generated tokens, eos included
                    nff[k] = hits[j] && j < nb;
                }
            }
            memcpy(fq, mseq, (size_t)nb * L * 4);
            for (int k = 0; k < nb; k++) { fs[k] = nfs[k]; fl[k] = nfl[k]; ff[k] = nff[k]; }
            // the running beams move last: cseq is read from rq's old contents above;
            // the cache rows follow their beams (transformers' _reorder_cache)
            for (int k = 0; k < nb; k++) {
                memcpy(mseq + (size_t)k * L, cseq + (size_t)rk[k].idx * L, (size_t)L * 4);
                rs[k] = rk[k].score;
                src_rows[(size_t)b * nb + k] = b * nb + ck[rk[k].idx].idx / V;
            }
            memcpy(rq, mseq, (size_t)nb * L * 4);
            // early-stop heuristic with the new length
            int hyp = (o->early_stopping == LMT_S2S_ES_NEVER && lp > 0) ? max_length - 1 : cur_len;
            float best = rs[0] / powf((float)hyp, lp);
            bool improvable = false;
            float worst = fs[0];
            for (int k = 1; k < nb; k++) worst = fminf(worst, fs[k]);
            for (int k = 0; k < nb; k++) improvable |= best > (ff[k] ? worst : NEG_BIG);
            unsat[b] = unsat[b] && improvable;
            any_unsat |= unsat[b];
            for (int k = 0; k < nb; k++) all_fin &= ff[k];
        }
        cur_len++;
        if (!any_unsat || (all_fin && o->early_stopping == LMT_S2S_ES_TRUE) || all_hit) break;
        if ((st = lmt_marian_dec_reorder(r->dec, src_rows)) != LMT_OK) goto done;
    }
    {
        int gen = 0;
        for (int b = 0; b < B; b++)
            for (int k = 0; k < nret; k++) gen = gen > flen[(size_t)b * nb + k] ? gen : flen[(size_t)b * nb + k];
        int T = 1 + gen;
        int32_t *res = lmt_malloc((size_t)B * nret * T * 4);
        float *sc = scores_out ? lmt_malloc((size_t)B * nret * 4) : NULL;
        if (!res || (scores_out && !sc)) {
            free(res);
            free(sc);
            st = lmt_fail(LMT_ERR_NOMEM, SRC ": out of memory");
            goto done;
        }
        for (int b = 0; b < B; b++)
            for (int k = 0; k < nret; k++) {
                size_t row = (size_t)b * nret + k, src = (size_t)b * nb + k;
                memcpy(res + row * T, fin + src * L, (size_t)T * 4);
                if (sc) sc[row] = fscore[src];
            }
        *out = res;
        *out_len = T;
        if (scores_out) *scores_out = sc;
    }
done:
    free(run); free(fin); free(cseq); free(rscore); free(fscore); free(acc); free(flen); free(src_rows);
    free(ffin); free(unsat); free(hits); free(ck); free(merged); free(mseq);
    return st;
}

lmt_status lmt_seq2seq_generate(lmt_model *m, const int32_t *input_ids, const int32_t *attention_mask, int B, int Ts,
                                const lmt_s2s_gen_opts *o, int32_t **out, int *out_len, float **scores) {
    if (!m || !input_ids || !o || !out || !out_len) return lmt_fail(LMT_ERR_ARG, SRC ": missing argument");
    *out = NULL;
    *out_len = 0;
    if (scores) *scores = NULL;
    if (m->cfg.arch != LMT_ARCH_MARIAN)
        return lmt_fail(LMT_ERR_ARG, SRC ": needs a MarianMTModel, not %s", lmt_arch_class_name(m->cfg.arch));
    if (o->max_new_tokens < 0) return lmt_fail(LMT_ERR_ARG, SRC ": max_new_tokens must not be negative, got %d", o->max_new_tokens);
    int max_length = o->max_new_tokens > 0 ? 1 + o->max_new_tokens : o->max_length;
    if (B < 1 || Ts < 1) return lmt_fail(LMT_ERR_ARG, SRC ": empty batch (%d x %d)", B, Ts);
    if (o->num_beams < 1 || o->num_beams > 32)
        return lmt_fail(LMT_ERR_ARG, SRC ": num_beams must be in 1..32, got %d", o->num_beams);
    if (o->num_return_sequences < 1 || o->num_return_sequences > o->num_beams)
        return lmt_fail(LMT_ERR_ARG, SRC ": num_return_sequences (%d) must be in 1..num_beams (%d)",
                        o->num_return_sequences, o->num_beams);
    if (max_length < 2) return lmt_fail(LMT_ERR_ARG, SRC ": max_length %d leaves no token to generate", max_length);
    if (m->cfg.max_positions > 0 && max_length > m->cfg.max_positions)
        return lmt_fail(LMT_ERR_ARG, SRC ": %s %d is beyond the model's %lld positions (max_position_embeddings)",
                        o->max_new_tokens > 0 ? "1 + max_new_tokens" : "max_length", max_length,
                        (long long)m->cfg.max_positions);
    if (m->cfg.max_positions > 0 && Ts > m->cfg.max_positions)
        return lmt_fail(LMT_ERR_ARG, SRC ": source length %d is beyond the model's %lld positions (max_position_embeddings)",
                        Ts, (long long)m->cfg.max_positions);
    if ((size_t)B * o->num_beams > (size_t)1 << 20) return lmt_fail(LMT_ERR_ARG, SRC ": batch too large");
    runner r = {.R = B * o->num_beams};
    lmt_status st = lmt_marian_dec_create(m, B, Ts, o->num_beams, max_length, &r.dec);
    if (st != LMT_OK) return st;
    r.V = r.dec->V;
    procs p;
    st = procs_init(&p, m, o, r.V, max_length);
    r.tok = lmt_malloc((size_t)r.R * sizeof(int32_t));
    if (st == LMT_OK && !r.tok) st = lmt_fail(LMT_ERR_NOMEM, SRC ": out of memory");
    if (st == LMT_OK) st = lmt_marian_dec_encode(r.dec, input_ids, attention_mask);
    if (st == LMT_OK) {
        if (o->num_beams == 1) st = greedy(&r, &p, max_length, out, out_len);
        else st = beam(&r, B, &p, max_length, out, out_len, scores);
    }
    procs_free(&p);
    free(r.tok);
    lmt_marian_dec_free(r.dec);
    return st;
}
