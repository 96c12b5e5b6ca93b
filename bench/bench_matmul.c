/* Matrix-product throughput at the training shapes of distilgpt2, BERT
 * (distilroberta: hidden 768, ffn 3072) and Marian (opus-mt-en-fr: d_model
 * 512, ffn 2048, vocab 59514), 1024 tokens (batch 8 x 128), and of
 * SmolLM2-135M at 2048 tokens (batch 8 x 256, filter "smol"): OpenBLAS
 * (lmt_sgemm with the OpenBLAS backend), lmt_gemm_f32 (on AMX where the CPU
 * has it, and on the AVX-512 FMA kernel), lmt_gemm_f32 at the AVX2 level
 * (where the machine has more) and lmt_gemm_bf16, on 1 and 2 threads, in
 * GFLOP/s (2 M N K / time), plus the machine's measured peaks (FMA loops on
 * zmm and ymm registers for fp32, a vdpbf16ps loop and AMX tiles for bf16).
 *
 *   bench_matmul [reps] [shape-filter]
 *
 * The instruction-set level is the CPU's best or LMT_ISA's (core/cpu.h);
 * the table names it. To compare at the AVX2 level on a larger CPU, force
 * both sides: LMT_ISA=avx2 OPENBLAS_CORETYPE=Haswell bench_matmul (OpenBLAS
 * then runs its Haswell kernels: AVX2 + FMA). "% avx2 peak" is the AVX2
 * column's share of the ymm FMA peak on as many threads.
 *
 * Each figure is the best of `reps` runs (default 3) after one warm-up run:
 * the machine is shared, and the best run is the one least disturbed. When
 * other jobs keep the cores busy, LMT_BENCH_CLOCK=cpu times 1-thread products
 * by the calling thread's CPU time (as the peaks are), which time spent
 * preempted does not inflate; the 2-thread rows are then left out. A
 * filter keeps the shapes whose name contains it ("fc", "lm_head",
 * "marian", ...). The load average is printed before and after: other
 * processes on the machine take cores away, the 2-thread figures most. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <omp.h>
#include "core/cpu.h"
#include "core/util.h"
#include "kernels/gemm.h"
#include "kernels/matmul.h"
#include <cblas.h>

typedef struct { const char *name; bool ta, tb; int M, N, K; } shape;

/* lmtune's calls (kernels/linear.c, src/models): x W for Conv1D weights
 * [in, out] (GPT-2), x W^T for nn.Linear weights [out, in] (BERT, Marian);
 * dX = dY W^T (Conv1D) or dY W (Linear); dW += X^T dY (Conv1D) or dY^T X
 * (Linear); logits = x wte^T. */
static const shape shapes[] = {
    {"qkv fwd", false, false, 1024, 2304, 768},
    {"attn proj fwd", false, false, 1024, 768, 768},
    {"fc fwd", false, false, 1024, 3072, 768},
    {"fc proj fwd", false, false, 1024, 768, 3072},
    {"qkv dX", false, true, 1024, 768, 2304},
    {"qkv dW", true, false, 768, 2304, 1024},
    {"fc dX", false, true, 1024, 768, 3072},
    {"fc dW", true, false, 768, 3072, 1024},
    {"fc proj dX", false, true, 1024, 3072, 768},
    {"fc proj dW", true, false, 3072, 768, 1024},
    {"lm_head fwd", false, true, 1024, 50257, 768},
    {"lm_head dX", false, false, 1024, 768, 50257},
    {"lm_head dW", true, false, 50257, 768, 1024},
    {"bert q/k/v fwd", false, true, 1024, 768, 768},
    {"bert fc fwd", false, true, 1024, 3072, 768},
    {"bert fc proj fwd", false, true, 1024, 768, 3072},
    {"bert fc dX", false, false, 1024, 768, 3072},
    {"bert fc dW", true, false, 3072, 768, 1024},
    {"bert fc proj dW", true, false, 768, 3072, 1024},
    {"bert lm_head fwd", false, true, 1024, 50265, 768},
    {"marian q/k/v fwd", false, true, 1024, 512, 512},
    {"marian fc fwd", false, true, 1024, 2048, 512},
    {"marian fc proj fwd", false, true, 1024, 512, 2048},
    {"marian fc dX", false, false, 1024, 512, 2048},
    {"marian fc dW", true, false, 2048, 512, 1024},
    {"marian lm_head fwd", false, true, 1024, 59514, 512},
    {"marian lm_head dX", false, false, 1024, 512, 59514},
    {"marian lm_head dW", true, false, 59514, 512, 1024},
    /* SmolLM2-135M (hidden 576, 3 x 64 key/value, SwiGLU 1536, vocabulary
     * 49152) at its benchmark's 8 x 256 = 2048 tokens; nn.Linear weights. */
    {"smol q/o fwd", false, true, 2048, 576, 576},
    {"smol k/v fwd", false, true, 2048, 192, 576},
    {"smol gate/up fwd", false, true, 2048, 1536, 576},
    {"smol down fwd", false, true, 2048, 576, 1536},
    {"smol q/o dX", false, false, 2048, 576, 576},
    {"smol k/v dX", false, false, 2048, 576, 192},
    {"smol gate/up dX", false, false, 2048, 576, 1536},
    {"smol down dX", false, false, 2048, 1536, 576},
    {"smol q/o dW", true, false, 576, 576, 2048},
    {"smol k/v dW", true, false, 192, 576, 2048},
    {"smol gate/up dW", true, false, 1536, 576, 2048},
    {"smol down dW", true, false, 576, 1536, 2048},
    {"smol lm_head fwd", false, true, 2048, 49152, 576},
    {"smol lm_head dX", false, false, 2048, 576, 49152},
    {"smol lm_head dW", true, false, 49152, 576, 2048},
};

