/* Greedy and beam search for MarianMTModel, following transformers 5.x
 * generate(): _sample (greedy) and _beam_search with its helpers
 * (_get_top_k_continuations, _get_running_beams_for_next_iteration,
 * _update_finished_beams, _check_early_stop_heuristic). Scores are kept in
 * float32 and the -1e9 penalties added as transformers adds them, so the
 * same candidates win. */
#include "generate/seq2seq_generate.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "models/marian.h"

#define NEG_BIG (-1.0e9f)

static int64_t gen_int(const lmt_json *g, const char *key, int64_t def) {
    const lmt_json *v = g ? lmt_json_get(g, key) : NULL;
    return v && v->type == LMT_JSON_NUMBER && v->is_int ? v->i64 : def;
}

lmt_s2s_gen_opts lmt_s2s_gen_opts_from_model(const lmt_model *m) {
    const lmt_config *c = &m->cfg;
    const lmt_json *g = m->generation_config;
    lmt_s2s_gen_opts o = {.num_beams = 1, .max_length = 20, .length_penalty = 1.0,
                          .early_stopping = LMT_S2S_ES_FALSE, .num_return_sequences = 1};
    o.eos_token_id = (int32_t)gen_int(g, "eos_token_id", c->eos_token_id);
    o.pad_token_id = (int32_t)gen_int(g, "pad_token_id", c->pad_token_id);
    o.decoder_start_token_id = (int32_t)gen_int(g, "decoder_start_token_id", c->decoder_start_token_id);
    o.forced_eos_token_id = (int32_t)gen_int(g, "forced_eos_token_id", -1);
    o.num_beams = (int)gen_int(g, "num_beams", 1);
    o.max_length = (int)gen_int(g, "max_length", 20);
    const lmt_json *v = g ? lmt_json_get(g, "length_penalty") : NULL;
    if (v && v->type == LMT_JSON_NUMBER) o.length_penalty = v->num;
    v = g ? lmt_json_get(g, "early_stopping") : NULL;
    if (v && v->type == LMT_JSON_BOOL) o.early_stopping = v->boolean ? LMT_S2S_ES_TRUE : LMT_S2S_ES_FALSE;
    if (v && v->type == LMT_JSON_STRING && strcmp(v->str, "never") == 0) o.early_stopping = LMT_S2S_ES_NEVER;
    return o;
}

/* NoBadWordsLogitsProcessor (single tokens) then ForcedEOSTokenLogitsProcessor,
 * in transformers' order; cur_len counts decoder_start. */
static void process_scores(float *s, int V, int cur_len, const lmt_s2s_gen_opts *o, int max_length) {
    for (int i = 0; i < o->n_bad_words; i++)
        if (o->bad_words[i] >= 0 && o->bad_words[i] < V) s[o->bad_words[i]] = -INFINITY;
    if (o->forced_eos_token_id >= 0 && o->forced_eos_token_id < V && cur_len == max_length - 1) {
        for (int v = 0; v < V; v++) s[v] = -INFINITY;
        s[o->forced_eos_token_id] = 0;
    }
}

static void log_softmax(const float *x, float *y, int V) {
    float mx = -INFINITY;
    for (int v = 0; v < V; v++) mx = fmaxf(mx, x[v]);
    double sum = 0;
    for (int v = 0; v < V; v++) sum += exp((double)x[v] - mx);
    float lse = mx + (float)log(sum);
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
    lmt_marian *mt;
    int32_t *src, *mask;   /* (R, Ts) the source rows repeated per beam */
    int32_t *dec;          /* (R, max_length) scratch for the decoder prefix */
    int R, Ts, V;
} runner;

