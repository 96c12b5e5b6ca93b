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
#include "mpi_test.h"
#include "trainer_ref.h"

#define WIKI LMT_SHARED_DATA "/wikitext-2-raw-v1/"

int main(void) {
    const char *skip = mpi_test_skip_reason();
    if (skip) { printf("skipped: %s\n", skip); return 77; }
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
    mpi_test_env();
    setenv("LMT_DIST_TIMEOUT", "60", 1);
    mpi_test_write_config(tmp);
    char args[2048], path[700];
    snprintf(args, sizeof args,
             "train --task clm --config_name %s/cfg.json --tokenizer_name " LMT_SHARED_DATA "/tokenizers/gpt2 --train_file " WIKI
             "wiki.valid.raw --validation_file " WIKI "wiki.test.raw --block_size 8 --max_train_samples 32 --max_eval_samples 8 "
             "--per_device_eval_batch_size 2 --eval_strategy steps --eval_steps 10 --logging_steps 5 --save_steps 10 "
             "--learning_rate 1e-3 --seed 3",
             tmp);
    /* across the namespaces: tools/mpi_netns.sh run TAG -- COMMAND runs mpirun -np 2 over the veth pair */
    snprintf(cmd, sizeof cmd, "'%s/tools/mpi_netns.sh' run %s -- '%s' %s --max_steps 20 --per_device_train_batch_size 2 --output_dir %s/two > %s/two.log 2>&1",
             LMT_SOURCE_DIR, tag, LMT_CLI_PATH, args, tmp, tmp);
    int rc = system(cmd);
    CHECK_MSG(rc == 0, "mpirun across the two namespaces failed (log: %s/two.log)", tmp);
    snprintf(cmd, sizeof cmd, "'%s' %s --max_steps 20 --per_device_train_batch_size 4 --output_dir %s/one > %s/one.log 2>&1", LMT_CLI_PATH, args, tmp, tmp);
    CHECK_MSG(system(cmd) == 0, "the one-process run failed (log: %s/one.log)", tmp);
    char a[700], b[700];
    snprintf(a, sizeof a, "%s/two/model.safetensors", tmp);
    snprintf(b, sizeof b, "%s/one/model.safetensors", tmp);
    double d = mpi_test_weights_diff(a, b);
    CHECK_MSG(d <= 1e-4, "two hosts vs one process with batch 4: the final weights differ by %.3g", d);
    /* rank 1 ran in the second namespace: its daemon went through the agent */
    char agent_log[700];
    snprintf(agent_log, sizeof agent_log, "/tmp/lmt-netns-%s/agent.log", tag);
    snprintf(cmd, sizeof cmd, "grep -q ' -> lmt%sb' %s", tag, agent_log);
    CHECK_MSG(system(cmd) == 0, "the agent never started a daemon in the second namespace");
    printf("two hosts (network namespaces, TCP over a veth pair): = one process with batch 4 within %.2g\n", d);

    /* a node that drops: the veth link goes down mid-run. Nobody dies, so
     * rank 0 gives up after LMT_DIST_TIMEOUT naming rank 1 (or, lost inside
     * the all-reduce, the watchdog says so) and exits. mpirun's own teardown
     * of the unreachable node is Open MPI's (its TCP keepalives): allowed
     * to take longer, and then killed here. */
    setenv("LMT_DIST_TIMEOUT", "3", 1);
    setenv("MPI_NETNS_MPIRUN_ARGS", "--mca oob_tcp_keepalive_time 5 --mca oob_tcp_keepalive_intvl 1 --mca oob_tcp_keepalive_probes 3", 1);
    char marker[128];
    snprintf(marker, sizeof marker, "LMT_NETNS_TEST=%s", tmp);   /* finds this test's rank 0 in /proc */
    putenv(marker);
    snprintf(cmd, sizeof cmd, "exec '%s/tools/mpi_netns.sh' run %s -- '%s' %s --per_device_train_batch_size 2 --max_steps 100000 "
             "--output_dir %s/drop --overwrite_output_dir > %s/drop.log 2>&1", LMT_SOURCE_DIR, tag, LMT_CLI_PATH, args, tmp, tmp);
    pid_t job = mpi_test_spawn(cmd);
    snprintf(path, sizeof path, "%s/drop/checkpoint-20/trainer_state.json", tmp);
    CHECK_MSG(mpi_test_wait_file(path, 120), "no checkpoint-20 in the run whose node drops");
    pid_t r0 = mpi_test_find_rank(marker, 0);
    CHECK_MSG(r0 > 0, "rank 0 of the job not found");
    snprintf(cmd, sizeof cmd, "ip -n lmt%sa link set lmv%sa down", tag, tag);
    CHECK(system(cmd) == 0);
    double t0 = lmt_time_s();
    while (r0 > 0 && kill(r0, 0) == 0 && lmt_time_s() - t0 < 30) usleep(50000);
    double gone = lmt_time_s() - t0;
    CHECK_MSG(r0 > 0 && kill(r0, 0) != 0, "a dropped node: rank 0 still runs %.0f s after the link went down", gone);
    double took;
    rc = mpi_test_wait(job, 8, &took);
    char *log = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/drop.log", tmp);
    if (lmt_read_file(path, &log, &len) != LMT_OK) log = NULL;
    CHECK_MSG(log && (strstr(log, "no answer from rank 1") || strstr(log, "has waited")),
              "a dropped node: rank 0 printed no timeout message:\n%s", log ? log : "");
    printf("a dropped node: rank 0 gave up and exited %.0f s after the link went down (LMT_DIST_TIMEOUT=3); mpirun %s\n", gone,
           rc == -1 ? "was still tearing the job down 8 s later (killed)" : "ended the job");
    free(log);
    unsetenv("MPI_NETNS_MPIRUN_ARGS");
    snprintf(cmd, sizeof cmd, "'%s/tools/mpi_netns.sh' down %s", LMT_SOURCE_DIR, tag);
    CHECK_MSG(system(cmd) == 0, "could not remove the namespaces");
    int fails = lmt_test_finish();
    if (fails == 0) ref_remove_dir(tmp);
    return fails;
}
