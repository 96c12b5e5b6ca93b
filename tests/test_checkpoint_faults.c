/* Checkpoints under faults (issue 18 item 5):
 * - a full disk (a small tmpfs mounted by the test, as root; skipped with a
 *   line saying so otherwise): saving the next checkpoint fails with an error
 *   naming the path and the cause, and the previous checkpoint stays as it
 *   was (same files, same bytes), with no temporary folder left behind;
 * - kill -9 during training with a checkpoint every step, repeated at
 *   different moments (so that kills land inside checkpoint writes, renames
 *   and rotations), then a resume from the latest checkpoint: the final
 *   weights and the last logged loss equal the uninterrupted run's, bit for bit.
 * The training runs are child processes (this program re-executed with
 * "child"), so that a kill takes a whole process, as it does a real run. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "model_files.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/util.h"
#include "models/config.h"
#include "models/model.h"
#include "train/task_clm.h"
#include "train/trainer.h"

#define T 8
#define N_BLOCKS 24

static const char tiny_config[] = "{\"model_type\": \"gpt2\", \"vocab_size\": 64, \"n_positions\": 16, \"n_embd\": 16, "
                                  "\"n_layer\": 1, \"n_head\": 2, \"bos_token_id\": 0, \"eos_token_id\": 0}";

/* One training run: output_dir dir, max_steps steps, a checkpoint every
 * save_steps; resume: from the latest checkpoint; stop_at > 0: stop after that
 * step. The final weights and last logged loss go to result (when given). */
static lmt_status train_run(const char *dir, int64_t max_steps, int64_t save_steps, bool resume, int64_t stop_at,
                            const char *result) {
    lmt_json *j = NULL;
    lmt_config cfg;
    memset(&cfg, 0, sizeof cfg);
    lmt_model *m = NULL;
    lmt_clm_task *task = NULL;
    LMT_TRY(lmt_json_parse(tiny_config, sizeof tiny_config - 1, "tiny", &j));
    LMT_TRY(lmt_config_from_json(j, "tiny", &cfg));
    LMT_TRY(lmt_model_init(&cfg, 7, &m));
    m->cfg.dropout = m->cfg.attn_dropout = m->cfg.embd_dropout = 0;
    LMT_TRY(lmt_clm_task_create(m, 2, T, &task));
    int32_t ids[N_BLOCKS * T];
    for (int i = 0; i < N_BLOCKS * T; i++) ids[i] = (i * 13 + i / 7) % 64;
    lmt_block_data tr;
    lmt_block_data_init(&tr, ids, N_BLOCKS, T);
    lmt_training_args a;
    lmt_training_args_default(&a);
    snprintf(a.output_dir, sizeof a.output_dir, "%s", dir);
    a.per_device_train_batch_size = 2;
    a.max_steps = max_steps;
    a.save_steps = (double)save_steps;
    a.save_total_limit = 2;
    a.logging_steps = 1;
    a.learning_rate = 1e-2;
    a.overwrite_output_dir = true;
    if (resume) snprintf(a.resume_from_checkpoint, sizeof a.resume_from_checkpoint, "latest");
    lmt_trainer t;
    memset(&t, 0, sizeof t);
    lmt_status s = lmt_trainer_init(&t, &a, &task->base, &tr.base, NULL);
    lmt_train_output out;
    if (s == LMT_OK) {
        t.interrupt_at_step = stop_at;
        s = lmt_trainer_train(&t, &out);
    }
    if (s == LMT_OK && result) {
        /* the last training loss logged (the entry before the summary) */
        double loss = NAN;
        const lmt_json *h = t.state.log_history;
        for (size_t i = 0; i < h->len; i++) {
            const lmt_json *l = lmt_json_get(&h->items[i], "loss");
            if (l) loss = l->num;
        }
        FILE *f = fopen(result, "wb");
        if (!f || fwrite(&loss, sizeof loss, 1, f) != 1 || fwrite(m->params, 4, m->layout.num_floats, f) != m->layout.num_floats)
            s = lmt_fail(LMT_ERR_IO, "%s: cannot write", result);
        if (f) fclose(f);
    }
    lmt_trainer_free(&t);
    lmt_clm_task_free(task);
    lmt_model_free(m);
    return s;
}

static char self[1024];

