/* The collectives of data-parallel training (see dist.h): Open MPI when the
 * build has it (LMT_HAVE_MPI) and mpirun started the process, else a world
 * of one. */
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "train/dist.h"

static struct {
    bool inited, mpi;   /* mpi: joined an MPI world (size may still be 1) */
    bool overlap;       /* lmt_dist_overlap_on */
    int rank, size;
    double timeout;     /* seconds a collective may wait */
    double ar_seconds;  /* time in the f32 all-reduce (bench) */
} g = {false, false, false, 0, 1, 300, 0};

int lmt_dist_rank(void) { return g.rank; }
int lmt_dist_world_size(void) { return g.size; }
double lmt_dist_allreduce_seconds(void) { return g.ar_seconds; }
void lmt_dist_reset_stats(void) { g.ar_seconds = 0; }

static lmt_status read_timeout(void) {
    const char *t = getenv("LMT_DIST_TIMEOUT");
    if (!t || !*t) return LMT_OK;
    char *end;
    double v = strtod(t, &end);
    if (*end || !(v > 0)) return lmt_fail(LMT_ERR_ARG, "LMT_DIST_TIMEOUT=%s: expected a number of seconds above 0", t);
    g.timeout = v;
    return LMT_OK;
}

/* A world of one's variable-length gather: a copy. */
static lmt_status local_gatherv(const int32_t *mine, size_t n, int32_t **all, size_t *counts) {
    *all = malloc((n ? n : 1) * sizeof **all);
    if (!*all) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    if (n) memcpy(*all, mine, n * sizeof **all);
    counts[0] = n;
    return LMT_OK;
}

#if LMT_HAVE_MPI
#include <mpi.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static MPI_Comm comm = MPI_COMM_NULL;
static char backend[96];

/* ---- the watchdog: a blocking collective that outlasts the timeout ends
 * the process (mpirun then takes the job down). It only reads a start time
 * and a label; it never calls MPI. ---- */
static _Atomic long long wd_start_us;   /* 0: no collective under way */
static _Atomic(const char *) wd_what;
static _Atomic long long wd_step;

static long long now_us(void) { return (long long)(lmt_time_s() * 1e6); }

static void *watchdog(void *arg) {
    (void)arg;
    for (;;) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
        long long s = atomic_load(&wd_start_us);
        if (s && (double)(now_us() - s) * 1e-6 > g.timeout) {
            fprintf(stderr,
                    "lmtune: error: rank %d of %d: %s (step %lld) has waited %.0f s (LMT_DIST_TIMEOUT) for the other ranks: "
                    "one of them was lost while it ran\n",
                    g.rank, g.size, atomic_load(&wd_what), atomic_load(&wd_step), g.timeout);
            fflush(stderr);
            _exit(3);
        }
    }
    return NULL;
}

static int64_t cur_step;
/* Before a collective: every rank checks in point to point, so that a rank
 * lost before it is named; the collective then runs under the watchdog. */
static lmt_status arrive(const char *what) { return lmt_dist_checkin(NULL, 0, NULL, cur_step, what); }
static void guard_on(const char *what) {
    atomic_store(&wd_what, what);
    atomic_store(&wd_step, (long long)cur_step);
    atomic_store(&wd_start_us, now_us());
}
static void guard_off(void) { atomic_store(&wd_start_us, 0); }

static lmt_status mpi_fail(int rc, const char *what) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return lmt_fail(LMT_ERR_IO, "rank %d of %d: %s: %s", g.rank, g.size, what, msg);
}

static bool launched_by_mpirun(void) {
    const char *off = getenv("LMT_DIST");
    if (off && !strcmp(off, "off")) return false;
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

lmt_status lmt_dist_init(void) {
    if (g.inited) return LMT_OK;
    LMT_TRY(read_timeout());
    g.inited = true;
    if (!launched_by_mpirun()) return LMT_OK;
    int provided = 0;
    /* the main thread calls MPI, and the overlapped all-reduce's thread while the main thread does not
     * (serialized); the OpenMP workers and the watchdog never do */
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
        return lmt_fail(LMT_ERR_IO, "MPI_Init failed");
    g.mpi = true;
    const char *ov_env = getenv("LMT_DIST_OVERLAP");
    g.overlap = provided >= MPI_THREAD_SERIALIZED && !(ov_env && !strcmp(ov_env, "0"));
    MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    /* errors come back as codes (turned into messages) instead of aborting inside MPI */
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm, &g.rank);
    MPI_Comm_size(comm, &g.size);
    if (g.size > 1) {
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&th, &at, watchdog, NULL) != 0) return lmt_fail(LMT_ERR_IO, "cannot start the collective watchdog");
        pthread_attr_destroy(&at);
    }
    return LMT_OK;
}

