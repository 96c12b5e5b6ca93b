/* Dropout: the drop rate and 1/(1-p) scaling hold statistically, masks are
 * reproducible from the seed, and a model in eval mode applies none. */
#include <stdlib.h>
#include "harness.h"
#include "kernels/dropout.h"
#include "models/gpt2.h"

int main(void) {
    size_t n = 1 << 20;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *z = malloc(n * sizeof *z);
    const float ps[] = {0.1f, 0.5f};
    for (int k = 0; k < 2; k++) {
        float p = ps[k];
        for (size_t i = 0; i < n; i++) x[i] = 1.0f;
        lmt_dropout_forward(y, x, n, p, 1234);
        size_t zeros = 0, bad_scale = 0;
        double sum = 0;
        for (size_t i = 0; i < n; i++) {
            if (y[i] == 0.0f) zeros++;
            else if (y[i] != 1.0f / (1.0f - p)) bad_scale++;
            sum += y[i];
        }
        double rate = (double)zeros / (double)n, sd = sqrt(p * (1 - p) / (double)n);
        CHECK_MSG(fabs(rate - p) < 5 * sd, "p=%.1f: dropped %.5f", p, rate);   /* 5 sigma */
        CHECK(bad_scale == 0);
        CHECK_MSG(fabs(sum / (double)n - 1.0) < 5 * sd / (1 - p), "p=%.1f: mean %.5f", p, sum / (double)n);
        lmt_dropout_forward(z, x, n, p, 1234);
        CHECK(memcmp(y, z, n * sizeof *y) == 0);          /* same seed, same mask */
        lmt_dropout_forward(z, x, n, p, 1235);
        CHECK(memcmp(y, z, n * sizeof *y) != 0);
    }
    lmt_dropout_forward(y, x, n, 0.0f, 7);
    CHECK(memcmp(x, y, n * sizeof *y) == 0);               /* p = 0 is the identity */

    /* GPT-2 with dropout 0.1 in its config: eval mode is deterministic, training mode is not */
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(LMT_SOURCE_DIR "/tests/fixtures/models/gpt2", &m));
    lmt_gpt2 *g = NULL;
    if (m) CHECK_OK(lmt_gpt2_create(m, 1, 8, false, &g));
    if (g) {
        CHECK(m->cfg.dropout == 0.1 && m->cfg.attn_dropout == 0.1 && m->cfg.embd_dropout == 0.1);
        int32_t ids[8] = {1, 5, 9, 13, 17, 21, 25, 29};
        size_t V = (size_t)m->cfg.vocab_size, N = 8 * V;
        float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
        CHECK_OK(lmt_gpt2_forward(g, LMT_I32, ids, NULL, NULL, 1, 8, false));
        memcpy(a, g->logits, N * sizeof *a);
        CHECK_OK(lmt_gpt2_forward(g, LMT_I32, ids, NULL, NULL, 1, 8, false));
        CHECK(memcmp(a, g->logits, N * sizeof *a) == 0);
        lmt_gpt2_set_seed(g, 1);
        CHECK_OK(lmt_gpt2_forward(g, LMT_I32, ids, NULL, NULL, 1, 8, true));
        memcpy(b, g->logits, N * sizeof *b);
        CHECK(memcmp(a, b, N * sizeof *a) != 0);
        free(a);
        free(b);
    }
    lmt_gpt2_free(g);
    lmt_model_free(m);
    free(x); free(y); free(z);
    return lmt_test_finish();
}
