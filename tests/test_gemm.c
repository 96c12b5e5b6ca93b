/* lmt_gemm_f32 / lmt_gemm_bf16 against naive double-precision loops, on
 * every instruction-set path this CPU has (AMX-BF16, AVX512_BF16, AVX-512F,
 * AVX2, ARM64 BFDOT and NEON FMA, portable C): odd and edge sizes, all four transpose combinations, padded strides,
 * alpha/beta (beta 0 must not read a NaN-filled C), bf16 round-to-nearest-
 * even of the inputs, and bit-identical results across runs, thread counts
 * and calls from inside a parallel region; also the few-rows path (M <= 4). */
#include <stdint.h>
#include <stdlib.h>
#include <omp.h>
#include "harness.h"
#include "kernels/gemm.h"
#include "core/cpu.h"

static uint64_t rs = 88172645463325252ull;
static float frand(void) {   /* xorshift, uniform in [-1, 1) */
    rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
    return (float)((double)(rs >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* bf16 round-to-nearest-even, written out independently of the library. */
static float bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t rest = u & 0xffffu, keep = u & 0xffff0000u;
    if (rest > 0x8000u || (rest == 0x8000u && (keep & 0x10000u))) keep += 0x10000u;
    memcpy(&f, &keep, 4);
    return f;
}

typedef void (*gemm_fn)(bool, bool, int, int, int, float, const float *, int, const float *, int, float, float *, int);

/* Max over C of |got - ref| / (|alpha| sum_k |a b| + |beta c0|): the error
 * relative to the natural scale of each element's rounding error. */
static double run_case(gemm_fn f, bool ta, bool tb, int M, int N, int K, int pad, float alpha, float beta,
                       bool round_ref, double *err_vs_other) {
    int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    long arows = ta ? K : M, brows = tb ? N : K;
    float *A = malloc(sizeof(float) * arows * lda), *B = malloc(sizeof(float) * brows * ldb);
    float *C = malloc(sizeof(float) * M * ldc), *C0 = malloc(sizeof(float) * M * ldc);
    for (long i = 0; i < arows * lda; i++) A[i] = frand();
    for (long i = 0; i < brows * ldb; i++) B[i] = frand();
    for (long i = 0; i < (long)M * ldc; i++) C0[i] = beta == 0.0f ? NAN : frand();
    memcpy(C, C0, sizeof(float) * M * ldc);
    f(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    double worst = 0, worst_other = 0;
    int untouched_bad = 0;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double s = 0, so = 0, scale = 0;
            for (int k = 0; k < K; k++) {
                float a = ta ? A[(long)k * lda + i] : A[(long)i * lda + k];
                float b = tb ? B[(long)j * ldb + k] : B[(long)k * ldb + j];
                double exact = (double)a * b, rounded = (double)bf16(a) * bf16(b);
                s += round_ref ? rounded : exact;
                so += round_ref ? exact : rounded;
                scale += fabs(exact);
            }
            double c0 = beta == 0.0f ? 0.0 : C0[(long)i * ldc + j];
            double ref = alpha * s + beta * c0, other = alpha * so + beta * c0;
            double den = fabs(alpha) * scale + fabs(beta * c0) + 1e-30;
            double got = C[(long)i * ldc + j];
            double e = isfinite(got) ? fabs(got - ref) / den : INFINITY;
            double eo = isfinite(got) ? fabs(got - other) / den : INFINITY;
            if (e > worst) worst = e;
            if (eo > worst_other) worst_other = eo;
        }
        for (int j = N; j < ldc; j++)   /* the padding of C is never written */
            if (memcmp(&C[(long)i * ldc + j], &C0[(long)i * ldc + j], 4) != 0) untouched_bad++;
    }
    if (untouched_bad) worst = INFINITY;
    if (err_vs_other) *err_vs_other = worst_other;
    free(A); free(B); free(C); free(C0);
    return worst;
}

static void check_shapes(const char *level, bool quick) {
    static const int shapes[][3] = {
        {1, 1, 1}, {1, 7, 3}, {5, 1, 2}, {3, 3, 1}, {2, 5, 7}, {17, 33, 65}, {8, 48, 16}, {9, 49, 17},
        {16, 96, 31}, {31, 47, 129}, {64, 100, 257}, {13, 500, 40}, {40, 1000, 9}, {70, 130, 600},
        {1030, 20, 9}, {7, 1200, 3}, {1, 300, 70}, {4, 130, 33}, {3, 1000, 200}, {2, 64, 16},
        {3, 4500, 37},    /* few rows, wider than the row-streaming chunk on each thread */
        {33, 70, 2100},   /* several K blocks of every path, the last one partial */
        /* AVX2's 6 x 16 tile and 8 x 8 transposes: every row and column
         * remainder, K around multiples of 8 and its K block (512), A blocks
         * of whole panels (1026 rows) plus one row, B blocks of 480 columns plus one */
        {6, 16, 8}, {7, 17, 9}, {11, 15, 7}, {12, 32, 24}, {23, 41, 15}, {25, 40, 513}, {1027, 19, 20}, {7, 481, 17}};
    static const float ab[][2] = {{1.0f, 0.0f}, {1.0f, 1.0f}, {0.5f, -0.75f}, {-2.0f, 0.0f}};
    int nshape = (int)(sizeof shapes / sizeof shapes[0]);
    for (int s = 0; s < nshape; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        if (quick && (long)M * N * K > 2000000) continue;
        for (int t = 0; t < 4; t++) {
            bool ta = t & 1, tb = t & 2;
            int v = (s + t) % 4, pad = (s + t) % 3 == 0 ? 0 : 1 + (s * 7 + t) % 5;
            float alpha = ab[v][0], beta = ab[v][1];
            double e32 = run_case(lmt_gemm_f32, ta, tb, M, N, K, pad, alpha, beta, false, NULL);
            CHECK_MSG(e32 <= 1e-5, "isa %s f32 %dx%dx%d ta=%d tb=%d pad=%d alpha=%g beta=%g: rel err %.3g",
                      level, M, N, K, ta, tb, pad, alpha, beta, e32);
            double ef = 0, eb = run_case(lmt_gemm_bf16, ta, tb, M, N, K, pad, alpha, beta, true, &ef);
            CHECK_MSG(eb <= 1e-6, "isa %s bf16 %dx%dx%d ta=%d tb=%d pad=%d alpha=%g beta=%g: rel err %.3g vs bf16 ref",
                      level, M, N, K, ta, tb, pad, alpha, beta, eb);
            CHECK_MSG(ef <= 1e-2, "isa %s bf16 %dx%dx%d ta=%d tb=%d: rel err %.3g vs fp32 ref", level, M, N, K,
                      ta, tb, ef);
        }
    }
}

/* C = A I: every element of C is the bf16 rounding of A (ties to even,
 * large and tiny values, signs) for every transpose combo. */
static void check_rounding(const char *level) {
    static const uint32_t vals[] = {0x3f808000u, 0x3f818000u, 0x3f808001u, 0x3f807fffu, 0xbf808000u, 0xbf818000u,
                                    0x7f7effffu, 0x00800000u, 0x3f800000u, 0x00000000u, 0x7effffffu,
                                    0xfe7f8000u, 0x4049fdb0u, 0x3dcccccdu, 0xc2f6e979u, 0x7f7e8000u};
    const int M = (int)(sizeof vals / sizeof vals[0]), K = 5;
    float A[17 * 5], At[5 * 17], I[5 * 5], C[17 * 5];
    for (int i = 0; i < M; i++)
        for (int k = 0; k < K; k++) {
            uint32_t u = vals[(i + k) % M];
            memcpy(&A[i * K + k], &u, 4);
            At[k * M + i] = A[i * K + k];
        }
    for (int k = 0; k < K * K; k++) I[k] = k % (K + 1) == 0 ? 1.0f : 0.0f;
    for (int t = 0; t < 4; t++) {
        bool ta = t & 1, tb = t & 2;
        for (int i = 0; i < M * K; i++) C[i] = NAN;
        lmt_gemm_bf16(ta, tb, M, K, K, 1.0f, ta ? At : A, ta ? M : K, I, K, 0.0f, C, K);
        int bad = 0;
        for (int i = 0; i < M * K; i++) bad += !(C[i] == bf16(A[i]));
        CHECK_MSG(bad == 0, "isa %s ta=%d tb=%d: %d elements not the bf16 rounding of A", level, ta, tb, bad);
    }
}

/* Same bits run to run, on 1 and 2 threads, and from inside a parallel region. */
static void check_determinism(gemm_fn f, const char *name, int M, int N, int K) {
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
    float *C1 = malloc(sizeof(float) * M * N), *C2 = malloc(sizeof(float) * M * N), *C3 = malloc(sizeof(float) * M * N);
    for (long i = 0; i < (long)M * K; i++) A[i] = frand();
    for (long i = 0; i < (long)K * N; i++) B[i] = frand();
    int saved = omp_get_max_threads();
    omp_set_num_threads(2);
    f(false, false, M, N, K, 1.0f, A, K, B, N, 0.0f, C1, N);
    f(false, false, M, N, K, 1.0f, A, K, B, N, 0.0f, C2, N);
    CHECK_MSG(memcmp(C1, C2, sizeof(float) * M * N) == 0, "%s: two runs differ", name);
    omp_set_num_threads(1);
    f(false, false, M, N, K, 1.0f, A, K, B, N, 0.0f, C2, N);
    CHECK_MSG(memcmp(C1, C2, sizeof(float) * M * N) == 0, "%s: 1 thread differs from 2", name);
    omp_set_num_threads(2);
    /* Each thread of an outer region computes its own copy, single-threaded. */
    int differ = 0;
#pragma omp parallel num_threads(2) reduction(+ : differ)
    {
        float *Ct = omp_get_thread_num() == 0 ? C2 : C3;
        f(false, false, M, N, K, 1.0f, A, K, B, N, 0.0f, Ct, N);
        differ += memcmp(C1, Ct, sizeof(float) * M * N) != 0;
    }
    CHECK_MSG(differ == 0, "%s: calls inside a parallel region differ", name);
    omp_set_num_threads(saved);
    free(A); free(B); free(C1); free(C2); free(C3);
}

/* fp32 products on AMX (three bf16 parts per value, six bf16 products) are
 * at least as accurate as the FMA kernel: error against float64 over
 * random matrices, values of one scale and spread over e^-4..e^4. */
static void f32_errors(bool spread, int K, double *rms, double *mx) {
    const int M = 40, N = 72;
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N), *C = malloc(sizeof(float) * M * N);
    for (long i = 0; i < (long)M * K; i++) A[i] = frand() * (spread ? expf(4.0f * frand()) : 1.0f);
    for (long i = 0; i < (long)K * N; i++) B[i] = frand() * (spread ? expf(4.0f * frand()) : 1.0f);
    lmt_gemm_f32(false, true, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N);   /* B stored (N, K) as nn.Linear */
    double ss = 0;
    *mx = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0, scale = 0;
            for (int k = 0; k < K; k++) {
                s += (double)A[(long)i * K + k] * B[(long)j * K + k];
                scale += fabs((double)A[(long)i * K + k] * B[(long)j * K + k]);
            }
            double e = fabs(C[i * N + j] - s) / scale;
            ss += e * e;
            if (e > *mx) *mx = e;
        }
    *rms = sqrt(ss / (M * N));
    free(A); free(B); free(C);
}