/* Starts this program as "child DIR MAX_STEPS SAVE_STEPS RESUME STOP_AT RESULT". */
static pid_t spawn(const char *dir, int64_t max_steps, int64_t save_steps, bool resume, int64_t stop_at, const char *result) {
    char ms[32], ss[32], sa[32];
    snprintf(ms, sizeof ms, "%lld", (long long)max_steps);
    snprintf(ss, sizeof ss, "%lld", (long long)save_steps);
    snprintf(sa, sizeof sa, "%lld", (long long)stop_at);
    pid_t pid = fork();
    if (pid == 0) {
        execl(self, self, "child", dir, ms, ss, resume ? "1" : "0", sa, result ? result : "-", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int wait_status(pid_t pid) {
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    return st;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static bool has_checkpoint_tmp(const char *dir) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -q '^\\.checkpoint-'", dir);
    return system(cmd) == 0;
}

/* kill -9 at different moments, then a resume that runs to the end */
static void kill_and_resume(const char *tmp, bool quick) {
    const int64_t steps = quick ? 12 : 30;
    char ref_dir[900], ref_out[900], dir[900], out_file[900];
    snprintf(ref_dir, sizeof ref_dir, "%s/straight", tmp);
    snprintf(ref_out, sizeof ref_out, "%s/straight.bin", tmp);
    snprintf(dir, sizeof dir, "%s/killed", tmp);
    snprintf(out_file, sizeof out_file, "%s/killed.bin", tmp);
    double t0 = now_s();
    int st = wait_status(spawn(ref_dir, steps, 1, false, 0, ref_out));
    double straight = now_s() - t0;
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the uninterrupted run failed (status %d)", st);
    /* each kill lands after a different share of a whole run's time, from
     * the start of a run that resumes (model set-up, checkpoint read) */
    static const double share[] = {0.08, 0.12, 0.05, 0.14, 0.09, 0.04, 0.13, 0.07};
    int kills = 0, finished = 0;
    for (size_t k = 0; k < sizeof share / sizeof share[0]; k++) {
        char *ck = lmt_trainer_last_checkpoint(dir);
        pid_t pid = spawn(dir, steps, 1, ck != NULL, 0, out_file);
        free(ck);
        struct timespec d = {0, (long)(straight * share[k] * 1e9)};
        while (d.tv_nsec >= 1000000000L) { d.tv_sec++; d.tv_nsec -= 1000000000L; }
        nanosleep(&d, NULL);
        kill(pid, SIGKILL);
        st = wait_status(pid);
        if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) kills++;
        else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) { finished = 1; break; }
        else CHECK_MSG(0, "a run before the kill failed (status %d)", st);
    }
    printf("kill -9: %d kills (an uninterrupted run takes %.2f s)%s\n", kills, straight, finished ? ", then a run finished" : "");
    CHECK_MSG(kills >= 3, "only %d runs were killed before they finished", kills);
    /* the resume to the end (unless a run got there before its kill; a
     * resume from the final checkpoint would train on past max_steps) */
    if (!finished) {
        char *ck = lmt_trainer_last_checkpoint(dir);
        st = wait_status(spawn(dir, steps, 1, ck != NULL, 0, out_file));
        free(ck);
        CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the resumed run failed (status %d)", st);
    }
    CHECK_MSG(files_equal(ref_out, out_file), "the resumed run's weights or last loss differ from the uninterrupted run's");
    CHECK(!has_checkpoint_tmp(dir));
}

/* a full disk while the second checkpoint is written */
static void full_disk(const char *tmp) {
    char mnt[900];
    snprintf(mnt, sizeof mnt, "%s/small", tmp);
    CHECK_OK(lmt_mkdirs(mnt));
    if (geteuid() != 0 || mount("tmpfs", mnt, "tmpfs", 0, "size=1m") != 0) {
        printf("skip: full disk: mounting a 1 MB tmpfs needs root (%s)\n", geteuid() != 0 ? "not root" : strerror(errno));
        return;
    }
    char dir[1000], first[1100], filler[1100];
    snprintf(dir, sizeof dir, "%s/out", mnt);
    /* checkpoint-2, then a stop */
    int st = wait_status(spawn(dir, 4, 2, false, 2, NULL));
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the first run failed (status %d)", st);
    snprintf(first, sizeof first, "%s/checkpoint-2", dir);
    char copy[1000];
    snprintf(copy, sizeof copy, "%s/checkpoint-2-copy", tmp);
    char cmd[3000];
    snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", first, copy);
    CHECK(system(cmd) == 0);
    /* fill the disk */
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    static char block[4096];
    while (fd >= 0 && write(fd, block, sizeof block) > 0) {}
    while (fd >= 0 && write(fd, block, 1) > 0) {}
    if (fd >= 0) close(fd);
    /* the resumed run reaches step 4 and cannot save it: in this process, to read the error */
    lmt_status s = train_run(dir, 4, 2, true, 0, NULL);
    const char *msg = lmt_last_error();
    printf("full disk: %s\n", msg);
    CHECK_MSG(s == LMT_ERR_IO, "saving onto a full disk: status %d", s);
    CHECK_MSG(strstr(msg, dir) && strstr(msg, "checkpoint-4") && strstr(msg, "No space left on device"),
              "the error names neither the checkpoint nor the cause: %s", msg);
    /* the previous checkpoint as it was, nothing half-written beside it */
    static const char *const files[] = {"config.json", "model.safetensors", "optimizer.safetensors", "scheduler.json",
                                        "rng_state.json", "training_args.json", "trainer_state.json"};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        char a[1300], b[1300];
        snprintf(a, sizeof a, "%s/%s", first, files[k]);
        snprintf(b, sizeof b, "%s/%s", copy, files[k]);
        CHECK_MSG(files_equal(a, b), "%s changed", a);
    }
    snprintf(cmd, sizeof cmd, "%s/checkpoint-4", dir);
    CHECK(!lmt_file_exists(cmd));
    CHECK(!has_checkpoint_tmp(dir));
    /* room again: the resume from checkpoint-2 goes through */
    unlink(filler);
    CHECK_OK(train_run(dir, 4, 2, true, 0, NULL));
    snprintf(cmd, sizeof cmd, "%s/checkpoint-4/trainer_state.json", dir);
    CHECK(lmt_file_exists(cmd));
    CHECK(umount2(mnt, MNT_DETACH) == 0);
}

int main(int argc, char **argv) {
    if (argc == 8 && !strcmp(argv[1], "child")) {
        lmt_status s = train_run(argv[2], atoll(argv[3]), atoll(argv[4]), argv[5][0] == '1', atoll(argv[6]),
                                 strcmp(argv[7], "-") ? argv[7] : NULL);
        if (s != LMT_OK) fprintf(stderr, "child: %s\n", lmt_last_error());
        return s == LMT_OK ? 0 : 1;
    }
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return 1;
    self[n] = '\0';
    char tmp[] = "/tmp/lmt-ckpt-faults-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    full_disk(tmp);
    kill_and_resume(tmp, getenv("LMT_TEST_QUICK") != NULL);
    lmt_rm_rf(tmp);
    return lmt_test_finish();
}