typedef void (*gemm_fn)(bool, bool, int, int, int, float, const float *, int, const float *, int, float, float *, int);

/* CPU time of the calling thread: time spent preempted by other processes
 * on this shared machine does not count. */
static double thread_cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- peak: independent accumulators, no memory traffic ---- */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define PEAK_ITERS 20000000L
__attribute__((target("avx512f"))) static float peak_f32_thread(long iters) {
    __m512 c[24], a = _mm512_set1_ps(1.0000001f), b = _mm512_set1_ps(0.9999999f);
    for (int i = 0; i < 24; i++) c[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < iters; it++) {
#pragma GCC unroll 24
        for (int i = 0; i < 24; i++) c[i] = _mm512_fmadd_ps(a, b, c[i]);
        __asm__ volatile("" : "+v"(a));   /* keeps the loop from being folded */
    }
    __m512 s = c[0];
    for (int i = 1; i < 24; i++) s = _mm512_add_ps(s, c[i]);
    return _mm512_reduce_add_ps(s);
}
__attribute__((target("avx512f,avx512bf16"))) static float peak_bf16_thread(long iters) {
    __m512 c[24];
    __m512bh a = (__m512bh)_mm512_set1_epi32(0x3f803f80), b = a;
    for (int i = 0; i < 24; i++) c[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < iters; it++) {
#pragma GCC unroll 24
        for (int i = 0; i < 24; i++) c[i] = _mm512_dpbf16_ps(c[i], a, b);
        __asm__ volatile("" : "+v"(a));
    }
    __m512 s = c[0];
    for (int i = 1; i < 24; i++) s = _mm512_add_ps(s, c[i]);
    return _mm512_reduce_add_ps(s);
}
/* AVX2: 12 ymm chains (an AVX2 CPU's 16 registers), VEX encoded. */
__attribute__((target("avx2,fma"))) static float peak_avx2_thread(long iters) {
    __m256 c[12], a = _mm256_set1_ps(1.0000001f), b = _mm256_set1_ps(0.9999999f);
    for (int i = 0; i < 12; i++) c[i] = _mm256_set1_ps((float)i);
    for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) c[i] = _mm256_fmadd_ps(a, b, c[i]);
        __asm__ volatile("" : "+x"(a));
    }
    __m256 s = c[0];
    for (int i = 1; i < 12; i++) s = _mm256_add_ps(s, c[i]);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    return _mm_cvtss_f32(h);
}
/* AMX: 4 independent 16x16 fp32 tiles, tdpbf16ps with K = 32 (16384 flops
 * each). The library has already asked Linux for the tile state. */
typedef struct { unsigned char palette, start_row, reserved[14]; unsigned short colsb[16]; unsigned char rows[16]; } tilecfg;
static const tilecfg peak_cfg __attribute__((aligned(64))) = {
    .palette = 1, .colsb = {64, 64, 64, 64, 64, 64, 64, 64}, .rows = {16, 16, 16, 16, 16, 16, 16, 16}};