static void check_f32_on_amx(void) {
    lmt_isa_unforce();
    if (strcmp(lmt_gemm_isa(false), "amx-bf16x6") != 0) {
        printf("fp32 on AMX: not used on this CPU (%s)\n", lmt_gemm_isa(false));
        return;
    }
    for (int spread = 0; spread < 2; spread++)
        for (int K = 256; K <= 4096; K *= 4) {
            double rms_amx, max_amx, rms_fma, max_fma;
            uint64_t saved = rs;
            f32_errors(spread, K, &rms_amx, &max_amx);
            rs = saved;   /* the same matrices */
            lmt_gemm_force_fp32_units(true);
            f32_errors(spread, K, &rms_fma, &max_fma);
            lmt_gemm_force_fp32_units(false);
            printf("fp32 K=%d%s: error rms %.2g max %.2g (AMX) vs rms %.2g max %.2g (FMA)\n", K,
                   spread ? " spread" : "", rms_amx, max_amx, rms_fma, max_fma);
            CHECK_MSG(rms_amx <= rms_fma && max_amx <= 1.5 * max_fma,
                      "fp32 on AMX less accurate than FMA at K=%d spread=%d: rms %.3g vs %.3g, max %.3g vs %.3g", K,
                      spread, rms_amx, rms_fma, max_amx, max_fma);
        }
    /* C = A I: the split is exact, so every element comes back bit for bit
     * (ties, near-max, tiny normals, signs). Not covered, as documented in
     * gemm.h: -0 (sums start at +0, as the FMA kernel's do) and values
     * below 2^-110 (their parts are bf16 subnormals, which AMX reads as 0). */
    static const uint32_t vals[] = {0x3f808000u, 0x3f818001u, 0x3f807fffu, 0xbf808000u, 0x7f7effffu, 0x0d800001u,
                                    0x3f800000u, 0x00000000u, 0x7effffffu, 0xfe7f8000u, 0x4049fdb0u,
                                    0x3dcccccdu, 0xc2f6e979u, 0x33d6bf95u, 0xb8d1b717u};
    const int M = (int)(sizeof vals / sizeof vals[0]), K = 37;
    float *A = malloc(sizeof(float) * M * K), *I = calloc((size_t)K * K, sizeof(float)), *C = malloc(sizeof(float) * M * K);
    for (int i = 0; i < M; i++)
        for (int k = 0; k < K; k++) {
            uint32_t u = vals[(i + k) % M];
            if ((i * 7 + k) % 5 == 0 && u) u ^= 0x000a5a5au;   /* low bits set */
            memcpy(&A[i * K + k], &u, 4);
        }
    for (int k = 0; k < K; k++) I[k * K + k] = 1.0f;
    lmt_gemm_f32(false, false, M, K, K, 1.0f, A, K, I, K, 0.0f, C, K);
    int bad = 0;
    for (int i = 0; i < M * K; i++) bad += memcmp(&A[i], &C[i], 4) != 0;
    CHECK_MSG(bad == 0, "fp32 on AMX: A I differs from A in %d elements", bad);
    free(A); free(I); free(C);
    /* rows [inf, 1, ...], [-inf, ...], [nan, ...] times ones (32 k: a whole AMX step) */
    float X[3 * 32], ones[32 * 2], Y[3 * 2];
    for (int i = 0; i < 3 * 32; i++) X[i] = 0.5f;
    for (int i = 0; i < 32 * 2; i++) ones[i] = 1.0f;
    X[0] = INFINITY, X[32] = -INFINITY, X[64] = NAN;
    lmt_gemm_f32(false, false, 3, 2, 32, 1.0f, X, 32, ones, 2, 0.0f, Y, 2);
    CHECK(Y[0] == INFINITY && Y[1] == INFINITY && Y[2] == -INFINITY && Y[3] == -INFINITY && isnan(Y[4]) && isnan(Y[5]));
}