/* Logits of the last position of each of the R prefixes seq[r][0..cur_len). */
static lmt_status run_step(runner *r, const int32_t *seq, int stride, int cur_len, float **last) {
    for (int i = 0; i < r->R; i++) memcpy(r->dec + (size_t)i * cur_len, seq + (size_t)i * stride, (size_t)cur_len * 4);
    lmt_status st = lmt_marian_forward(r->mt, LMT_I32, r->src, r->mask, r->dec, NULL, r->R, r->Ts, cur_len, false);
    if (st != LMT_OK) return st;
    // gather rows to (R, V) in place: row i's last position is at (i * cur_len + cur_len - 1)
    float *lg = r->mt->logits;
    for (int i = 0; i < r->R; i++)
        memmove(lg + (size_t)i * r->V, lg + ((size_t)i * cur_len + cur_len - 1) * r->V, (size_t)r->V * sizeof(float));
    *last = lg;
    return LMT_OK;
}

static lmt_status greedy(runner *r, const lmt_s2s_gen_opts *o, int max_length, int32_t **out, int *out_len) {
    int B = r->R, V = r->V;
    int32_t *seq = lmt_malloc((size_t)B * max_length * 4);
    bool *done = lmt_calloc((size_t)B, 1);
    if (!seq || !done) { free(seq); free(done); return lmt_fail(LMT_ERR_NOMEM, "seq2seq generate: out of memory"); }
    for (int b = 0; b < B; b++) seq[(size_t)b * max_length] = o->decoder_start_token_id;
    int cur_len = 1;
    lmt_status st = LMT_OK;
    while (cur_len < max_length) {
        float *lg;
        if ((st = run_step(r, seq, max_length, cur_len, &lg)) != LMT_OK) break;
        bool all_done = true;
        for (int b = 0; b < B; b++) {
            float *s = lg + (size_t)b * V;
            process_scores(s, V, cur_len, o, max_length);
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
        if (!res) st = lmt_fail(LMT_ERR_NOMEM, "seq2seq generate: out of memory");
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

static lmt_status beam(runner *r, int B, const lmt_s2s_gen_opts *o, int max_length, int32_t **out, int *out_len,
                       float **scores_out) {
    const int nb = o->num_beams, V = r->V, L = max_length, K = 2 * nb, nret = o->num_return_sequences;
    const int32_t fill = o->pad_token_id >= 0 ? o->pad_token_id : o->eos_token_id >= 0 ? o->eos_token_id : -1;
    const float lp = (float)o->length_penalty;
    size_t nrun = (size_t)B * nb;
    int32_t *run = lmt_malloc(nrun * L * 4), *fin = lmt_malloc(nrun * L * 4), *cseq = lmt_malloc((size_t)K * L * 4);
    float *rscore = lmt_malloc(nrun * 4), *fscore = lmt_malloc(nrun * 4), *acc = lmt_malloc((size_t)nb * V * 4);
    int *flen = lmt_calloc(nrun, sizeof(int));
    bool *ffin = lmt_calloc(nrun, 1), *unsat = lmt_malloc((size_t)B), *hits = lmt_calloc((size_t)K, 1);
    cand *ck = lmt_malloc((size_t)K * sizeof(cand)), *merged = lmt_malloc((size_t)(nb + K) * sizeof(cand));
    int32_t *mseq = lmt_malloc((size_t)nb * L * 4), *clen_tmp = lmt_malloc((size_t)K * 4);
    lmt_status st = LMT_OK;
    if (!run || !fin || !cseq || !rscore || !fscore || !acc || !flen || !ffin || !unsat || !hits || !ck || !merged ||
        !mseq || !clen_tmp) {
        st = lmt_fail(LMT_ERR_NOMEM, "seq2seq generate: out of memory");
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
        for (int b = 0; b < B; b++) {
            float *rs = rscore + (size_t)b * nb, *fs = fscore + (size_t)b * nb;
            int32_t *rq = run + (size_t)b * nb * L, *fq = fin + (size_t)b * nb * L;
            int *fl = flen + (size_t)b * nb;
            bool *ff = ffin + (size_t)b * nb;
            for (int k = 0; k < nb; k++) {
                float *a = acc + (size_t)k * V;
                log_softmax(lg + ((size_t)b * nb + k) * V, a, V);
                process_scores(a, V, cur_len, o, max_length);
                for (int v = 0; v < V; v++) a[v] += rs[k];
            }
            top_k(acc, nb * V, K, ck);
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
            // the running beams move last: cseq is read from rq's old contents above
            for (int k = 0; k < nb; k++) {
                memcpy(mseq + (size_t)k * L, cseq + (size_t)rk[k].idx * L, (size_t)L * 4);
                rs[k] = rk[k].score;
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
            st = lmt_fail(LMT_ERR_NOMEM, "seq2seq generate: out of memory");
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
    free(run); free(fin); free(cseq); free(rscore); free(fscore); free(acc); free(flen);
    free(ffin); free(unsat); free(hits); free(ck); free(merged); free(mseq); free(clen_tmp);
    return st;
}

lmt_status lmt_seq2seq_generate(lmt_model *m, const int32_t *input_ids, const int32_t *attention_mask, int B, int Ts,
                                const lmt_s2s_gen_opts *o, int32_t **out, int *out_len, float **scores) {
    if (!m || !input_ids || !o || !out || !out_len) return lmt_fail(LMT_ERR_ARG, "seq2seq generate: missing argument");
    *out = NULL;
    *out_len = 0;
    if (scores) *scores = NULL;
    int max_length = o->max_new_tokens > 0 ? 1 + o->max_new_tokens : o->max_length;
    if (B < 1 || Ts < 1) return lmt_fail(LMT_ERR_ARG, "seq2seq generate: empty batch (%d x %d)", B, Ts);
    if (o->num_beams < 1 || o->num_beams > 32)
        return lmt_fail(LMT_ERR_ARG, "seq2seq generate: num_beams must be in 1..32, got %d", o->num_beams);
    if (o->num_return_sequences < 1 || o->num_return_sequences > o->num_beams)
        return lmt_fail(LMT_ERR_ARG, "seq2seq generate: num_return_sequences (%d) must be in 1..num_beams (%d)",
                        o->num_return_sequences, o->num_beams);
    if (max_length < 2) return lmt_fail(LMT_ERR_ARG, "seq2seq generate: max_length %d leaves no token to generate", max_length);
    if (m->cfg.max_positions > 0 && (max_length > m->cfg.max_positions || Ts > m->cfg.max_positions))
        return lmt_fail(LMT_ERR_ARG, "seq2seq generate: max_length %d / source length %d beyond the model's %lld positions",
                        max_length, Ts, (long long)m->cfg.max_positions);
    if ((size_t)B * o->num_beams > (size_t)1 << 20) return lmt_fail(LMT_ERR_ARG, "seq2seq generate: batch too large");
    runner r = {.R = B * o->num_beams, .Ts = Ts};
    lmt_status st = lmt_marian_create(m, r.R, Ts, max_length, false, &r.mt);
    if (st != LMT_OK) return st;
    r.V = r.mt->V;
    if (o->decoder_start_token_id < 0 || o->decoder_start_token_id >= r.V) {
        lmt_marian_free(r.mt);
        return lmt_fail(LMT_ERR_ARG, "seq2seq generate: decoder_start_token_id %d outside the vocabulary (%d)",
                        o->decoder_start_token_id, r.V);
    }
    r.src = lmt_malloc((size_t)r.R * Ts * 4);
    r.mask = lmt_malloc((size_t)r.R * Ts * 4);
    r.dec = lmt_malloc((size_t)r.R * max_length * 4);
    if (!r.src || !r.mask || !r.dec) st = lmt_fail(LMT_ERR_NOMEM, "seq2seq generate: out of memory");
    else {
        for (int i = 0; i < r.R; i++) {
            int b = i / o->num_beams;
            memcpy(r.src + (size_t)i * Ts, input_ids + (size_t)b * Ts, (size_t)Ts * 4);
            for (int t = 0; t < Ts; t++) r.mask[(size_t)i * Ts + t] = attention_mask ? attention_mask[(size_t)b * Ts + t] : 1;
        }
        if (o->num_beams == 1) st = greedy(&r, o, max_length, out, out_len);
        else st = beam(&r, B, o, max_length, out, out_len, scores);
    }
    free(r.src);
    free(r.mask);
    free(r.dec);
    lmt_marian_free(r.mt);
    return st;
}