__attribute__((target("amx-tile,amx-bf16"))) static float peak_amx_thread(long iters) {
    static const unsigned short ones[16 * 32] __attribute__((aligned(64))) = {0};
    float out[256];
    _tile_loadconfig(&peak_cfg);
    _tile_loadd(4, ones, 64);
    _tile_loadd(5, ones, 64);
    _tile_loadd(6, ones, 64);
    _tile_loadd(7, ones, 64);
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (long it = 0; it < iters; it++) {
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, out, 64);
    __asm__ volatile("" ::: "memory");
    _tile_release();
    return out[0];
}
/* GFLOP/s of nth threads each running the loop (best of 3). Each thread's
 * rate is taken over its own CPU time, so time the thread spent preempted by
 * other processes on this shared machine does not count: this is what the
 * cores can do, not what they did. */
enum { PEAK_AVX512, PEAK_BF16, PEAK_AMX, PEAK_AVX2 };
static double peak(int kind, int nth) {
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        volatile float sink = 0;
        double rate = 0;
#pragma omp parallel num_threads(nth) reduction(+ : rate)
        {
            double t0 = thread_cpu_s();
            long iters = kind == PEAK_AMX ? PEAK_ITERS / 10 : PEAK_ITERS;
            float v = kind == PEAK_AMX ? peak_amx_thread(iters)
                      : kind == PEAK_BF16 ? peak_bf16_thread(iters)
                      : kind == PEAK_AVX2 ? peak_avx2_thread(iters)
                                          : peak_f32_thread(iters);
            double flops = kind == PEAK_AMX ? iters * 4.0 * 16384
                           : kind == PEAK_AVX2 ? iters * 12.0 * 8 * 2
                                               : iters * 24.0 * 16 * (kind == PEAK_BF16 ? 4 : 2);
            rate += flops / (thread_cpu_s() - t0);
#pragma omp atomic
            sink += v;
        }
        if (rate > best) best = rate;
        (void)sink;
    }
    return best / 1e9;
}
#endif

static bool cpu_clock;   /* LMT_BENCH_CLOCK=cpu: 1 thread, timed by its CPU time */

static double run(gemm_fn f, const shape *s, int reps, float *A, float *B, float *C) {
    int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
    double (*clock_s)(void) = cpu_clock ? thread_cpu_s : lmt_time_s;
    double best = 1e30;
    for (int r = -1; r < reps; r++) {   /* r = -1 warms up (packing buffers, pages) */
        double t0 = clock_s();
        f(s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, lda, B, ldb, 0.0f, C, s->N);
        double t = clock_s() - t0;
        if (r >= 0 && t < best) best = t;
    }
    return 2.0 * s->M * s->N * s->K / best / 1e9;
}