/* B packed once: the products give the same bits as with B packed per call,
 * for both precisions, both layouts of A and B, few and many rows, several
 * K blocks, alpha/beta; out of range sizes give NULL. */
static void check_packed(const char *level) {
    static const int shapes[][3] = {{3, 70, 40}, {70, 130, 600}, {129, 200, 1100}, {40, 1030, 65}, {1, 50, 9}, {300, 70, 1100}};
    for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++) {
        const int M = shapes[sh][0], N = shapes[sh][1], K = shapes[sh][2];
        for (int t = 0; t < 4; t++) {
            const bool ta = t & 1, tb = t & 2, bf = (t + (int)sh) % 2;
            const int lda = (ta ? M : K) + 1, ldb = (tb ? K : N) + 2, ldc = N + 3;
            float *A = malloc(sizeof(float) * (ta ? K : M) * lda), *B = malloc(sizeof(float) * (tb ? N : K) * ldb);
            float *C1 = malloc(sizeof(float) * M * ldc), *C2 = malloc(sizeof(float) * M * ldc);
            for (long i = 0; i < (long)(ta ? K : M) * lda; i++) A[i] = frand();
            for (long i = 0; i < (long)(tb ? N : K) * ldb; i++) B[i] = frand();
            for (long i = 0; i < (long)M * ldc; i++) C1[i] = C2[i] = frand();
            (bf ? lmt_gemm_bf16 : lmt_gemm_f32)(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 0.25f, C1, ldc);
            lmt_gemm_packed *pb = lmt_gemm_pack_b(bf, tb, N, K, B, ldb);
            CHECK(pb != NULL && lmt_gemm_packed_bf16(pb) == bf);
            if (pb) lmt_gemm_packed_product(ta, M, 0.5f, A, lda, pb, 0.25f, C2, ldc);
            CHECK_MSG(!memcmp(C1, C2, sizeof(float) * M * ldc), "isa %s packed B %s %dx%dx%d ta=%d tb=%d: bits differ",
                      level, bf ? "bf16" : "f32", M, N, K, ta, tb);
            lmt_gemm_packed_free(pb);
            free(A); free(B); free(C1); free(C2);
        }
    }
    float x = 1.0f;
    CHECK(lmt_gemm_pack_b(false, false, 0, 4, &x, 1) == NULL && lmt_gemm_pack_b(false, false, 4, 0, &x, 4) == NULL);
}

