/* One GPT-2 training step (forward, backward, gradient clipping, AdamW) on
 * the distilgpt2 configuration with random weights, batch 8 x 128 by default.
 * Prints time per phase, training tokens/s and GFLOP/s (a distilgpt2 step
 * costs about 0.493 GFLOP per token; the ratio is taken as given).
 *
 *   bench_gpt2_step [steps] [B] [T] [config.json]
 *
 * LMT_PROFILE=1 adds the per-kernel table (the CLI's --profile).
 *
 * Threads: OMP_NUM_THREADS for the kernels, OPENBLAS_NUM_THREADS for the
 * matrix products; note OPENBLAS_CORETYPE (this environment forces Haswell). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <omp.h>
#include "core/profile.h"
#include "core/rng.h"
#include "core/util.h"
#include "kernels/matmul.h"
#include "models/gpt2.h"
#include "models/model.h"
#include "train/adamw.h"

#ifndef LMT_SHARED_DATA_DIR
#define LMT_SHARED_DATA_DIR "/work/shared/data"
#endif

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 5;
    int B = argc > 2 ? atoi(argv[2]) : 8;
    int T = argc > 3 ? atoi(argv[3]) : 128;
    const char *cfg_path = argc > 4 ? argv[4] : LMT_SHARED_DATA_DIR "/configs/distilgpt2.json";
    if (steps <= 0 || B <= 0 || T <= 0) { fprintf(stderr, "usage: %s [steps] [B] [T] [config.json]\n", argv[0]); return 2; }
    lmt_profile_enable(getenv("LMT_PROFILE") && atoi(getenv("LMT_PROFILE")) > 0);
    lmt_config cfg;
    lmt_model *m = NULL;
    lmt_gpt2 *g = NULL;
    lmt_adamw opt;
    if (lmt_config_load(cfg_path, &cfg) != LMT_OK || lmt_model_init(&cfg, 1, &m) != LMT_OK ||
        lmt_gpt2_create(m, B, T, true, &g) != LMT_OK ||
        lmt_adamw_init(&opt, &m->layout, 0.9, 0.999, 1e-8, 0.01) != LMT_OK) {
        fprintf(stderr, "bench_gpt2_step: %s\n", lmt_last_error());
        return 1;
    }
    lmt_rng r;
    lmt_rng_seed(&r, 7);
    int32_t *ids = malloc((size_t)B * T * sizeof *ids);
    for (int i = 0; i < B * T; i++) ids[i] = (int32_t)lmt_rng_below(&r, (uint64_t)g->V);
    const char *ct = getenv("OPENBLAS_CORETYPE"), *bt = getenv("OPENBLAS_NUM_THREADS");
    printf("model: %s (%zu parameters), batch %d x %d, %d steps, dropout on\n", cfg_path, lmt_model_num_params(m), B, T, steps);
    printf("threads: OpenMP %d, OPENBLAS_NUM_THREADS=%s, OPENBLAS_CORETYPE=%s; %s\n", omp_get_max_threads(),
           bt ? bt : "(unset)", ct ? ct : "(unset)", lmt_matmul_backend());
    double tf = 0, tb = 0, to = 0, total = 0, loss = 0;
    for (int s = -1; s < steps; s++) {   // step -1 warms up
        double t0 = lmt_time_s();
        if (s == 0) lmt_profile_reset();   // the warm-up step is not profiled
        LMT_PROFILE("optimizer/zero grad", 0, lmt_gpt2_zero_grad(g));
        if (lmt_gpt2_forward(g, LMT_I32, ids, NULL, ids, B, T, true) != LMT_OK) { fprintf(stderr, "%s\n", lmt_last_error()); return 1; }
        double t1 = lmt_time_s();
        lmt_gpt2_backward(g);
        double t2 = lmt_time_s();
        double norm;
        LMT_PROFILE("optimizer/grad norm", 0, norm = lmt_grad_norm(g->grads, &m->layout));
        LMT_PROFILE("optimizer/adamw", 0, lmt_adamw_step_scaled(&opt, m->params, g->grads, 1e-4, lmt_clip_coef(norm, 1.0)));
        double t3 = lmt_time_s();
        if (s >= 0) { tf += t1 - t0; tb += t2 - t1; to += t3 - t2; total += t3 - t0; }
        loss = g->loss;
    }
    if (lmt_profile_on) lmt_profile_print(stdout, steps);
    double tok = (double)B * T * steps / total;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("per step: forward %.3f s, backward %.3f s, clip+AdamW %.3f s, total %.3f s (last loss %.4f)\n", tf / steps,
           tb / steps, to / steps, total / steps, loss);
    printf("training: %.1f tokens/s, %.1f GFLOP/s (0.493 GFLOP/token), peak RSS %.0f MiB\n", tok, tok * 0.493,
           ru.ru_maxrss / 1024.0);
    free(ids);
    lmt_adamw_free(&opt);
    lmt_gpt2_free(g);
    lmt_model_free(m);
    return 0;
}