static void overlap_stop(void);
void lmt_dist_finalize(void) {
    if (!g.mpi) return;
    overlap_stop();
    if (g.size > 1) lmt_dist_barrier("the final barrier");
    MPI_Comm_free(&comm);
    MPI_Finalize();
    g.mpi = false;
}

void lmt_dist_abort(int code) {
    if (g.mpi && g.size > 1) MPI_Abort(MPI_COMM_WORLD, code ? code : 1);
}

/* both calls are allowed before MPI_Init */
const char *lmt_dist_backend(void) {
    if (!backend[0]) {
        int major = 0, minor = 0, len = 0;
        char lib[MPI_MAX_LIBRARY_VERSION_STRING];
        MPI_Get_version(&major, &minor);
        if (MPI_Get_library_version(lib, &len) != MPI_SUCCESS) lib[0] = '\0';
        char *cut = strpbrk(lib, ",\n");   /* "Open MPI v4.1.4, package: ..." */
        if (cut) *cut = '\0';
        snprintf(backend, sizeof backend, "%s%sMPI %d.%d", lib, lib[0] ? ", " : "", major, minor);
    }
    return backend;
}

/* MPI counts are ints: large buffers go in chunks */
#define CHUNK ((size_t)1 << 28)

lmt_status lmt_dist_allreduce_f32(float *buf, size_t n, const char *what) {
    if (g.size == 1) return LMT_OK;
    double t0 = lmt_time_s();
    guard_on(what);
    int rc = MPI_SUCCESS;
    for (size_t at = 0; at < n && rc == MPI_SUCCESS; at += CHUNK)
        rc = MPI_Allreduce(MPI_IN_PLACE, buf + at, (int)(n - at < CHUNK ? n - at : CHUNK), MPI_FLOAT, MPI_SUM, comm);
    guard_off();
    g.ar_seconds += lmt_time_s() - t0;
    return rc == MPI_SUCCESS ? LMT_OK : mpi_fail(rc, what);
}

lmt_status lmt_dist_allreduce_f64(double *buf, size_t n, const char *what) {
    if (g.size == 1) return LMT_OK;
    LMT_TRY(arrive(what));
    guard_on(what);
    int rc = MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, comm);
    guard_off();
    return rc == MPI_SUCCESS ? LMT_OK : mpi_fail(rc, what);
}

lmt_status lmt_dist_allgather_f64(const double *mine, size_t n, double *all, const char *what) {
    if (g.size == 1) {
        memcpy(all, mine, n * sizeof *all);
        return LMT_OK;
    }
    LMT_TRY(arrive(what));
    guard_on(what);
    int rc = MPI_Allgather(mine, (int)n, MPI_DOUBLE, all, (int)n, MPI_DOUBLE, comm);
    guard_off();
    return rc == MPI_SUCCESS ? LMT_OK : mpi_fail(rc, what);
}

lmt_status lmt_dist_allgatherv_i32(const int32_t *mine, size_t n, int32_t **all, size_t *counts, const char *what) {
    *all = NULL;
    if (g.size == 1) return local_gatherv(mine, n, all, counts);
    long long mine_n = (long long)n, *ns = malloc((size_t)g.size * sizeof *ns);
    int *cnt = malloc((size_t)g.size * sizeof *cnt), *disp = malloc((size_t)g.size * sizeof *disp);
    lmt_status s = ns && cnt && disp ? arrive(what) : lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", what);
    int rc = MPI_SUCCESS;
    if (s == LMT_OK) {
        guard_on(what);
        rc = MPI_Allgather(&mine_n, 1, MPI_LONG_LONG, ns, 1, MPI_LONG_LONG, comm);
        guard_off();
        if (rc != MPI_SUCCESS) s = mpi_fail(rc, what);
    }
    long long total = 0;
    for (int r = 0; r < g.size && s == LMT_OK; r++) {
        counts[r] = (size_t)ns[r];
        cnt[r] = (int)ns[r];
        disp[r] = (int)total;
        total += ns[r];
        /* MPI counts and displacements are int */
        if (total > 0x7fffffffLL) s = lmt_fail(LMT_ERR_ARG, "%s: %lld values are beyond MPI's int counts", what, total);
    }
    if (s == LMT_OK && !(*all = malloc((size_t)(total ? total : 1) * sizeof **all))) s = lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", what);
    if (s == LMT_OK) {
        guard_on(what);
        rc = MPI_Allgatherv(mine, (int)n, MPI_INT32_T, *all, cnt, disp, MPI_INT32_T, comm);
        guard_off();
        if (rc != MPI_SUCCESS) s = mpi_fail(rc, what);
    }
    if (s != LMT_OK) { free(*all); *all = NULL; }
    free(ns);
    free(cnt);
    free(disp);
    return s;
}

