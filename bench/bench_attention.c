/* The attention kernel (kernels/attention.c) alone at the training shapes
 * of SmolLM2-135M (batch 8 x 256, 9 heads of 64, causal) and distilgpt2
 * (batch 8 x 128, 12 heads of 64, causal, q/k/v in one (B, T, 3C) buffer):
 * forward and backward, ms per call and GFLOP/s of the products a causal
 * mask leaves (2 * hs per visible query-key pair and product: two in the
 * forward, five in the backward, whose first recomputes the scores).
 *
 *   bench_attention [reps]
 *
 * Each figure is the best of `reps` runs (default 5) after a warm-up run.
 * Threads: OMP_NUM_THREADS; the level: LMT_ISA (core/cpu.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <omp.h>
#include "core/cpu.h"
#include "kernels/attention.h"

typedef struct { const char *name; int B, NH, T, hs, fused; } shape;
static const shape shapes[] = {
    {"SmolLM2-135M", 8, 9, 256, 64, 0},
    {"distilgpt2", 8, 12, 128, 64, 1},
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float *filled(size_t n, unsigned seed) {
    float *p = malloc(n * sizeof(float));
    if (!p) { fprintf(stderr, "bench_attention: out of memory\n"); exit(1); }
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = ((float)(seed >> 8) / 16777216.0f - 0.5f) * 2.0f;
    }
    return p;
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    if (reps < 1) { fprintf(stderr, "bench_attention: reps must be a positive integer, got '%s'\n", argv[1]); return 2; }
    char model[128], features[256];
    lmt_cpu_describe(model, sizeof model, features, sizeof features);
    printf("CPU %s; level %s; %d threads; best of %d\n\n", model, lmt_isa_name(lmt_isa_active()), omp_get_max_threads(), reps);
    printf("| shape | B x T | heads x hs | forward ms | forward GFLOP/s | backward ms | backward GFLOP/s |\n");
    printf("|---|---|---|---|---|---|---|\n");
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const shape *sh = &shapes[si];
        const int C = sh->NH * sh->hs, ld = sh->fused ? 3 * C : C;
        const size_t rows = (size_t)sh->B * sh->T;
        float *q = filled(rows * ld, 1), *k = sh->fused ? q + C : filled(rows * ld, 2),
              *v = sh->fused ? q + 2 * C : filled(rows * ld, 3);
        float *dq = filled(rows * ld, 4), *dk = sh->fused ? dq + C : filled(rows * ld, 5),
              *dv = sh->fused ? dq + 2 * C : filled(rows * ld, 6);
        float *out = filled(rows * C, 7), *dout = filled(rows * C, 8), *lse = filled((size_t)sh->B * sh->NH * sh->T, 9);
        lmt_attention_shape s = {.B = sh->B, .NH = sh->NH, .Tq = sh->T, .Tk = sh->T, .hs = sh->hs, .ldq = ld, .ldk = ld,
                                 .ldv = ld, .ldo = C, .scale = 1.0f / sqrtf((float)sh->hs), .causal = true};
        float *scratch = filled(lmt_attention_scratch_floats(&s), 10);
        const double pairs = (double)sh->B * sh->NH * sh->T * (sh->T + 1) / 2.0;
        const double fl_fwd = 2.0 * 2 * sh->hs * pairs, fl_bwd = 5.0 * 2 * sh->hs * pairs;
        double best_f = 1e30, best_b = 1e30;
        for (int r = 0; r <= reps; r++) {
            double t0 = now_s();
            lmt_attention_forward(out, lse, q, k, v, &s, scratch);
            double t1 = now_s();
            lmt_attention_backward(dq, dk, dv, dout, lse, q, k, v, &s, scratch);
            double t2 = now_s();
            if (r > 0) {   /* the first run warms the caches and the thread pool */
                best_f = t1 - t0 < best_f ? t1 - t0 : best_f;
                best_b = t2 - t1 < best_b ? t2 - t1 : best_b;
            }
        }
        printf("| %s | %d x %d | %d x %d | %.2f | %.1f | %.2f | %.1f |\n", sh->name, sh->B, sh->T, sh->NH, sh->hs,
               1e3 * best_f, fl_fwd / best_f * 1e-9, 1e3 * best_b, fl_bwd / best_b * 1e-9);
        free(q), free(dq), free(out), free(dout), free(lse), free(scratch);
        if (!sh->fused) free(k), free(v), free(dk), free(dv);
    }
    return 0;
}
