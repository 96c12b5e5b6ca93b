/* Fill-mask scoring against torch: softmax + topk (tie order included) on
 * LCG logits that tools/reference/make_fill_mask_fixtures.py rebuilds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "harness.h"
#include "generate/fill_mask.h"

static float *make_logits(int T, int V, uint64_t seed, uint64_t levels) {
    float *x = malloc((size_t)T * V * sizeof(float));
    uint64_t s = seed;
    for (size_t j = 0; j < (size_t)T * V; j++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t q = (s >> 33) % levels;
        x[j] = (float)((double)q * (20.0 / (double)levels) - 10.0);
    }
    return x;
}

int main(void) {
    FILE *f = fopen(LMT_SOURCE_DIR "/tests/fixtures/fill_mask/topk.txt", "r");
    CHECK(f != NULL);
    if (!f) return lmt_test_finish();
    int T, V, k, npos, cases = 0;
    unsigned long long seed, levels;
    while (fscanf(f, "%d %d %llu %llu %d %d", &T, &V, &seed, &levels, &k, &npos) == 6) {
        int pos[8];
        for (int i = 0; i < npos; i++) CHECK(fscanf(f, "%d", &pos[i]) == 1);
        float *x = make_logits(T, V, seed, levels);
        lmt_fill_mask_pred *out = malloc((size_t)npos * k * sizeof *out);
        CHECK_OK(lmt_fill_mask_topk(x, T, V, pos, npos, k, out));
        int id_bad = 0;
        double worst = 0;
        for (int i = 0; i < npos * k; i++) {
            int id;
            double sc;
            CHECK(fscanf(f, "%d %lf", &id, &sc) == 2);
            if (out[i].token_id != id) id_bad++;
            if (fabs(out[i].score - sc) > worst) worst = fabs(out[i].score - sc);
        }
        CHECK_MSG(id_bad == 0, "case %d (V=%d levels=%llu k=%d): %d ids differ from torch.topk", cases, V, levels, k, id_bad);
        CHECK_MSG(worst <= 1e-6, "case %d: score error %g", cases, worst);
        free(out);
        free(x);
        cases++;
    }
    fclose(f);
    CHECK(cases == 6);

    /* positions and bad input */
    int32_t ids[] = {0, 5, 103, 7, 103, 2};
    int *pos = NULL, n = 0;
    CHECK_OK(lmt_fill_mask_positions(ids, 6, 103, &pos, &n));
    CHECK(n == 2 && pos && pos[0] == 2 && pos[1] == 4);
    free(pos);
    CHECK(lmt_fill_mask_positions(ids, 6, 104, &pos, &n) == LMT_ERR_ARG && pos == NULL);
    CHECK(strstr(lmt_last_error(), "no mask token") != NULL);
    CHECK(lmt_fill_mask_positions(ids, 6, -1, &pos, &n) == LMT_ERR_ARG);
    float lg[6] = {1, 2, 3, 4, 5, 6};
    lmt_fill_mask_pred o[4];
    int p0 = 0, p9 = 9;
    CHECK(lmt_fill_mask_topk(lg, 2, 3, &p9, 1, 1, o) == LMT_ERR_ARG);
    CHECK(lmt_fill_mask_topk(lg, 2, 3, &p0, 1, 4, o) == LMT_ERR_ARG);
    CHECK(lmt_fill_mask_topk(lg, 2, 3, &p0, 1, 0, o) == LMT_ERR_ARG);
    CHECK_OK(lmt_fill_mask_topk(lg, 2, 3, &p0, 1, 3, o));
    CHECK(o[0].token_id == 2 && o[1].token_id == 1 && o[2].token_id == 0);
    CHECK_NEAR(o[0].score + o[1].score + o[2].score, 1.0 - exp(0) * 0, 1e-12);
    return lmt_test_finish();
}
