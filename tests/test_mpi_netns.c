/* Training across two hosts: two network namespaces joined by a veth pair
 * (10.77.<n>.1 and .2), mpirun in the first starting rank 1's daemon in the
 * second through a plm_rsh_agent that runs `ip netns exec` instead of ssh,
 * Open MPI's TCP transport between them (btl tcp,self: no shared memory).
 * The run must equal one process with the whole global batch (1e-4).
 * Needs root (CI runs as root); skipped with the reason where namespaces
 * cannot be made, without MPI or mpirun, and under AddressSanitizer.
 * tools/mpi_netns.sh is the same setup for a shell (bench/run_mpi_bench.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "trainer_ref.h"
#include "core/fs.h"
#include "io/tensor_file.h"
#include "train/dist.h"

#define WIKI LMT_SHARED_DATA "/wikitext-2-raw-v1/"

static double model_diff(const char *pa, const char *pb) {
    lmt_tensor_file *fa = NULL, *fb = NULL;
    CHECK_OK(lmt_safetensors_open(pa, &fa));
    CHECK_OK(lmt_safetensors_open(pb, &fb));
    double worst = fa && fb ? 0 : INFINITY;
    for (size_t i = 0; fa && fb && i < fa->n; i++) {
        const lmt_tensor_entry *x = &fa->entries[i], *y = lmt_tensor_file_find(fb, x->name);
        if (!y || y->nbytes != x->nbytes || x->dtype != LMT_F32) { worst = INFINITY; break; }
        const float *u = x->data, *v = y->data;
        for (size_t k = 0; k < x->nbytes / 4; k++) {
            double d = fabs((double)u[k] - v[k]) / (fabs(v[k]) > 1 ? fabs(v[k]) : 1);
            if (!(d <= worst)) worst = d;
        }
    }
    lmt_tensor_file_free(fa);
    lmt_tensor_file_free(fb);
    return worst;
}

int main(void) {
#if defined(__SANITIZE_ADDRESS__)
    printf("skipped: AddressSanitizer build (Open MPI's allocations)\n");
    return 77;
#endif
    if (!lmt_dist_backend()) { printf("skipped: built without MPI (LMT_MPI=OFF or no libopenmpi-dev)\n"); return 77; }
    if (system("command -v mpirun >/dev/null 2>&1") != 0) { printf("skipped: no mpirun on PATH (openmpi-bin)\n"); return 77; }
    if (geteuid() != 0) { printf("skipped: network namespaces need root (ip netns)\n"); return 77; }
    char tmp[] = "/tmp/lmt-mpi-netns-XXXXXX", cmd[8192], tag[32];
    CHECK(mkdtemp(tmp) != NULL);
    snprintf(tag, sizeof tag, "%d", (int)(getpid() % 200) + 20);   /* the subnet 10.77.<tag>.0/24, names lmt<tag>a / b */
    snprintf(cmd, sizeof cmd, "'%s/tools/mpi_netns.sh' up %s >%s/netns.log 2>&1", LMT_SOURCE_DIR, tag, tmp);
    if (system(cmd) != 0) {
        snprintf(cmd, sizeof cmd, "'%s/tools/mpi_netns.sh' down %s >/dev/null 2>&1; cat %s/netns.log; rm -rf %s", LMT_SOURCE_DIR, tag, tmp, tmp);
        printf("skipped: the two network namespaces could not be made (ip netns add, veth pair); why:\n");
        fflush(stdout);
        if (system(cmd) != 0) printf("(could not clean up)\n");
        return 77;
    }
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);   /* CI runs as root */
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("LMT_DIST_TIMEOUT", "60", 1);
    static const char cfg[] =
        "{\"architectures\": [\"GPT2LMHeadModel\"], \"model_type\": \"gpt2\", \"vocab_size\": 50257, \"n_embd\": 16, "
        "\"n_layer\": 1, \"n_head\": 2, \"n_positions\": 32, \"resid_pdrop\": 0.0, \"embd_pdrop\": 0.0, \"attn_pdrop\": 0.0, "
        "\"bos_token_id\": 50256, \"eos_token_id\": 50256}\n";
    char path[600];
    snprintf(path, sizeof path, "%s/cfg.json", tmp);
    CHECK_OK(lmt_write_file_atomic(path, cfg, sizeof cfg - 1));
    char args[2048];
    snprintf(args, sizeof args,
             "train --task clm --config_name %s/cfg.json --tokenizer_name " LMT_SHARED_DATA "/tokenizers/gpt2 --train_file " WIKI
             "wiki.valid.raw --validation_file " WIKI "wiki.test.raw --block_size 8 --max_train_samples 32 --max_eval_samples 8 "
             "--per_device_eval_batch_size 2 --eval_strategy steps --eval_steps 10 --max_steps 20 --logging_steps 5 --save_steps 10 "
             "--learning_rate 1e-3 --seed 3",
             tmp);
    /* across the namespaces: tools/mpi_netns.sh run TAG -- COMMAND runs mpirun -np 2 over the veth pair */
    snprintf(cmd, sizeof cmd, "'%s/tools/mpi_netns.sh' run %s -- '%s' %s --per_device_train_batch_size 2 --output_dir %s/two > %s/two.log 2>&1",
             LMT_SOURCE_DIR, tag, LMT_CLI_PATH, args, tmp, tmp);
    int rc = system(cmd);
    CHECK_MSG(rc == 0, "mpirun across the two namespaces failed (log: %s/two.log)", tmp);
    snprintf(cmd, sizeof cmd, "'%s' %s --per_device_train_batch_size 4 --output_dir %s/one > %s/one.log 2>&1", LMT_CLI_PATH, args, tmp, tmp);
    CHECK_MSG(system(cmd) == 0, "the one-process run failed (log: %s/one.log)", tmp);
    char a[700], b[700];
    snprintf(a, sizeof a, "%s/two/model.safetensors", tmp);
    snprintf(b, sizeof b, "%s/one/model.safetensors", tmp);
    double d = model_diff(a, b);
    CHECK_MSG(d <= 1e-4, "two hosts vs one process with batch 4: the final weights differ by %.3g", d);
    /* rank 1 ran in the second namespace: its daemon went through the agent */
    char agent_log[700];
    snprintf(agent_log, sizeof agent_log, "/tmp/lmt-netns-%s/agent.log", tag);
    snprintf(cmd, sizeof cmd, "grep -q ' -> lmt%sb' %s", tag, agent_log);
    CHECK_MSG(system(cmd) == 0, "the agent never started a daemon in the second namespace");
    printf("two hosts (network namespaces, TCP over a veth pair): = one process with batch 4 within %.2g\n", d);
    snprintf(cmd, sizeof cmd, "'%s/tools/mpi_netns.sh' down %s", LMT_SOURCE_DIR, tag);
    CHECK_MSG(system(cmd) == 0, "could not remove the namespaces");
    int fails = lmt_test_finish();
    if (fails == 0) ref_remove_dir(tmp);
    return fails;
}