lmt_status lmt_dist_bcast(void *buf, size_t bytes, int root, const char *what) {
    if (g.size == 1) return LMT_OK;
    LMT_TRY(arrive(what));
    guard_on(what);
    int rc = MPI_SUCCESS;
    for (size_t at = 0; at < bytes && rc == MPI_SUCCESS; at += CHUNK)
        rc = MPI_Bcast((char *)buf + at, (int)(bytes - at < CHUNK ? bytes - at : CHUNK), MPI_BYTE, root, comm);
    guard_off();
    return rc == MPI_SUCCESS ? LMT_OK : mpi_fail(rc, what);
}

lmt_status lmt_dist_barrier(const char *what) {
    if (g.size == 1) return LMT_OK;
    return arrive(what);   /* every rank heard from every other */
}

/* Point to point, so that a missing peer is known by name: each rank posts a
 * receive from every peer and sends to every peer, then polls (spinning the
 * first millisecond, then in 200 us sleeps) until all arrived or the
 * timeout passed. The sums run in rank order: every rank gets the same bits. */
lmt_status lmt_dist_checkin(const double *mine, size_t n, double *sum, int64_t step, const char *what) {
    cur_step = step;
    if (g.size == 1) {
        if (n) memcpy(sum, mine, n * sizeof *sum);
        return LMT_OK;
    }
    if (n > 8) return lmt_fail(LMT_ERR_INTERNAL, "lmt_dist_checkin: at most 8 values");
    enum { TAG = 7919 };
    int W = g.size;
    double *in = calloc((size_t)W * 8, sizeof *in);
    MPI_Request *req = malloc((size_t)W * 2 * sizeof *req);
    int *done = calloc((size_t)W, sizeof *done), *idx = malloc((size_t)W * sizeof *idx);
    if (!in || !req || !done || !idx) {
        free(in); free(req); free(done); free(idx);
        return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    }
    int rc = MPI_SUCCESS;
    for (int p = 0; p < W; p++) {
        req[p] = req[W + p] = MPI_REQUEST_NULL;
        if (p == g.rank) continue;
        if (rc == MPI_SUCCESS) rc = MPI_Irecv(in + (size_t)p * 8, (int)n, MPI_DOUBLE, p, TAG, comm, &req[p]);
        if (rc == MPI_SUCCESS) rc = MPI_Isend(mine, (int)n, MPI_DOUBLE, p, TAG, comm, &req[W + p]);
    }
    if (n) memcpy(in + (size_t)g.rank * 8, mine, n * sizeof *in);
    done[g.rank] = 1;
    int left = W - 1;
    double t0 = lmt_time_s();
    while (rc == MPI_SUCCESS && left > 0) {
        int got = 0;
        rc = MPI_Testsome(W, req, &got, idx, MPI_STATUSES_IGNORE);
        if (rc != MPI_SUCCESS || got == MPI_UNDEFINED) break;
        for (int i = 0; i < got; i++) {
            done[idx[i]] = 1;
            left--;
        }
        if (left == 0) break;
        double el = lmt_time_s() - t0;
        if (el > g.timeout) break;
        if (el > 1e-3) {
            struct timespec ts = {0, 200 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    lmt_status s = LMT_OK;
    if (rc != MPI_SUCCESS) s = mpi_fail(rc, what);
    else if (left > 0) {
        char lost[256] = "";
        size_t at = 0;
        for (int p = 0; p < W && at + 16 < sizeof lost; p++)
            if (!done[p]) at += (size_t)snprintf(lost + at, sizeof lost - at, "%s%d", at ? ", " : "", p);
        s = lmt_fail(LMT_ERR_IO, "rank %d of %d: %s (step %lld): no answer from rank %s within %.0f s (LMT_DIST_TIMEOUT): "
                     "lost", g.rank, W, what, (long long)step, lost, g.timeout);
        for (int p = 0; p < W; p++)
            if (req[p] != MPI_REQUEST_NULL) {
                MPI_Cancel(&req[p]);
                MPI_Request_free(&req[p]);
            }
    } else {
        MPI_Waitall(W, req + W, MPI_STATUSES_IGNORE);
        for (size_t i = 0; i < n; i++) {
            double acc = 0;
            for (int p = 0; p < W; p++) acc += in[(size_t)p * 8 + i];
            sum[i] = acc;
        }
    }
    free(in);
    free(req);
    free(done);
    free(idx);
    return s;
}

/* ---- the overlapped gradient all-reduce: one communication thread, a queue of spans ---- */
#ifndef OVERLAP_POLL_NS
#define OVERLAP_POLL_NS 50000
#endif
typedef struct { size_t off, n; } span;
static struct {
    pthread_mutex_t mu;
    pthread_cond_t work, idle;
    pthread_t th;
    bool started, quit, busy;
    float *buf;
    const char *what;
    span *q;
    size_t cap, head, tail;   /* q[head, tail) waits; the thread takes q[head] */
    int rc;                   /* the first MPI failure since begin */
    bool overflow;
    double busy_s;
} ov = {.mu = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER, .idle = PTHREAD_COND_INITIALIZER};

static void *overlap_thread(void *arg) {
    (void)arg;
    pthread_mutex_lock(&ov.mu);
    for (;;) {
        while (ov.head == ov.tail && !ov.quit) pthread_cond_wait(&ov.work, &ov.mu);
        if (ov.quit) break;
        span sp = ov.q[ov.head++];
        ov.busy = true;
        int failed = ov.rc;
        pthread_mutex_unlock(&ov.mu);
        int rc = MPI_SUCCESS;
        double t0 = lmt_time_s();
        if (failed == MPI_SUCCESS) {   /* after a failure the rest is skipped: the step fails */
            guard_on(ov.what);
            for (size_t at = 0; at < sp.n && rc == MPI_SUCCESS; at += CHUNK) {
                /* not a blocking MPI_Allreduce: Open MPI spins inside it, taking a core from the
                 * backward for as long as the peers are not ready; tested in short sleeps instead */
                MPI_Request req;
                rc = MPI_Iallreduce(MPI_IN_PLACE, ov.buf + sp.off + at, (int)(sp.n - at < CHUNK ? sp.n - at : CHUNK), MPI_FLOAT,
                                    MPI_SUM, comm, &req);
                for (int done = 0; rc == MPI_SUCCESS;) {
                    rc = MPI_Test(&req, &done, MPI_STATUS_IGNORE);
                    if (done) break;
                    struct timespec ts = {0, OVERLAP_POLL_NS};
                    nanosleep(&ts, NULL);
                }
            }
            guard_off();
        }
        double dt = lmt_time_s() - t0;
        pthread_mutex_lock(&ov.mu);
        ov.busy_s += dt;
        if (ov.rc == MPI_SUCCESS) ov.rc = rc;
        ov.busy = false;
        if (ov.head == ov.tail) pthread_cond_broadcast(&ov.idle);
    }
    pthread_mutex_unlock(&ov.mu);
    return NULL;
}

bool lmt_dist_overlap_on(void) { return g.size > 1 && g.overlap; }

lmt_status lmt_dist_overlap_begin(float *buf, const char *what) {
    if (!lmt_dist_overlap_on()) return lmt_fail(LMT_ERR_INTERNAL, "lmt_dist_overlap_begin: overlap is off");
    if (!ov.started) {
        if (pthread_create(&ov.th, NULL, overlap_thread, NULL) != 0)
            return lmt_fail(LMT_ERR_IO, "cannot start the all-reduce thread");
        ov.started = true;
    }
    pthread_mutex_lock(&ov.mu);
    ov.buf = buf;
    ov.what = what;
    ov.head = ov.tail = 0;
    ov.rc = MPI_SUCCESS;
    ov.overflow = false;
    ov.busy_s = 0;
    pthread_mutex_unlock(&ov.mu);
    return LMT_OK;
}

void lmt_dist_overlap_push(size_t offset, size_t n) {
    if (!n) return;
    pthread_mutex_lock(&ov.mu);
    if (ov.tail == ov.cap) {   /* the thread only reads q[head] under the lock: growing is safe here */
        size_t cap = ov.cap ? 2 * ov.cap : 64;
        span *q = realloc(ov.q, cap * sizeof *q);
        if (!q) {
            ov.overflow = true;
            pthread_mutex_unlock(&ov.mu);
            return;
        }
        ov.q = q;
        ov.cap = cap;
    }
    ov.q[ov.tail++] = (span){offset, n};
    pthread_cond_signal(&ov.work);
    pthread_mutex_unlock(&ov.mu);
}

lmt_status lmt_dist_overlap_end(double *busy_s) {
    pthread_mutex_lock(&ov.mu);
    while (ov.head < ov.tail || ov.busy) pthread_cond_wait(&ov.idle, &ov.mu);
    int rc = ov.rc;
    bool overflow = ov.overflow;
    if (busy_s) *busy_s = ov.busy_s;
    g.ar_seconds += ov.busy_s;
    pthread_mutex_unlock(&ov.mu);
    /* a span that could not be queued was never summed: this rank's gradients differ */
    if (overflow) return lmt_fail(LMT_ERR_NOMEM, "rank %d of %d: %s: out of memory", g.rank, g.size, ov.what);
    return rc == MPI_SUCCESS ? LMT_OK : mpi_fail(rc, ov.what);
}

static void overlap_stop(void) {
    if (!ov.started) return;
    pthread_mutex_lock(&ov.mu);
    ov.quit = true;
    pthread_cond_signal(&ov.work);
    pthread_mutex_unlock(&ov.mu);
    pthread_join(ov.th, NULL);
    ov.started = false;
    free(ov.q);
    ov.q = NULL;
    ov.cap = 0;
}

#else /* a world of one */

lmt_status lmt_dist_init(void) {
    if (g.inited) return LMT_OK;
    LMT_TRY(read_timeout());
    /* N copies each training alone on all the data, all writing output_dir: refused */
    const char *n = getenv("OMPI_COMM_WORLD_SIZE");
    if (n && atoi(n) > 1)
        return lmt_fail(LMT_ERR_UNSUPPORTED, "mpirun started %s ranks, but this lmtune was built without MPI (libopenmpi-dev "
                        "missing or LMT_MPI=OFF): rebuild with it, or run one process", n);
    g.inited = true;
    return LMT_OK;
}
void lmt_dist_finalize(void) {}
void lmt_dist_abort(int code) { (void)code; }
const char *lmt_dist_backend(void) { return NULL; }
lmt_status lmt_dist_allreduce_f32(float *buf, size_t n, const char *what) { return LMT_OK; }
lmt_status lmt_dist_allreduce_f64(double *buf, size_t n, const char *what) { return LMT_OK; }
lmt_status lmt_dist_allgather_f64(const double *mine, size_t n, double *all, const char *what) {
    memcpy(all, mine, n * sizeof *all);
    return LMT_OK;
}
lmt_status lmt_dist_allgatherv_i32(const int32_t *mine, size_t n, int32_t **all, size_t *counts, const char *what) {
    (void)what;
    return local_gatherv(mine, n, all, counts);
}
lmt_status lmt_dist_bcast(void *buf, size_t bytes, int root, const char *what) { return LMT_OK; }
lmt_status lmt_dist_barrier(const char *what) { return LMT_OK; }
lmt_status lmt_dist_checkin(const double *mine, size_t n, double *sum, int64_t step, const char *what) {
    if (n) memcpy(sum, mine, n * sizeof *sum);
    return LMT_OK;
}
bool lmt_dist_overlap_on(void) { return false; }
lmt_status lmt_dist_overlap_begin(float *buf, const char *what) {
    (void)buf;
    (void)what;
    return lmt_fail(LMT_ERR_INTERNAL, "lmt_dist_overlap_begin: a world of one");
}
void lmt_dist_overlap_push(size_t offset, size_t n) { (void)offset; (void)n; }
lmt_status lmt_dist_overlap_end(double *busy_s) {
    if (busy_s) *busy_s = 0;
    return LMT_OK;
}
#endif
