/* The element kernels of one distilgpt2 training step (batch 8 x 128 = 1024
 * tokens, C 768, MLP 3072, vocabulary 50257, 82M parameters) at each x86
 * instruction-set level the CPU has (kernels/variant.h), forced in turn with
 * lmt_isa_force: ms per call and ms per step (calls per step as in
 * `LMT_PROFILE=1 bench_gpt2 train`).
 *
 *   bench_elem [reps]
 *
 * Each figure is the best of `reps` runs (default 5) after a warm-up run:
 * the machine is shared, and the best run is the one least disturbed. The
 * attention is left out: its time is mostly its products, whose GEMM level
 * is another question (bench_matmul). Threads: OMP_NUM_THREADS. AdamW, the
 * norm and the zeroing run on a 16M-float slice and are scaled to 82M. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <omp.h>
#include "core/cpu.h"
#include "core/util.h"
#include "kernels/activation.h"
#include "kernels/crossentropy.h"
#include "kernels/dropout.h"
#include "kernels/embedding.h"
#include "kernels/layernorm.h"
#include "kernels/optimizer.h"
#include "kernels/residual.h"
#include "kernels/zero.h"

enum { N = 1024, T = 128, C = 768, F = 3072, V = 50257 };
#define PARAMS 81912576.0          /* distilgpt2's trained floats */
#define SLICE (16L << 20)          /* floats of the optimizer slice */

static float *x, *y, *d, *w, *b, *mean, *rstd, *big, *logits, *losses, *pre, *act, *scratch;
static float *pp, *pm, *pv, *pg;
static int32_t *ids, *targets;

static void ln_fwd(void) { lmt_layernorm_forward(y, mean, rstd, x, w, b, N, C, 1e-5f); }
static void ln_bwd(void) { lmt_layernorm_backward(d, w, b, y, x, w, mean, rstd, N, C); }
static void gelu_fwd(void) { lmt_bias_activation_forward(pre, act, b, N, F, LMT_ACT_GELU_TANH); }
static void gelu_bwd(void) { lmt_activation_bias_backward(big, b, act, pre, N, F, LMT_ACT_GELU_TANH, scratch); }
static void silu_fwd(void) { lmt_activation_forward(act, pre, (size_t)N * F, LMT_ACT_SILU); }
static void drop_res(void) { lmt_dropout_residual_forward(y, x, d, (size_t)N * C, 0.1f, 7); }
static void drop_bwd(void) { lmt_dropout_backward(y, d, (size_t)N * C, 0.1f, 7); }
static void res_fwd(void) { lmt_residual_forward(y, x, d, (size_t)N * C); }
static void ce(void) {   /* the fused loss + gradient, on a fresh copy each time is not needed: logits stay finite */
    lmt_crossentropy_forward_grad(losses, logits, targets, N, V);
}
static void emb_fwd(void) { lmt_embedding_forward(y, ids, NULL, big, x, 1.0f, N / T, T, C); }
static void emb_bwd(void) { lmt_embedding_backward(big, x, d, ids, NULL, 1.0f, N / T, T, C); }
static void adamw(void) {
    lmt_adamw_coefs c = {.w1 = 0.1f, .b2 = 0.999f, .w2 = 0.001f, .bc2_sqrt = 0.1f, .eps = 1e-8f, .step_size = 1e-4f,
                         .decay = 0.99f, .grad_scale = 1.0f};
#pragma omp parallel
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        long per = (SLICE / nt + 15) / 16 * 16, lo = t * per, hi = lo + per < SLICE ? lo + per : SLICE;
        if (lo < hi) lmt_adamw_update(pp + lo, pm + lo, pv + lo, pg + lo, hi - lo, &c);
    }
}
static volatile double sink;
static void norm(void) {
    double s = 0.0;
    long nc = SLICE >> 16;
#pragma omp parallel for schedule(static) reduction(+:s)
    for (long i = 0; i < nc; i++) s += lmt_sum_squares(pg + (i << 16), 1L << 16);
    sink = s;
}
static void zero(void) { lmt_zero_floats(pg, SLICE); }

