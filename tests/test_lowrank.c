/* kernels/lowrank.h at every instruction-set level this CPU runs: each
 * product against a double-precision loop, with and without dropout, over
 * ranks and sizes that reach every tile width and tail (r = 1..33, rows not
 * a multiple of a tile, inputs wider than a masked chunk), the same result
 * on 1 and 2 threads bit for bit, and the mask's rate. */
#include <omp.h>
#include "harness.h"
#include "core/cpu.h"
#include "kernels/lowrank.h"

static float val(unsigned i, unsigned salt) { return (float)((i * 2654435761u + salt * 40503u) % 2001u) / 1000.0f - 1.0f; }

static void fill(float *x, size_t n, unsigned salt) {
    for (size_t i = 0; i < n; i++) x[i] = val((unsigned)i, salt);
}

static double max_err(const float *a, const double *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]) / (1.0 + fabs(b[i])));
    return m;
}

/* x (N, D) as the kernels see it under dropout p (0: itself) */
static double dropped(const float *X, size_t at, float p, uint64_t seed) {
    if (p <= 0.0f) return X[at];
    return lmt_lowrank_keep(lmt_lowrank_seed(seed), (uint32_t)at, lmt_lowrank_threshold(p)) ? (double)X[at] * (1.0f / (1.0f - p)) : 0.0;
}

static void check_shape(const char *level, int N, int D, int r, float p) {
    size_t nd = (size_t)N * D, nr = (size_t)N * r, dr = (size_t)D * r;
    uint64_t seed = 0x1234567890ull + (uint64_t)N;
    float *X = malloc(nd * 4), *M = malloc(dr * 4), *H = malloc(nr * 4), *Y = malloc(nd * 4), *G = malloc(dr * 4),
          *V = malloc(dr * 4), *init = malloc((size_t)D * 4), *Y2 = malloc(nd * 4), *G2 = malloc(dr * 4), *H2 = malloc(nr * 4);
    double *ref = malloc((nd > dr ? nd : dr) * sizeof(double));
    fill(X, nd, 1), fill(M, dr, 2), fill(V, dr, 3), fill(init, D, 4), fill(G, dr, 5);
    /* project: H = alpha drop(X) M */
    lmt_lowrank_project(H, X, M, 0.5f, N, D, r, p, seed);
    for (int n = 0; n < N; n++)
        for (int j = 0; j < r; j++) {
            double s = 0;
            for (int k = 0; k < D; k++) s += dropped(X, (size_t)n * D + k, p, seed) * M[(size_t)k * r + j];
            ref[(size_t)n * r + j] = 0.5 * s;
        }
    CHECK_MSG(max_err(H, ref, nr) < 1e-5, "%s project N=%d K=%d r=%d p=%g: %g", level, N, D, r, p, max_err(H, ref, nr));
    /* expand: Y = Y + init + drop'(H V) */
    fill(Y, nd, 6);
    for (int n = 0; n < N; n++)
        for (int d = 0; d < D; d++) {
            double s = 0;
            for (int j = 0; j < r; j++) s += (double)H[(size_t)n * r + j] * V[(size_t)j * D + d];
            size_t at = (size_t)n * D + d;
            bool kept = p <= 0.0f || lmt_lowrank_keep(lmt_lowrank_seed(seed), (uint32_t)at, lmt_lowrank_threshold(p));
            ref[at] = Y[at] + init[d] + (kept ? s / (p > 0.0f ? 1.0 - p : 1.0) : 0.0);
        }
    lmt_lowrank_expand(Y, true, init, H, V, N, D, r, p, seed);
    CHECK_MSG(max_err(Y, ref, nd) < 1e-5, "%s expand N=%d D=%d r=%d p=%g: %g", level, N, D, r, p, max_err(Y, ref, nd));
    for (int n = 0; n < N; n++)
        for (int d = 0; d < D; d++) {
            double s = 0;
            for (int j = 0; j < r; j++) s += (double)H[(size_t)n * r + j] * V[(size_t)j * D + d];
            ref[(size_t)n * D + d] = s;
        }
    lmt_lowrank_expand(Y, false, NULL, H, V, N, D, r, 0.0f, 0);
    CHECK_MSG(max_err(Y, ref, nd) < 1e-5, "%s expand (set) N=%d D=%d r=%d", level, N, D, r);
    /* outer: G (r, D) += H^T drop(X) */
    for (int d = 0; d < D; d++)
        for (int j = 0; j < r; j++) {
            double s = G[(size_t)j * D + d];
            for (int n = 0; n < N; n++) s += dropped(X, (size_t)n * D + d, p, seed) * H[(size_t)n * r + j];
            ref[(size_t)j * D + d] = s;
        }
    memcpy(G2, G, dr * 4);
    lmt_lowrank_outer(G, X, H, N, D, r, p, seed);
    CHECK_MSG(max_err(G, ref, dr) < 1e-5, "%s outer N=%d D=%d r=%d p=%g: %g", level, N, D, r, p, max_err(G, ref, dr));
    /* the thread count changes nothing */
    int threads = omp_get_max_threads();
    omp_set_num_threads(threads > 1 ? 1 : 2);
    lmt_lowrank_project(H2, X, M, 0.5f, N, D, r, p, seed);
    lmt_lowrank_outer(G2, X, H, N, D, r, p, seed);
    lmt_lowrank_expand(Y2, false, NULL, H, V, N, D, r, 0.0f, 0);
    omp_set_num_threads(threads);
    lmt_lowrank_project(H, X, M, 0.5f, N, D, r, p, seed);
    CHECK_MSG(!memcmp(H, H2, nr * 4) && !memcmp(G, G2, dr * 4) && !memcmp(Y, Y2, nd * 4),
              "%s N=%d D=%d r=%d: results depend on the thread count", level, N, D, r);
    free(X), free(M), free(H), free(Y), free(G), free(V), free(init), free(Y2), free(G2), free(H2), free(ref);
}

