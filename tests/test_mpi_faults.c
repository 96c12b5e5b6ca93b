/* Lost ranks and resuming under mpirun (lmtune train, a tiny GPT-2 on
 * WikiText-2): a rank killed mid-run takes the job down with a non-zero
 * exit naming it; a rank that stops answering (SIGSTOP: a frozen or
 * unreachable node, which mpirun does not notice) makes the survivor give up
 * after LMT_DIST_TIMEOUT naming it; resuming the killed run from its last
 * checkpoint on 2 ranks, or on 1 with batch 4, reproduces the uninterrupted
 * run. Skipped (77) without MPI, without mpirun, under AddressSanitizer. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "mpi_test.h"
#include "trainer_ref.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/util.h"
#include "io/tensor_file.h"
#include "train/dist.h"

#define WIKI LMT_SHARED_DATA "/wikitext-2-raw-v1/"
static char tmp[] = "/tmp/lmt-mpi-faults-XXXXXX";

/* the training command of every run here (output dir and extra flags appended) */
static void train_cmd(char *cmd, size_t cap, int np, int batch, const char *out, const char *extra) {
    char launch[128] = "";
    if (np > 1) snprintf(launch, sizeof launch, "mpirun -np %d --oversubscribe --bind-to none ", np);
    snprintf(cmd, cap,
             "exec %s'%s' train --task clm --config_name %s/cfg.json --tokenizer_name " LMT_SHARED_DATA "/tokenizers/gpt2 "
             "--train_file " WIKI "wiki.valid.raw --block_size 8 --max_train_samples 32 --per_device_train_batch_size %d "
             "--max_steps 80 --logging_steps 5 --save_steps 10 --save_total_limit 3 --learning_rate 1e-3 --seed 3 "
             "--output_dir %s/%s %s > %s/%s.log 2>&1",
             launch, LMT_CLI_PATH, tmp, batch, tmp, out, extra, tmp, out);
}

/* the line of text holding needle (for the report), or "" */
static const char *line_of(const char *text, const char *needle) {
    static char line[512];
    const char *at = strstr(text, needle);
    line[0] = '\0';
    if (!at) return line;
    while (at > text && at[-1] != '\n') at--;
    size_t n = strcspn(at, "\n");
    snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line - 1 ? n : sizeof line - 1), at);
    return line;
}

static char *read_text(const char *path) {
    char *text = NULL;
    size_t len = 0;
    if (lmt_read_file(path, &text, &len) != LMT_OK) return lmt_strdup("");
    return text;
}

/* worst relative difference of two saved models' weights */
static double model_diff(const char *a, const char *b) {
    char pa[600], pb[600];
    snprintf(pa, sizeof pa, "%s/%s/model.safetensors", tmp, a);
    snprintf(pb, sizeof pb, "%s/%s/model.safetensors", tmp, b);
    return mpi_test_weights_diff(pa, pb);
}

/* the logged training losses of run b against a's (trainer_state.json), entry by entry */
static void compare_state(const char *a, const char *b) {
    char pa[600], pb[600];
    snprintf(pa, sizeof pa, "%s/%s/trainer_state.json", tmp, a);
    snprintf(pb, sizeof pb, "%s/%s/trainer_state.json", tmp, b);
    lmt_json *ja = NULL, *jb = NULL;
    CHECK_OK(lmt_json_parse_file(pa, &ja));
    CHECK_OK(lmt_json_parse_file(pb, &jb));
    const lmt_json *la = ja ? lmt_json_get(ja, "log_history") : NULL, *lb = jb ? lmt_json_get(jb, "log_history") : NULL;
    CHECK_MSG(la && lb && la->len == lb->len, "%s vs %s: log lengths", a, b);
    int bad = 0;
    /* the last entry is the train summary (timings; train_loss is the resumed part's alone) */
    for (size_t i = 0; la && lb && i + 1 < la->len && i + 1 < lb->len; i++) bad += ref_log_entry_diff(&la->items[i], &lb->items[i], i);
    CHECK_MSG(bad == 0, "%s vs %s: %d logged values differ", b, a, bad);
    lmt_json_free(ja);
    lmt_json_free(jb);
}