typedef struct { const char *name; double calls; void (*run)(void); } kcase;
/* calls per step: LMT_PROFILE=1 bench_gpt2 train (distilgpt2: 6 layers) */
static const kcase cases[] = {
    {"layernorm fwd (1024x768)", 13, ln_fwd},
    {"layernorm bwd", 13, ln_bwd},
    {"bias+gelu fwd (1024x3072)", 6, gelu_fwd},
    {"bias+gelu bwd (+dbias)", 6, gelu_bwd},
    {"silu fwd (1024x3072)", 0, silu_fwd},
    {"dropout+residual fwd", 12, drop_res},
    {"dropout bwd", 19, drop_bwd},
    {"residual fwd", 0, res_fwd},
    {"cross-entropy fwd+grad (1024x50257)", 1, ce},
    {"embedding fwd", 1, emb_fwd},
    {"embedding bwd", 1, emb_bwd},
    {"adamw (82M)", PARAMS / SLICE, adamw},
    {"grad norm (82M)", PARAMS / SLICE, norm},
    {"zero grads (82M)", PARAMS / SLICE, zero},
};
enum { NCASE = sizeof cases / sizeof cases[0] };

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static float *randf(size_t n, float lo, float hi) {
    float *p = lmt_aligned_alloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = lo + (hi - lo) * (float)((i * 2654435761u) % 10007) / 10007.0f;
    return p;
}

int main(int argc, char **argv) {
    const int reps = argc > 1 ? atoi(argv[1]) : 5;
    x = randf((size_t)N * C, -2, 2), y = randf((size_t)N * C, -2, 2), d = randf((size_t)N * C, -1, 1);
    w = randf(C, 0.5f, 1.5f), b = randf(F, -0.1f, 0.1f), mean = randf(N, 0, 1), rstd = randf(N, 1, 2);
    big = randf((size_t)N * F, -1, 1), pre = randf((size_t)N * F, -3, 3), act = randf((size_t)N * F, -1, 1);
    scratch = randf(lmt_activation_bias_scratch_floats(N, F), 0, 1);
    logits = randf((size_t)N * V, -0.01f, 0.01f), losses = randf(N, 0, 1);
    pp = randf(SLICE, -1, 1), pm = randf(SLICE, -0.1f, 0.1f), pv = randf(SLICE, 0, 0.01f), pg = randf(SLICE, -0.01f, 0.01f);
    ids = malloc(N * sizeof *ids);
    targets = malloc(N * sizeof *targets);
    for (int i = 0; i < N; i++) ids[i] = (i * 7919) % (N * F / C), targets[i] = (i * 104729) % V;
    static const lmt_isa levels[] = {LMT_ISA_AVX512, LMT_ISA_AVX2, LMT_ISA_GENERIC};
    double ms[3][NCASE] = {{0}};
    int have[3] = {0};
    char model[128], feats[256];
    lmt_cpu_describe(model, sizeof model, feats, sizeof feats);
    printf("%s; %d threads; best of %d\n", model, omp_get_max_threads(), reps);
    for (int l = 0; l < 3; l++) {
        if (levels[l] > lmt_cpu_isa()) continue;
        have[l] = 1;
        lmt_isa_force(levels[l]);
        for (int k = 0; k < NCASE; k++) {
            cases[k].run();
            double best = INFINITY;
            for (int r = 0; r < reps; r++) {
                double t0 = now_ms();
                cases[k].run();
                best = fmin(best, now_ms() - t0);
            }
            ms[l][k] = best;
        }
    }
    lmt_isa_unforce();
    printf("%-38s %7s %10s %10s %10s   (ms per call)\n", "kernel", "calls", "avx512", "avx2", "generic");
    double step[3] = {0};
    for (int k = 0; k < NCASE; k++) {
        printf("%-38s %7.1f", cases[k].name, cases[k].calls);
        for (int l = 0; l < 3; l++) {
            if (have[l]) printf(" %10.3f", ms[l][k]), step[l] += cases[k].calls * ms[l][k];
            else printf(" %10s", "-");
        }
        printf("\n");
    }
    printf("%-38s %7s", "per training step (ms)", "");
    for (int l = 0; l < 3; l++) have[l] ? printf(" %10.1f", step[l]) : printf(" %10s", "-");
    printf("\n");
    return 0;
}