int main(void) {
    bool quick = getenv("LMT_TEST_QUICK") != NULL;
    /* every implementation this CPU can run, best first */
    static const struct { lmt_isa isa; bool fp32_units; const char *name; } levels[] = {
        {LMT_ISA_AMX, false, "amx"}, {LMT_ISA_AVX512, false, "avx512"}, {LMT_ISA_AVX512, true, "avx512 (no bf16 units)"},
        {LMT_ISA_AVX2, false, "avx2"}, {LMT_ISA_NEON, false, "neon"}, {LMT_ISA_NEON, true, "neon (no bf16 units)"},
        {LMT_ISA_GENERIC, false, "generic"}};
    const lmt_isa cpu = lmt_cpu_isa();
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
        const lmt_isa want = levels[l].isa;
        if (!lmt_isa_runnable(want)) {
            printf("isa %s: not on this CPU (%s)\n", levels[l].name, lmt_isa_name(cpu));
            continue;
        }
        lmt_isa_force(want);
        lmt_gemm_force_fp32_units(levels[l].fp32_units);
        const char *level = levels[l].name;
        printf("isa %s: f32 %s, bf16 %s\n", level, lmt_gemm_isa(false), lmt_gemm_isa(true));
#if defined(__x86_64__)
        if (want == LMT_ISA_AVX2)   /* the AVX2 kernels, not the portable ones */
            CHECK(!strcmp(lmt_gemm_isa(false), "avx2") && !strcmp(lmt_gemm_isa(true), "avx2"));
#endif
        check_shapes(level, quick);
        check_rounding(level);
        check_packed(level);
        const int N = quick ? 500 : 1100, K = quick ? 300 : 700;
        check_determinism(lmt_gemm_f32, "f32", quick ? 100 : 300, N, K);
        check_determinism(lmt_gemm_bf16, "bf16", quick ? 100 : 300, N, K);
        check_determinism(lmt_gemm_f32, "f32 (few rows)", 3, N, K);
        check_determinism(lmt_gemm_bf16, "bf16 (few rows)", 3, N, K);
        /* rows split between the threads, which pack B's blocks together
         * (bit for bit the 1-thread product, which check_shapes checks):
         * thread 0 gets two row blocks (1,032 rows) and thread 1 one; two
         * column blocks, then two K blocks */
        check_determinism(lmt_gemm_f32, "f32 (rows split, shared B)", 2050, 530, 8);
        check_determinism(lmt_gemm_bf16, "bf16 (rows split, shared B)", 2050, 530, 8);
        check_determinism(lmt_gemm_f32, "f32 (rows split, shared B, K blocks)", 2050, 20, 530);
        check_determinism(lmt_gemm_bf16, "bf16 (rows split, shared B, K blocks)", 2050, 20, 530);
    }
    lmt_gemm_force_fp32_units(false);
    lmt_isa_unforce();
    check_f32_on_amx();
    lmt_isa_unforce();
    /* M, N or K of 0, alpha 0: C = beta C, no product. */
    float C[4] = {1, 2, 3, 4}, A[4] = {NAN, NAN, NAN, NAN};
    lmt_gemm_bf16(false, false, 2, 2, 0, 1.0f, A, 1, A, 2, 0.5f, C, 2);
    CHECK(C[0] == 0.5f && C[3] == 2.0f);
    lmt_gemm_f32(false, false, 2, 2, 2, 0.0f, A, 2, A, 2, 0.0f, C, 2);
    CHECK(C[0] == 0.0f && C[3] == 0.0f);
    lmt_gemm_cleanup();
    return lmt_test_finish();
}
