/* lmtune's side of bench/run_llama_bench.sh and bench/run_llama_memory.sh:
 * one job on a Llama-family configuration (default SmolLM2-135M's) from
 * random initialisation, timed in steady state, as one JSON line.
 *
 *   bench_llama train    [--bf16] [--gc] [--steps N] [--batch B] [--block T] [--config F]
 *       whole training steps (forward, backward, clipping, AdamW); --gc:
 *       gradient checkpointing
 *   bench_llama eval     [--bf16] [--steps N] [--batch B] [--block T]
 *       forward passes with labels (loss), no gradient buffers
 *   bench_llama generate [--bf16] [--new N] [--prompt P]
 *       greedy decoding with the key/value cache, batch 1
 *
 * A warm-up step runs before the timed ones (train, eval; --steps 0: the
 * warm-up alone, for the peak memory, tokens_per_s then 0). peak_rss_mib is
 * getrusage's ru_maxrss: the whole process, weights, gradients and AdamW's
 * moments included; tokens_per_cpu_s divides by the process's CPU time
 * (all threads; on a shared machine, what time preempted does not inflate).
 * LMT_PROFILE=1 adds the per-kernel table on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <omp.h>
#include "core/profile.h"
#include "core/rng.h"
#include "core/util.h"
#include "kernels/gemm.h"
#include "kernels/matmul.h"
#include "models/gpt2_decode.h"
#include "models/llama.h"
#include "models/model.h"
#include "train/adamw.h"

#ifndef LMT_SHARED_DATA_DIR
#define LMT_SHARED_DATA_DIR "/work/shared/data"
#endif

typedef struct opts {
    const char *mode, *config;
    int steps, B, T, n_new, n_prompt;
    bool bf16, gc;
} opts;

static int usage(const char *why) {
    if (why) fprintf(stderr, "bench_llama: %s\n", why);
    fprintf(stderr, "usage: bench_llama train|eval|generate [--bf16] [--gc] [--steps N] [--batch B] [--block T] [--new N] [--prompt P] [--config F]\n");
    return 2;
}

static int parse(int argc, char **argv, opts *o) {
    *o = (opts){.config = LMT_SHARED_DATA_DIR "/llama-family/SmolLM2-135M/config.json", .steps = 3, .B = 8, .T = 256,
                .n_new = 64, .n_prompt = 8};
    if (argc < 2 || (strcmp(argv[1], "train") && strcmp(argv[1], "eval") && strcmp(argv[1], "generate"))) return usage(NULL);
    o->mode = argv[1];
    for (int i = 2; i < argc; i++) {
        bool has = i + 1 < argc;
        if (!strcmp(argv[i], "--bf16")) o->bf16 = true;
        else if (!strcmp(argv[i], "--gc")) o->gc = true;
        else if (!strcmp(argv[i], "--steps") && has) o->steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && has) o->B = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--block") && has) o->T = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--new") && has) o->n_new = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--prompt") && has) o->n_prompt = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--config") && has) o->config = argv[++i];
        else return usage(argv[i]);
    }
    if (o->steps < 0 || o->B <= 0 || o->T <= 0 || o->n_new <= 0 || o->n_prompt <= 0) return usage("sizes must be positive");
    return 0;
}

static double peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

/* the process's CPU time (user + system, all threads) */
static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

static int fail(void) { fprintf(stderr, "bench_llama: %s\n", lmt_last_error()); return 1; }

/* greedy decoding as model.generate() is timed: the prompt's pass, then one pass per new token */
static int decode(lmt_model *m, const opts *o, lmt_rng *r, double *seconds, double *cpu) {
    int V = (int)m->cfg.vocab_size;
    lmt_gpt2_kv *kv = NULL;
    if (lmt_gpt2_kv_create(m, o->n_prompt + o->n_new, &kv) != LMT_OK) return fail();
    const float *logits = NULL;
    int32_t prompt[4096];
    if (o->n_prompt > 4096) return usage("--prompt is at most 4096");
    for (int i = 0; i < o->n_prompt; i++) prompt[i] = (int32_t)lmt_rng_below(r, (uint64_t)V);
    double t0 = lmt_time_s(), c0 = cpu_s();
    if (lmt_gpt2_kv_prefill(kv, prompt, o->n_prompt, &logits) != LMT_OK) return fail();
    for (int i = 0; i < o->n_new; i++) {
        int32_t best = 0;
        for (int v = 1; v < V; v++) if (logits[v] > logits[best]) best = v;
        if (i + 1 < o->n_new && lmt_gpt2_kv_step(kv, best, &logits) != LMT_OK) return fail();
    }
    *seconds = lmt_time_s() - t0;
    *cpu = cpu_s() - c0;
    lmt_gpt2_kv_free(kv);
    return 0;
}

