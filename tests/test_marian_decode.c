/* The key/value-cached Marian decoder (models/marian_decode.h) step by step
 * against the full forward (models/marian.h, itself checked against
 * transformers in test_marian_parity.c) over the same prefixes: padded
 * sources, several rows per source, a beam reorder (duplicated and swapped
 * rows) half way; then bad calls refused. Token-level parity with
 * generate() is test_seq2seq_generate.c. */
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "core/error.h"
#include "core/rng.h"
#include "models/marian.h"
#include "models/marian_decode.h"
#include "models/model.h"

#define FX LMT_SOURCE_DIR "/tests/fixtures"

enum { B = 3, NB = 2, R = B * NB, TS = 6, L = 9 };

int main(void) {
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(FX "/models/marian", &m));
    if (!m) return lmt_test_finish();
    int V = (int)m->cfg.vocab_size;
    int32_t src[B * TS] = {88, 79, 2, 17, 86, 0, 82, 44, 0, 95, 95, 95, 86, 5, 86, 5, 54, 0};
    int32_t mask[B * TS] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1};
    int32_t seq[R * L], srcR[R * TS], maskR[R * TS], dec[R * L], tok[R];
    lmt_rng rng;
    lmt_rng_seed(&rng, 3);
    for (int i = 0; i < R * L; i++) seq[i] = (int32_t)(lmt_rng_u64(&rng) % (uint64_t)V);
    for (int r = 0; r < R; r++) {
        seq[r * L] = 95;   // decoder_start
        memcpy(srcR + r * TS, src + (r / NB) * TS, sizeof(int32_t) * TS);
        memcpy(maskR + r * TS, mask + (r / NB) * TS, sizeof(int32_t) * TS);
    }
    lmt_marian_dec *d = NULL;
    lmt_marian *full = NULL;
    CHECK_OK(lmt_marian_dec_create(m, B, TS, NB, L, &d));
    CHECK_OK(lmt_marian_create(m, R, TS, L, false, &full));
    if (!d || !full) return lmt_test_finish();
    CHECK(d->V == V);
    CHECK_OK(lmt_marian_dec_encode(d, src, mask));
    const int reorder_at = 4, perm[R] = {1, 1, 3, 2, 5, 4};
    double worst = 0;
    for (int t = 0; t < L; t++) {
        if (t == reorder_at) {   // rows follow their beams: the reference sequences move with them
            int32_t old[R * L];
            memcpy(old, seq, sizeof seq);
            for (int r = 0; r < R; r++) memcpy(seq + r * L, old + perm[r] * L, sizeof(int32_t) * t);
            CHECK_OK(lmt_marian_dec_reorder(d, perm));
        }
        for (int r = 0; r < R; r++) tok[r] = seq[r * L + t];
        float *lg = NULL;
        CHECK_OK(lmt_marian_dec_step(d, tok, t, &lg));
        if (!lg) break;
        for (int r = 0; r < R; r++) memcpy(dec + r * (t + 1), seq + r * L, sizeof(int32_t) * (t + 1));
        CHECK_OK(lmt_marian_forward(full, LMT_I32, srcR, maskR, dec, NULL, R, TS, t + 1, false));
        for (int r = 0; r < R; r++)
            for (int v = 0; v < V; v++) {
                double e = fabs((double)lg[r * V + v] - full->logits[((size_t)r * (t + 1) + t) * V + v]);
                worst = e > worst ? e : worst;
            }
    }
    CHECK_MSG(worst < 1e-4, "cached vs full logits differ by %.3g", worst);
    printf("max |cached - full| logit difference: %.3g\n", worst);

    // bad calls: clear errors
    float *lg = NULL;
    CHECK(lmt_marian_dec_step(d, tok, 3, &lg) == LMT_ERR_ARG && strstr(lmt_last_error(), "position"));
    CHECK(lmt_marian_dec_step(d, tok, L, &lg) == LMT_ERR_ARG);   // the cache is full
    CHECK_OK(lmt_marian_dec_encode(d, src, NULL));               // empties the cache
    CHECK(d->len == 0 && !d->masked);
    tok[2] = V;
    CHECK(lmt_marian_dec_step(d, tok, 0, &lg) == LMT_ERR_ARG && strstr(lmt_last_error(), "vocabulary"));
    int bad_perm[R] = {0, 1, 2, 3, 4, R};
    CHECK(lmt_marian_dec_reorder(d, bad_perm) == LMT_ERR_ARG);
    int cross_perm[R] = {2, 1, 2, 3, 4, 5};   // row 0 may not take a row of source 1
    CHECK(lmt_marian_dec_reorder(d, cross_perm) == LMT_ERR_ARG && strstr(lmt_last_error(), "another source"));
    lmt_marian_dec *d2 = NULL;
    CHECK(lmt_marian_dec_create(m, 1, 4, 1, (int)m->cfg.max_positions + 1, &d2) == LMT_ERR_ARG && !d2);
    CHECK(strstr(lmt_last_error(), "max_position_embeddings") != NULL);
    lmt_marian_free(full);
    lmt_marian_dec_free(d);
    lmt_model_free(m);
    return lmt_test_finish();
}
