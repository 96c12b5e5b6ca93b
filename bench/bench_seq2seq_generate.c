/* Marian generation with and without the key/value cache: lmtune's
 * lmt_seq2seq_generate (encoder once, cached decoder steps) against the
 * pre-cache way, which re-ran lmt_marian_forward (encoder and the whole
 * decoder prefix of every row) for each new token. Random weights of a
 * Marian configuration (opus-mt-en-fr by default), B padded sources, eos
 * disabled so every row runs to max_length; greedy tokens of both paths are
 * compared, and for beam search the uncached figure is the model time alone
 * (the same forwards over B * num_beams rows), which is what dominated the
 * old beam search.
 *
 *   bench_seq2seq_generate [B] [max_length] [num_beams] [config.json]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/error.h"
#include "generate/seq2seq_generate.h"
#include "models/config.h"
#include "models/marian.h"
#include "models/model.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* The pre-cache loop: rows R, each step a full forward over the prefix. */
static lmt_status uncached(lmt_model *m, const int32_t *src, const int32_t *mask, int R, int Ts, int L, int32_t start,
                           int32_t *seq) {
    lmt_marian *mt = NULL;
    LMT_TRY(lmt_marian_create(m, R, Ts, L, false, &mt));
    int32_t *dec = malloc((size_t)R * L * sizeof(int32_t));
    for (int r = 0; r < R; r++) seq[(size_t)r * L] = start;
    lmt_status st = LMT_OK;
    for (int t = 1; t < L && st == LMT_OK; t++) {
        for (int r = 0; r < R; r++) memcpy(dec + (size_t)r * t, seq + (size_t)r * L, (size_t)t * sizeof(int32_t));
        st = lmt_marian_forward(mt, LMT_I32, src, mask, dec, NULL, R, Ts, t, false);
        for (int r = 0; r < R && st == LMT_OK; r++) {
            const float *lg = mt->logits + ((size_t)r * t + t - 1) * mt->Vd;
            int best = 0;
            for (int v = 1; v < mt->Vd; v++)
                if (lg[v] > lg[best]) best = v;
            seq[(size_t)r * L + t] = best;
        }
    }
    free(dec);
    lmt_marian_free(mt);
    return st;
}

int main(int argc, char **argv) {
    int B = argc > 1 ? atoi(argv[1]) : 4, L = argc > 2 ? atoi(argv[2]) : 32, nb = argc > 3 ? atoi(argv[3]) : 4;
    const char *cfg_path = argc > 4 ? argv[4] : LMT_SHARED_DATA_DIR "/configs/opus-mt-en-fr.json";
    if (B <= 0 || L < 2 || nb <= 0) {
        fprintf(stderr, "usage: %s [B] [max_length] [num_beams] [config.json]\n", argv[0]);
        return 2;
    }
    lmt_config cfg;
    lmt_model *m = NULL;
    if (lmt_config_load(cfg_path, &cfg) != LMT_OK || lmt_model_init(&cfg, 1, &m) != LMT_OK) {
        fprintf(stderr, "error: %s\n", lmt_last_error());
        return 1;
    }
    int Ts = 24, V = (int)m->cfg.vocab_size, pad = (int)m->cfg.pad_token_id;
    int32_t *src = malloc((size_t)B * nb * Ts * 4), *mask = malloc((size_t)B * nb * Ts * 4);
    srand(5);
    for (int b = 0; b < B; b++) {
        int n = Ts - (b * 7) % (Ts - 2);
        for (int t = 0; t < Ts; t++) {
            src[b * Ts + t] = t < n - 1 ? 1 + rand() % (V - 2) : t == n - 1 ? (int)m->cfg.eos_token_id : pad;
            mask[b * Ts + t] = t < n;
        }
    }
    lmt_s2s_gen_opts o = lmt_s2s_gen_opts_from_model(m);
    o.max_length = L;
    o.max_new_tokens = 0;
    o.eos_token_id = o.forced_eos_token_id = -1;   // run every row to max_length
    o.num_beams = 1;
    o.num_return_sequences = 1;
    printf("model %s: d_model %lld, %lld+%lld layers, vocab %d; %d sources of <= %d tokens, max_length %d\n", cfg_path,
           (long long)m->cfg.d_model, (long long)m->cfg.n_layer, (long long)m->cfg.dec_layers, V, B, Ts, L);
    int32_t *got = NULL, *ref = malloc((size_t)B * nb * L * 4);
    float *scores = NULL;
    int T = 0;
    double t0 = now();
    if (lmt_seq2seq_generate(m, src, mask, B, Ts, &o, &got, &T, NULL) != LMT_OK) goto fail;
    double t_cached = now() - t0;
    t0 = now();
    if (uncached(m, src, mask, B, Ts, L, o.decoder_start_token_id, ref) != LMT_OK) goto fail;
    double t_uncached = now() - t0;
    bool same = T == L && !memcmp(got, ref, (size_t)B * L * 4);
    printf("greedy      : cached %.3f s, uncached %.3f s (x%.1f); tokens identical: %s\n", t_cached, t_uncached,
           t_uncached / t_cached, same ? "yes" : "NO");
    free(got);
    got = NULL;
    if (nb > 1) {
        o.num_beams = nb;
        t0 = now();
        if (lmt_seq2seq_generate(m, src, mask, B, Ts, &o, &got, &T, &scores) != LMT_OK) goto fail;
        t_cached = now() - t0;
        for (int i = B * nb - 1; i >= 0; i--) {   // the sources repeated per beam
            memmove(src + (size_t)i * Ts, src + (size_t)(i / nb) * Ts, (size_t)Ts * 4);
            memmove(mask + (size_t)i * Ts, mask + (size_t)(i / nb) * Ts, (size_t)Ts * 4);
        }
        t0 = now();
        if (uncached(m, src, mask, B * nb, Ts, L, o.decoder_start_token_id, ref) != LMT_OK) goto fail;
        t_uncached = now() - t0;
        printf("beam %-2d     : cached %.3f s, uncached model time %.3f s (x%.1f)\n", nb, t_cached, t_uncached,
               t_uncached / t_cached);
    }
    free(got);
    free(scores);
    free(ref);
    free(src);
    free(mask);
    lmt_model_free(m);
    return same ? 0 : 1;
fail:
    fprintf(stderr, "error: %s\n", lmt_last_error());
    return 1;
}