/* warm-up step, then o->steps timed ones */
static int steps(lmt_model *m, const opts *o, lmt_rng *r, double *seconds, double *cpu, double *loss) {
    bool train = !strcmp(o->mode, "train");
    int B = o->B, T = o->T, V = (int)m->cfg.vocab_size;
    m->gradient_checkpointing = o->gc;
    lmt_llama *l = NULL;
    lmt_adamw opt;
    if (lmt_llama_create(m, B, T, train, &l) != LMT_OK) return fail();
    if (train && lmt_adamw_init(&opt, &m->layout, 0.9, 0.999, 1e-8, 0.01) != LMT_OK) return fail();
    int32_t *ids = malloc((size_t)B * T * sizeof *ids);
    if (!ids) return 1;
    for (int i = 0; i < B * T; i++) ids[i] = (int32_t)lmt_rng_below(r, (uint64_t)V);
    for (int s = -1; s < o->steps; s++) {
        if (s == 0) lmt_profile_reset();
        double t0 = lmt_time_s(), c0 = cpu_s();
        if (train) LMT_PROFILE("optimizer/zero grad", 0, lmt_net_zero_grad(&l->net));
        if (lmt_llama_forward(l, LMT_I32, ids, NULL, ids, B, T, train) != LMT_OK) return fail();
        if (train) {
            if (lmt_llama_backward(l) != LMT_OK) return fail();
            double norm;
            LMT_PROFILE("optimizer/grad norm", 0, norm = lmt_grad_norm(l->net.grads, &m->layout));
            LMT_PROFILE("optimizer/adamw", 0, lmt_adamw_step_scaled(&opt, m->params, l->net.grads, 1e-4, lmt_clip_coef(norm, 1.0)));
        }
        if (s >= 0) *seconds += lmt_time_s() - t0;
        if (s >= 0) *cpu += cpu_s() - c0;
        *loss = l->net.loss;
    }
    if (lmt_profile_on && o->steps) lmt_profile_print(stderr, o->steps);
    free(ids);
    if (train) lmt_adamw_free(&opt);
    lmt_llama_free(l);
    return 0;
}

int main(int argc, char **argv) {
    opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc;
    lmt_profile_enable(getenv("LMT_PROFILE") && atoi(getenv("LMT_PROFILE")) > 0);
    lmt_matmul_set_precision(o.bf16 ? LMT_MATMUL_BF16 : LMT_MATMUL_FP32);
    lmt_config cfg;
    lmt_model *m = NULL;
    if (lmt_config_load(o.config, &cfg) != LMT_OK || lmt_model_init(&cfg, 1, &m) != LMT_OK) return fail();
    if (!lmt_arch_is_llama(m->cfg.arch)) { fprintf(stderr, "bench_llama: %s is not a Llama-family config\n", o.config); return 2; }
    lmt_rng r;
    lmt_rng_seed(&r, 7);
    double seconds = 0, cpu = 0, tokens, loss = 0;
    bool gen = !strcmp(o.mode, "generate");
    rc = gen ? decode(m, &o, &r, &seconds, &cpu) : steps(m, &o, &r, &seconds, &cpu, &loss);
    if (rc) return rc;
    tokens = gen ? o.n_new : (double)o.B * o.T * o.steps;
    printf("{\"impl\": \"lmtune\", \"mode\": \"%s\", \"bf16\": %s, \"gc\": %s, \"batch\": %d, \"block\": %d, "
           "\"tokens_per_s\": %.2f, \"tokens_per_cpu_s\": %.2f, \"peak_rss_mib\": %.0f, \"loss\": %.4f, \"threads\": %d, \"matmul\": \"%s\", \"isa\": \"%s\"}\n",
           o.mode, o.bf16 ? "true" : "false", o.gc ? "true" : "false", gen ? 1 : o.B, gen ? o.n_prompt : o.T,
           seconds > 0 ? tokens / seconds : 0.0, cpu > 0 ? tokens / cpu : 0.0, peak_rss_mib(), loss, omp_get_max_threads(), lmt_matmul_backend(),
           lmt_gemm_isa(o.bf16));
    lmt_model_free(m);
    return 0;
}
