/* Matrix-product throughput at the distilgpt2 training shapes (batch 8 x 128
 * = 1024 tokens): OpenBLAS (lmt_sgemm with the OpenBLAS backend), lmt_gemm_f32
 * (on AMX where the CPU has it, and on the AVX-512 FMA kernel) and
 * lmt_gemm_bf16,
 * on 1 and 2 threads, in GFLOP/s (2 M N K / time), plus the machine's
 * measured peak (an FMA loop for fp32, a vdpbf16ps loop for bf16).
 *
 *   bench_matmul [reps] [shape-filter]
 *
 * Each figure is the best of `reps` runs (default 3) after one warm-up run:
 * the machine is shared, and the best run is the one least disturbed. A
 * filter keeps the shapes whose name contains it ("fc", "lm_head", ...).
 * The load average is printed before and after: other processes on the
 * machine take cores away, the 2-thread figures most. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <omp.h>
#include "core/util.h"
#include "kernels/gemm.h"
#include "kernels/matmul.h"

typedef struct { const char *name; bool ta, tb; int M, N, K; } shape;

/* lmtune's calls (kernels/linear.c, models/gpt2.c): x W for Conv1D weights
 * [in, out]; dX = dY W^T; dW += X^T dY; logits = x wte^T. */
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
};

typedef void (*gemm_fn)(bool, bool, int, int, int, float, const float *, int, const float *, int, float, float *, int);

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
static double thread_cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
static double peak(int kind, int nth) {   /* 0 fp32 FMA, 1 vdpbf16ps, 2 AMX */
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        volatile float sink = 0;
        double rate = 0;
#pragma omp parallel num_threads(nth) reduction(+ : rate)
        {
            double t0 = thread_cpu_s();
            long iters = kind == 2 ? PEAK_ITERS / 10 : PEAK_ITERS;
            float v = kind == 2 ? peak_amx_thread(iters) : kind == 1 ? peak_bf16_thread(iters) : peak_f32_thread(iters);
            double flops = kind == 2 ? iters * 4.0 * 16384 : iters * 24.0 * 16 * (kind == 1 ? 4 : 2);
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

static double run(gemm_fn f, const shape *s, int reps, float *A, float *B, float *C) {
    int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
    double best = 1e30;
    for (int r = -1; r < reps; r++) {   /* r = -1 warms up (packing buffers, pages) */
        double t0 = lmt_time_s();
        f(s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, lda, B, ldb, 0.0f, C, s->N);
        double t = lmt_time_s() - t0;
        if (r >= 0 && t < best) best = t;
    }
    return 2.0 * s->M * s->N * s->K / best / 1e9;
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 3;
    const char *filter = argc > 2 ? argv[2] : NULL;
    if (reps <= 0) { fprintf(stderr, "usage: %s [reps] [shape-filter]\n", argv[0]); return 2; }
    int maxth = omp_get_max_threads();
    lmt_matmul_set_precision(LMT_MATMUL_FP32);
    lmt_matmul_set_backend(LMT_MATMUL_OPENBLAS);
    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
    printf("%s; lmt_gemm: f32 %s, bf16 %s; best of %d runs; load average %.2f\n", lmt_matmul_backend(),
           lmt_gemm_isa(false), lmt_gemm_isa(true), reps, load[0]);
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    for (int nt = 1; nt <= maxth; nt++) {
        double pf = __builtin_cpu_supports("avx512f") ? peak(0, nt) : 0;
        double pb = __builtin_cpu_supports("avx512bf16") ? peak(1, nt) : 0;
        double pa = !strcmp(lmt_gemm_isa(true), "amx-bf16") ? peak(2, nt) : 0;
        printf("peak fp32 %.1f GFLOP/s, bf16 %.1f GFLOP/s (vdpbf16ps), %.1f GFLOP/s (AMX) on %d thread%s (per-thread CPU time)\n",
               pf, pb, pa, nt, nt > 1 ? "s" : "");
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
    printf("\n| shape | op | M | N | K | threads | OpenBLAS | lmt_gemm_f32 (%s) |%s lmt_gemm_bf16 |\n",
           lmt_gemm_isa(false), f32_amx ? " lmt_gemm_f32 (avx512f) |" : "");
    printf("|---|---|---|---|---|---|---|---|%s---|\n", f32_amx ? "---|" : "");
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const shape *s = &shapes[i];
        if (filter && !strstr(s->name, filter)) continue;
        for (int nt = 1; nt <= maxth && nt <= 2; nt++) {
            omp_set_num_threads(nt);
            lmt_matmul_set_threads(nt);
            double g0 = run(lmt_sgemm, s, reps, A, B, C);
            double g1 = run(lmt_gemm_f32, s, reps, A, B, C);
            double g2 = run(lmt_gemm_bf16, s, reps, A, B, C);
            char fma[32] = "";
            if (f32_amx) {   /* the same fp32 product on the FMA kernel (the AMX-less path) */
                lmt_gemm_force_fp32_units(true);
                snprintf(fma, sizeof fma, " %.1f |", run(lmt_gemm_f32, s, reps, A, B, C));
                lmt_gemm_force_fp32_units(false);
            }
            printf("| %s | %s%s | %d | %d | %d | %d | %.1f | %.1f |%s %.1f |\n", s->name, s->ta ? "T" : "N",
                   s->tb ? "T" : "N", s->M, s->N, s->K, nt, g0, g1, fma, g2);
            fflush(stdout);
        }
    }
    getloadavg(load, 3);
    printf("\nload average at the end %.2f\n", load[0]);
    free(A); free(B); free(C);
    lmt_gemm_cleanup();
    return 0;
}
