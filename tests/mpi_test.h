/* What the mpirun tests share (test_mpi_*.c): the reasons to skip, the
 * environment mpirun needs here, a tiny GPT-2 config and a weight
 * comparison. Include after harness.h. */
#ifndef LMT_TESTS_MPI_TEST_H
#define LMT_TESTS_MPI_TEST_H
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/fs.h"
#include "core/util.h"
#include "io/tensor_file.h"
#include "train/dist.h"

/* NULL when mpirun can run this build's programs, else why not. Open MPI's
 * own allocations would drown an AddressSanitizer build in reports. */
static inline const char *mpi_test_skip_reason(void) {
#if defined(__SANITIZE_ADDRESS__)
    return "AddressSanitizer build (Open MPI's allocations)";
#endif
    if (!lmt_dist_backend()) return "built without MPI (LMT_MPI=OFF or no libopenmpi-dev)";
    if (system("command -v mpirun >/dev/null 2>&1") != 0) return "no mpirun on PATH (openmpi-bin)";
    return NULL;
}

/* mpirun as root (CI) and one thread per rank (the machine is small) */
static inline void mpi_test_env(void) {
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    setenv("OMP_NUM_THREADS", "1", 1);
}

/* dir/cfg.json: a tiny GPT-2 over GPT-2's tokenizer, dropout off (so that
 * one process with the whole global batch computes the same steps) */
static inline void mpi_test_write_config(const char *dir) {
    static const char cfg[] =
        "{\"architectures\": [\"GPT2LMHeadModel\"], \"model_type\": \"gpt2\", \"vocab_size\": 50257, \"n_embd\": 16, "
        "\"n_layer\": 1, \"n_head\": 2, \"n_positions\": 32, \"resid_pdrop\": 0.0, \"embd_pdrop\": 0.0, \"attn_pdrop\": 0.0, "
        "\"bos_token_id\": 50256, \"eos_token_id\": 50256}\n";
    char path[600];
    snprintf(path, sizeof path, "%s/cfg.json", dir);
    CHECK_OK(lmt_write_file_atomic(path, cfg, sizeof cfg - 1));
}

/* worst relative difference between the f32 tensors of two safetensors files (INFINITY if they do not match up) */
static inline double mpi_test_weights_diff(const char *pa, const char *pb) {
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
/* sh -c cmd in the background */
static inline pid_t mpi_test_spawn(const char *cmd) {
    pid_t p = fork();
    if (p == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return p;
}

/* waits up to limit seconds; the exit status, or -1 on a timeout (the job is then killed) */
static inline int mpi_test_wait(pid_t p, double limit, double *took) {
    double t0 = lmt_time_s();
    for (;;) {
        int st;
        if (waitpid(p, &st, WNOHANG) == p) {
            *took = lmt_time_s() - t0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        if (lmt_time_s() - t0 > limit) {
            kill(p, SIGKILL);
            waitpid(p, &st, 0);
            *took = limit;
            return -1;
        }
        usleep(20000);
    }
}

static inline bool mpi_test_wait_file(const char *path, double limit) {
    double t0 = lmt_time_s();
    while (lmt_time_s() - t0 < limit) {
        if (lmt_file_exists(path)) return true;
        usleep(5000);
    }
    return false;
}

/* the pid of MPI rank `rank` among the processes of this test's jobs (its environment says) */
static inline pid_t mpi_test_find_rank(const char *marker, int rank) {
    DIR *d = opendir("/proc");
    pid_t found = 0;
    struct dirent *e;
    char want[64];
    snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    while (d && (e = readdir(d)) && !found) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char p[300], buf[65536];
        snprintf(p, sizeof p, "/proc/%s/environ", e->d_name);
        FILE *f = fopen(p, "rb");
        if (!f) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        bool rank_ok = false, ours = false;
        for (size_t at = 0; at < n; at += strlen(buf + at) + 1) {
            buf[n] = '\0';
            if (!strcmp(buf + at, want)) rank_ok = true;
            if (!strcmp(buf + at, marker)) ours = true;
        }
        if (rank_ok && ours) found = (pid_t)atoi(e->d_name);
    }
    if (d) closedir(d);
    return found;
}

#endif