/* the mask keeps 1 - p of the elements, and another seed draws another mask */
static void check_mask(void) {
    uint32_t n = 1000000, kept = 0, same = 0, thr = lmt_lowrank_threshold(0.3f);
    for (uint32_t i = 0; i < n; i++) {
        bool a = lmt_lowrank_keep(lmt_lowrank_seed(12345), i, thr), b = lmt_lowrank_keep(lmt_lowrank_seed(12346), i, thr);
        kept += a;
        same += a == b;
    }
    CHECK_MSG(fabs((double)kept / n - 0.7) < 0.002, "dropout keeps %.4f, expected 0.7", (double)kept / n);
    CHECK_MSG(fabs((double)same / n - 0.58) < 0.005, "seeds 12345 and 12346: masks agree on %.4f (independent: 0.58)", (double)same / n);
    CHECK(lmt_lowrank_threshold(0.0f) == 0 && lmt_lowrank_keep(7, 7, 0));
}

int main(void) {
    static const struct { lmt_isa isa; const char *name; } levels[] = {
        {LMT_ISA_AVX512, "avx512"}, {LMT_ISA_AVX2, "avx2"}, {LMT_ISA_NEON, "neon"}, {LMT_ISA_GENERIC, "generic"}};
    static const int shapes[][3] = {{1, 5, 1}, {7, 17, 3}, {13, 40, 4}, {9, 33, 5}, {16, 64, 8}, {31, 96, 12},
                                    {40, 130, 16}, {17, 70, 20}, {64, 200, 33}, {300, 48, 16}, {20, 600, 16}};
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
        if (!lmt_isa_runnable(levels[l].isa)) continue;
        lmt_isa_force(levels[l].isa);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            check_shape(levels[l].name, shapes[s][0], shapes[s][1], shapes[s][2], 0.0f);
            check_shape(levels[l].name, shapes[s][0], shapes[s][1], shapes[s][2], 0.25f);
        }
    }
    lmt_isa_unforce();
    check_mask();
    return lmt_test_finish();
}
