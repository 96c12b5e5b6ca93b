/* lmtune's GPT-2 side of bench/run_gpt2_bench.sh: one job on the distilgpt2
 * configuration with random weights, timed in steady state, as one JSON line.
 *
 *   bench_gpt2 train    [--bf16] [--steps N] [--batch B] [--block T] [--config F]
 *       whole training steps (forward, backward, clipping, AdamW); dropout on
 *   bench_gpt2 eval     [--bf16] [--steps N] [--batch B] [--block T]
 *       forward passes with labels (loss), no gradient buffers
 *   bench_gpt2 generate [--bf16] [--new N] [--prompt P]
 *       greedy decoding with the key/value cache, batch 1
 *
 * LMT_PROFILE=1 adds the per-kernel table (train and eval) on stderr. A
 * distilgpt2 training step costs 0.493 GFLOP per token (6 x 81.9M params
 * plus attention), evaluation a third of that. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <omp.h>
#include "core/profile.h"
#include "core/rng.h"
#include "core/util.h"
#include "models/gpt2_decode.h"
#include "kernels/matmul.h"
#include "models/gpt2.h"
#include "models/model.h"
#include "train/adamw.h"

#ifndef LMT_SHARED_DATA_DIR
#define LMT_SHARED_DATA_DIR "/work/shared/data"
#endif

static double peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

static int fail(void) { fprintf(stderr, "bench_gpt2: %s\n", lmt_last_error()); return 1; }

int main(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "train") && strcmp(argv[1], "eval") && strcmp(argv[1], "generate"))) {
        fprintf(stderr, "usage: bench_gpt2 train|eval|generate [--bf16] [--steps N] [--batch B] [--block T] [--new N] [--prompt P] [--config F]\n");
        return 2;
    }
    const char *mode = argv[1], *cfg_path = LMT_SHARED_DATA_DIR "/configs/distilgpt2.json";
    int steps = 3, B = 8, T = 128, n_new = 128, n_prompt = 8;
    bool bf16 = false;
    for (int i = 2; i < argc; i++) {
        bool has = i + 1 < argc;
        if (!strcmp(argv[i], "--bf16")) bf16 = true;
        else if (!strcmp(argv[i], "--steps") && has) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && has) B = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--block") && has) T = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--new") && has) n_new = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--prompt") && has) n_prompt = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--config") && has) cfg_path = argv[++i];
        else { fprintf(stderr, "bench_gpt2: unknown or incomplete option %s\n", argv[i]); return 2; }
    }
    if (steps <= 0 || B <= 0 || T <= 0 || n_new <= 0 || n_prompt <= 0) { fprintf(stderr, "bench_gpt2: sizes must be positive\n"); return 2; }
    lmt_profile_enable(getenv("LMT_PROFILE") && atoi(getenv("LMT_PROFILE")) > 0);
    lmt_matmul_set_precision(bf16 ? LMT_MATMUL_BF16 : LMT_MATMUL_FP32);
    lmt_config cfg;
    lmt_model *m = NULL;
    if (lmt_config_load(cfg_path, &cfg) != LMT_OK || lmt_model_init(&cfg, 1, &m) != LMT_OK) return fail();
    lmt_rng r;
    lmt_rng_seed(&r, 7);
    int V = (int)m->cfg.vocab_size;   // cfg was moved into the model
    double seconds = 0, tokens = 0, loss = 0;

    if (!strcmp(mode, "generate")) {
        lmt_gpt2_kv *kv = NULL;
        if (lmt_gpt2_kv_create(m, n_prompt + n_new, &kv) != LMT_OK) return fail();
        const float *logits = NULL;
        int32_t *prompt = malloc((size_t)n_prompt * sizeof *prompt);
        if (!prompt) return 1;
        for (int i = 0; i < n_prompt; i++) prompt[i] = (int32_t)lmt_rng_below(&r, (uint64_t)V);
        /* timed as model.generate() is: the prompt's pass, then one pass per new token */
        double t0 = lmt_time_s();
        if (lmt_gpt2_kv_prefill(kv, prompt, n_prompt, &logits) != LMT_OK) return fail();
        for (int i = 0; i < n_new; i++) {
            int32_t best = 0;
            for (int v = 1; v < V; v++) if (logits[v] > logits[best]) best = v;
            if (i + 1 < n_new && lmt_gpt2_kv_step(kv, best, &logits) != LMT_OK) return fail();
        }
        seconds = lmt_time_s() - t0;
        tokens = n_new;
        free(prompt);
        lmt_gpt2_kv_free(kv);
    } else {
        bool train = !strcmp(mode, "train");
        lmt_gpt2 *g = NULL;
        lmt_adamw opt;
        if (lmt_gpt2_create(m, B, T, train, &g) != LMT_OK) return fail();
        if (train && lmt_adamw_init(&opt, &m->layout, 0.9, 0.999, 1e-8, 0.01) != LMT_OK) return fail();
        int32_t *ids = malloc((size_t)B * T * sizeof *ids);
        for (int i = 0; i < B * T; i++) ids[i] = (int32_t)lmt_rng_below(&r, (uint64_t)V);
        for (int s = -1; s < steps; s++) {   // step -1 warms up
            if (s == 0) lmt_profile_reset();
            double t0 = lmt_time_s();
            if (train) LMT_PROFILE("optimizer/zero grad", 0, lmt_gpt2_zero_grad(g));
            if (lmt_gpt2_forward(g, LMT_I32, ids, NULL, ids, B, T, train) != LMT_OK) return fail();
            if (train) {
                if (lmt_gpt2_backward(g) != LMT_OK) return fail();
                double norm;
                LMT_PROFILE("optimizer/grad norm", 0, norm = lmt_grad_norm(g->net.grads, &m->layout));
                LMT_PROFILE("optimizer/adamw", 0, lmt_adamw_step_scaled(&opt, m->params, g->net.grads, 1e-4, lmt_clip_coef(norm, 1.0)));
            }
            if (s >= 0) seconds += lmt_time_s() - t0;
            loss = g->net.loss;
        }
        tokens = (double)B * T * steps;
        if (lmt_profile_on) lmt_profile_print(stderr, steps);
        free(ids);
        if (train) lmt_adamw_free(&opt);
        lmt_gpt2_free(g);
    }
    double tps = tokens / seconds;
    double gflop_per_token = !strcmp(mode, "train") ? 0.493 : (!strcmp(mode, "eval") ? 0.493 / 3 : 0.0);
    printf("{\"impl\": \"lmtune\", \"mode\": \"%s\", \"bf16\": %s, \"batch\": %d, \"block\": %d, \"tokens_per_s\": %.2f, "
           "\"gflops\": %.1f, \"peak_rss_mib\": %.0f, \"loss\": %.4f, \"threads\": %d, \"matmul\": \"%s\"}\n",
           mode, bf16 ? "true" : "false", B, T, tps, tps * gflop_per_token, peak_rss_mib(), loss, omp_get_max_threads(),
           lmt_matmul_backend());
    lmt_model_free(m);
    return 0;
}
