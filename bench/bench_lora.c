/* lmtune's side of bench/run_lora_bench.sh: training steps of a causal LM
 * (GPT-2 or the Llama family, random weights), full fine-tuning or LoRA, as
 * the Trainer runs them (zero grad, forward with dropout, backward, gradient
 * norm, clipping inside AdamW), timed in steady state; one JSON line.
 *
 *   bench_lora [--config F] [--steps N] [--batch B] [--block T]
 *              [--lora R] [--alpha A] [--targets LIST|all-linear] [--dropout P]
 *
 * Without --lora: full fine-tuning. Step times are wall time and the
 * process's CPU time per step (the CPU figure is steadier on a shared
 * machine: time spent preempted does not count). LMT_PROFILE=1 adds the
 * per-kernel table on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <omp.h>
#include "core/profile.h"
#include "core/rng.h"
#include "core/util.h"
#include "kernels/matmul.h"
#include "models/lora.h"
#include "models/model.h"
#include "train/adamw.h"
#include "train/finetune.h"
#include "train/task_clm.h"

#ifndef LMT_SHARED_DATA_DIR
#define LMT_SHARED_DATA_DIR "/work/shared/data"
#endif

static double peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int fail(void) { fprintf(stderr, "bench_lora: %s\n", lmt_last_error()); return 1; }

int main(int argc, char **argv) {
    const char *cfg_path = LMT_SHARED_DATA_DIR "/configs/distilgpt2.json", *targets = NULL;
    int steps = 3, B = 8, T = 128, r = 0;
    double alpha = 0, dropout = 0.05;   // TRL's default lora_dropout
    for (int i = 1; i < argc; i++) {
        bool has = i + 1 < argc;
        if (!strcmp(argv[i], "--steps") && has) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && has) B = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--block") && has) T = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--config") && has) cfg_path = argv[++i];
        else if (!strcmp(argv[i], "--lora") && has) r = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--alpha") && has) alpha = atof(argv[++i]);
        else if (!strcmp(argv[i], "--targets") && has) targets = argv[++i];
        else if (!strcmp(argv[i], "--dropout") && has) dropout = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_lora [--config F] [--steps N] [--batch B] [--block T] [--lora R] [--alpha A] "
                            "[--targets LIST|all-linear] [--dropout P]\n");
            return 2;
        }
    }
    if (steps <= 0 || B <= 0 || T <= 0 || r < 0) { fprintf(stderr, "bench_lora: sizes must be positive\n"); return 2; }
    lmt_profile_enable(getenv("LMT_PROFILE") && atoi(getenv("LMT_PROFILE")) > 0);
    lmt_config cfg;
    lmt_model *m = NULL;
    if (lmt_config_load(cfg_path, &cfg) != LMT_OK || lmt_model_init(&cfg, 1, &m) != LMT_OK) return fail();
    int V = (int)m->cfg.vocab_size;
    m->frozen = r > 0;   // as lmt_finetune_run sets it for LoRA
    lmt_clm_task *task = NULL;
    if (lmt_clm_task_create(m, B, T, &task) != LMT_OK) return fail();
    lmt_task_model *tm = &task->base;
    lmt_lora *lora = NULL;
    if (r > 0) {
        lmt_lora_config lc;
        lmt_lora_config_default(&lc);
        lc.r = r;
        lc.alpha = alpha > 0 ? alpha : 2.0 * r;
        lc.dropout = dropout;
        if (targets && lmt_lora_config_set_targets(&lc, targets) != LMT_OK) return fail();
        lmt_status s = lmt_lora_create(m, &lc, 42, "--targets", &lora);
        lmt_lora_config_free(&lc);
        if (s != LMT_OK || lmt_finetune_use_lora(tm, lora) != LMT_OK) return fail();
    }
    lmt_adamw opt;
    if (lmt_adamw_init(&opt, lmt_task_layout(tm), 0.9, 0.999, 1e-8, 0.0) != LMT_OK) return fail();
    lmt_rng rng;
    lmt_rng_seed(&rng, 7);
    size_t N = (size_t)B * T;
    int32_t *ids = malloc(N * sizeof *ids), *mask = malloc(N * sizeof *mask);
    if (!ids || !mask) return 1;
    for (size_t i = 0; i < N; i++) { ids[i] = (int32_t)lmt_rng_below(&rng, (uint64_t)V); mask[i] = 1; }
    lmt_batch b = {.B = B, .T = T, .input_ids = ids, .attention_mask = mask, .labels = ids};
    double wall = 0, cpu = 0, loss = 0;
    int64_t items = tm->count_items(tm->self, &b);
    for (int s = -1; s < steps; s++) {   // step -1 warms up
        if (s == 0) lmt_profile_reset();
        double t0 = lmt_time_s(), c0 = cpu_s(), loss_sum;
        int64_t got;
        if (tm->forward(tm->self, &b, true, (uint64_t)s + 1, &loss_sum, &got) != LMT_OK) return fail();
        if (tm->backward(tm->self, (float)(1.0 / (double)items)) != LMT_OK) return fail();
        double norm;
        LMT_PROFILE("optimizer/grad norm", 0, norm = lmt_grad_norm(tm->grads, lmt_task_layout(tm)));
        LMT_PROFILE("optimizer/adamw", 0, lmt_adamw_step_scaled(&opt, lmt_task_params(tm), tm->grads, 1e-4, lmt_clip_coef(norm, 1.0)));
        LMT_PROFILE("optimizer/zero grad", 0, tm->zero_grad(tm->self));
        lmt_profile_count_step();
        if (s >= 0) { wall += lmt_time_s() - t0; cpu += cpu_s() - c0; }
        loss = loss_sum / (double)items;
    }
    if (lmt_profile_on) lmt_profile_print(stderr, steps);
    int64_t trainable = 0, all = 0;
    if (lora) lmt_lora_counts(lora, &trainable, &all);
    printf("{\"impl\": \"lmtune\", \"mode\": \"%s\", \"arch\": \"%s\", \"batch\": %d, \"block\": %d, \"r\": %d, "
           "\"targets\": \"%s\", \"dropout\": %g, \"trainable\": %lld, \"step_ms\": %.1f, \"cpu_ms\": %.1f, \"tokens_per_s\": %.1f, "
           "\"peak_rss_mib\": %.0f, \"loss\": %.4f, \"threads\": %d, \"matmul\": \"%s\"}\n",
           lora ? "lora" : "full", lmt_arch_name(m->cfg.arch), B, T, r, lora ? (targets ? targets : "default") : "", lora ? dropout : 0.0,
           (long long)trainable, 1e3 * wall / steps, 1e3 * cpu / steps, (double)N * steps / wall, peak_rss_mib(), loss,
           omp_get_max_threads(), lmt_matmul_backend());
    free(ids);
    free(mask);
    lmt_adamw_free(&opt);
    lmt_lora_free(lora);
    lmt_clm_task_free(task);
    lmt_model_free(m);
    return 0;
}