/* lmt_gemm_f32 at the AVX2 level, whatever the active one. */
static void gemm_f32_avx2(bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                          int ldb, float beta, float *C, int ldc) {
    lmt_isa_force(LMT_ISA_AVX2);
    lmt_gemm_f32(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    lmt_isa_unforce();
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 3;
    const char *filter = argc > 2 ? argv[2] : NULL;
    if (reps <= 0) { fprintf(stderr, "usage: %s [reps] [shape-filter]\n", argv[0]); return 2; }
    char err[256];
    if (!lmt_isa_check(err, sizeof err)) { fprintf(stderr, "bench_matmul: %s\n", err); return 2; }
    int maxth = omp_get_max_threads();
    const char *clk = getenv("LMT_BENCH_CLOCK");
    cpu_clock = clk && !strcmp(clk, "cpu");
    lmt_matmul_set_precision(LMT_MATMUL_FP32);
    lmt_matmul_set_backend(LMT_MATMUL_OPENBLAS);
    const lmt_isa level = lmt_isa_active();
    char model[128], features[512];
    lmt_cpu_describe(model, sizeof model, features, sizeof features);
    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
    printf("%s; CPU %s (best level %s); level %s: lmt_gemm f32 %s, bf16 %s; best of %d runs; load average %.2f\n",
           lmt_matmul_backend(), model, lmt_isa_name(lmt_cpu_isa()), lmt_isa_name(level), lmt_gemm_isa(false),
           lmt_gemm_isa(true), reps, load[0]);
    /* the AVX2 column: the level's own at avx2, an extra one above it */
    const bool has_avx2 = level >= LMT_ISA_AVX2, avx2_extra = has_avx2 && level > LMT_ISA_AVX2;
    double peak_avx2[3] = {0, 0, 0};
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    for (int nt = 1; nt <= maxth; nt++) {
        double p2 = has_avx2 ? peak(PEAK_AVX2, nt) : 0;
        if (nt <= 2) peak_avx2[nt] = p2;
        double pf = level >= LMT_ISA_AVX512 ? peak(PEAK_AVX512, nt) : 0;
        double pb = level >= LMT_ISA_AVX512 && __builtin_cpu_supports("avx512bf16") ? peak(PEAK_BF16, nt) : 0;
        double pa = !strcmp(lmt_gemm_isa(true), "amx-bf16") ? peak(PEAK_AMX, nt) : 0;
        printf("peak fp32 %.1f GFLOP/s (avx2: ymm FMA), %.1f GFLOP/s (avx512: zmm FMA); bf16 %.1f GFLOP/s (vdpbf16ps), "
               "%.1f GFLOP/s (AMX) on %d thread%s (per-thread CPU time)\n",
               p2, pf, pb, pa, nt, nt > 1 ? "s" : "");
    }
#endif
    size_t maxa = 0, maxb = 0, maxc = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const shape *s = &shapes[i];
        if ((size_t)s->M * s->K > maxa) maxa = (size_t)s->M * s->K;
        if ((size_t)s->K * s->N > maxb) maxb = (size_t)s->K * s->N;
        if ((size_t)s->M * s->N > maxc) maxc = (size_t)s->M * s->N;
    }
    float *A = malloc(maxa * sizeof *A), *B = malloc(maxb * sizeof *B), *C = malloc(maxc * sizeof *C);
    if (!A || !B || !C) { fprintf(stderr, "bench_matmul: out of memory\n"); return 1; }
    for (size_t i = 0; i < maxa; i++) A[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < maxb; i++) B[i] = (float)((i * 40503u) % 1000) / 1000.0f - 0.5f;
    memset(C, 0, maxc * sizeof *C);
    const bool f32_amx = !strcmp(lmt_gemm_isa(false), "amx-bf16x6");
    if (cpu_clock) printf("\nproducts timed by the CPU time of the calling thread (1 thread; LMT_BENCH_CLOCK=cpu)\n");
    printf("\n| shape | op | M | N | K | threads | OpenBLAS (%s) | lmt_gemm_f32 (%s) |%s%s%s lmt_gemm_bf16 (%s) |\n",
           openblas_get_corename(), lmt_gemm_isa(false), f32_amx ? " lmt_gemm_f32 (avx512f) |" : "",
           avx2_extra ? " lmt_gemm_f32 (avx2) |" : "", has_avx2 ? " % avx2 peak |" : "", lmt_gemm_isa(true));
    printf("|---|---|---|---|---|---|---|---|%s%s%s---|\n", f32_amx ? "---|" : "", avx2_extra ? "---|" : "",
           has_avx2 ? "---|" : "");
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const shape *s = &shapes[i];
        if (filter && !strstr(s->name, filter)) continue;
        for (int nt = 1; nt <= maxth && nt <= (cpu_clock ? 1 : 2); nt++) {
            omp_set_num_threads(nt);
            lmt_matmul_set_threads(nt);
            double g0 = run(lmt_sgemm, s, reps, A, B, C);
            double g1 = run(lmt_gemm_f32, s, reps, A, B, C);
            double g2 = run(lmt_gemm_bf16, s, reps, A, B, C);
            char fma[32] = "", avx2[32] = "", share[32] = "";
            if (f32_amx) {   /* the same fp32 product on the FMA kernel (the AMX-less path) */
                lmt_gemm_force_fp32_units(true);
                snprintf(fma, sizeof fma, " %.1f |", run(lmt_gemm_f32, s, reps, A, B, C));
                lmt_gemm_force_fp32_units(false);
            }
            const double g_avx2 = avx2_extra ? run(gemm_f32_avx2, s, reps, A, B, C) : g1;
            if (avx2_extra) snprintf(avx2, sizeof avx2, " %.1f |", g_avx2);
            if (has_avx2 && peak_avx2[nt] > 0) snprintf(share, sizeof share, " %.0f%% |", 100.0 * g_avx2 / peak_avx2[nt]);
            printf("| %s | %s%s | %d | %d | %d | %d | %.1f | %.1f |%s%s%s %.1f |\n", s->name, s->ta ? "T" : "N",
                   s->tb ? "T" : "N", s->M, s->N, s->K, nt, g0, g1, fma, avx2, share, g2);
            fflush(stdout);
        }
    }
    getloadavg(load, 3);
    printf("\nload average at the end %.2f\n", load[0]);
    free(A); free(B); free(C);
    lmt_gemm_cleanup();
    return 0;
}