int main(void) {
    const char *skip = mpi_test_skip_reason();
    if (skip) { printf("skipped: %s\n", skip); return 77; }
    mpi_test_env();
    CHECK(mkdtemp(tmp) != NULL);
    char marker[128], cmd[4096], path[700];
    snprintf(marker, sizeof marker, "LMT_FAULTS_TEST=%s", tmp);   /* finds this test's ranks in /proc */
    putenv(marker);
    mpi_test_write_config(tmp);
    double took;
    /* the uninterrupted run */
    train_cmd(cmd, sizeof cmd, 2, 2, "full", "");
    CHECK_MSG(mpi_test_wait(mpi_test_spawn(cmd), 300, &took) == 0, "the uninterrupted mpirun -np 2 run failed");
    printf("uninterrupted run: %.1f s\n", took);

    /* rank 1 killed once checkpoint-40 is written: mpirun ends the job naming it */
    setenv("LMT_DIST_TIMEOUT", "20", 1);
    train_cmd(cmd, sizeof cmd, 2, 2, "killed", "");
    pid_t job = mpi_test_spawn(cmd);
    snprintf(path, sizeof path, "%s/killed/checkpoint-40/trainer_state.json", tmp);
    CHECK_MSG(mpi_test_wait_file(path, 240), "no checkpoint-40 in the run to kill");
    pid_t r1 = mpi_test_find_rank(marker, 1);
    CHECK_MSG(r1 > 0, "rank 1 of the job not found");
    if (r1 > 0) kill(r1, SIGKILL);
    int rc = mpi_test_wait(job, 60, &took);
    snprintf(path, sizeof path, "%s/killed.log", tmp);
    char *log = read_text(path);
    CHECK_MSG(rc != 0 && rc != -1, "a killed rank: mpirun exited %d", rc);
    CHECK_MSG(strstr(log, "rank 1") != NULL, "a killed rank: the output does not name rank 1:\n%s", log);
    snprintf(path, sizeof path, "%s/killed/checkpoint-80", tmp);
    CHECK_MSG(!lmt_is_dir(path), "the killed run went on to the end");
    printf("rank 1 killed: the job ended in %.1f s, exit %d: %s\n", took, rc, line_of(log, "rank 1"));
    free(log);

    /* resume the killed run's last checkpoint on 1 rank with batch 4 (a copy), and on 2 ranks */
    snprintf(cmd, sizeof cmd, "cp -r %s/killed %s/one", tmp, tmp);
    CHECK(system(cmd) == 0);
    train_cmd(cmd, sizeof cmd, 1, 4, "one", "--resume_from_checkpoint latest");
    CHECK_MSG(mpi_test_wait(mpi_test_spawn(cmd), 300, &took) == 0, "resuming on one process failed");
    train_cmd(cmd, sizeof cmd, 2, 2, "killed", "--resume_from_checkpoint latest");
    CHECK_MSG(mpi_test_wait(mpi_test_spawn(cmd), 300, &took) == 0, "resuming on 2 ranks failed");
    double d2 = model_diff("killed", "full"), d1 = model_diff("one", "full");
    CHECK_MSG(d2 <= 1e-4, "resumed on 2 ranks: final weights differ from the uninterrupted run's by %.3g", d2);
    CHECK_MSG(d1 <= 1e-4, "resumed on 1 rank (batch 4): final weights differ from the uninterrupted run's by %.3g", d1);
    compare_state("full", "killed");
    compare_state("full", "one");
    printf("resumed: on 2 ranks within %.2g, on 1 rank with batch 4 within %.2g of the uninterrupted run\n", d2, d1);

    /* rank 1 stopped (SIGSTOP): nobody dies, so only the timeout ends the job; rank 0 names rank 1 */
    setenv("LMT_DIST_TIMEOUT", "4", 1);
    train_cmd(cmd, sizeof cmd, 2, 2, "stopped", "");
    job = mpi_test_spawn(cmd);
    snprintf(path, sizeof path, "%s/stopped/checkpoint-10/trainer_state.json", tmp);
    CHECK_MSG(mpi_test_wait_file(path, 240), "no checkpoint-10 in the run to stop");
    r1 = mpi_test_find_rank(marker, 1);
    if (r1 > 0) kill(r1, SIGSTOP);
    rc = mpi_test_wait(job, 60, &took);
    if (r1 > 0) kill(r1, SIGKILL);   /* in case mpirun left it stopped */
    snprintf(path, sizeof path, "%s/stopped.log", tmp);
    log = read_text(path);
    CHECK_MSG(rc != 0 && rc != -1, "a stopped rank: mpirun exited %d (-1: still waiting after 60 s)", rc);
    CHECK_MSG(strstr(log, "no answer from rank 1") || strstr(log, "has waited"),
              "a stopped rank: no timeout message naming rank 1:\n%s", log);
    printf("rank 1 stopped: the job ended in %.1f s (LMT_DIST_TIMEOUT=4), exit %d: %s\n", took, rc,
           line_of(log, strstr(log, "no answer from rank 1") ? "no answer from rank 1" : "has waited"));
    free(log);
    unsetenv("LMT_DIST_TIMEOUT");
    int rc_all = lmt_test_finish();
    if (rc_all == 0) ref_remove_dir(tmp);
    else fprintf(stderr, "the runs' folders and logs are kept in %s\n", tmp);
    return rc_all;
}
