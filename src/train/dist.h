/* Data-parallel training across processes: the few collectives the Trainer
 * needs, on MPI (Open MPI's mpirun starts the ranks) or, in a build without
 * MPI or a process not started by mpirun, a single process (rank 0 of 1,
 * every call a no-op).
 *
 * The world is process-wide, as MPI's is: lmt_dist_init once (the CLI does
 * it; a library user running under mpirun does too), lmt_dist_finalize at
 * the end. Nothing here prints; a lost peer is an lmt_status naming it.
 *
 * Failures: every wait is bounded by the timeout (LMT_DIST_TIMEOUT seconds,
 * default 300). lmt_dist_checkin exchanges a few numbers with every peer
 * point to point and names the ranks that did not answer; every collective
 * but the gradient all-reduce (the Trainer checks in at the start of every
 * step, and after the all-reduce) starts with one, then runs under a
 * watchdog thread that ends the process (exit status 3, a line on stderr)
 * when it outlasts the timeout: a rank lost before a collective is named,
 * one lost during it is not. */
#ifndef LMT_TRAIN_DIST_H
#define LMT_TRAIN_DIST_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lmtune/lmtune.h"

/* Joins the world when the process was started by mpirun (MPI_Init);
 * otherwise (or without MPI in the build) a world of one. Idempotent. */
lmt_status lmt_dist_init(void);
/* MPI_Finalize (after a barrier) when lmt_dist_init joined a world. */
void lmt_dist_finalize(void);
/* Takes the whole job down (MPI_Abort) after a failure on this rank; a world
 * of one just returns. */
void lmt_dist_abort(int code);

int lmt_dist_rank(void);
int lmt_dist_world_size(void);
/* "Open MPI v4.1.4, MPI 3.1" (the library linked in), or NULL in a build without MPI. */
const char *lmt_dist_backend(void);

/* Sums n values across the ranks, in place (MPI_Allreduce). */
lmt_status lmt_dist_allreduce_f32(float *buf, size_t n, const char *what);
lmt_status lmt_dist_allreduce_f64(double *buf, size_t n, const char *what);
/* Every rank's n values, rank by rank: all[r * n + i] (MPI_Allgather). */
lmt_status lmt_dist_allgather_f64(const double *mine, size_t n, double *all, const char *what);
/* Every rank's n values (n may differ by rank), rank by rank: *all (malloc'd,
 * the caller frees) holds rank 0's counts[0] values, then rank 1's, ...;
 * counts[world] is filled (MPI_Allgather of the counts, then MPI_Allgatherv). */
lmt_status lmt_dist_allgatherv_i32(const int32_t *mine, size_t n, int32_t **all, size_t *counts, const char *what);
lmt_status lmt_dist_bcast(void *buf, size_t bytes, int root, const char *what);
lmt_status lmt_dist_barrier(const char *what);
/* Every rank sends its n (<= 8) values to every other and sums what it gets
 * into sum[]; a peer that does not answer within the timeout is named in
 * the error. step labels the message. */
lmt_status lmt_dist_checkin(const double *mine, size_t n, double *sum, int64_t step, const char *what);

/* The overlapped gradient all-reduce (DDP's buckets): a communication
 * thread sums spans of buf across the ranks, one blocking MPI_Allreduce each
 * in the order they were pushed, while the calling thread goes on with the
 * backward pass. Every rank pushes the same spans in the same order; between
 * begin and end the calling thread makes no other lmt_dist call (MPI runs
 * MPI_THREAD_SERIALIZED). On when the world has more than one rank, MPI
 * gives that thread level and LMT_DIST_OVERLAP is not 0. */
bool lmt_dist_overlap_on(void);
lmt_status lmt_dist_overlap_begin(float *buf, const char *what);
void lmt_dist_overlap_push(size_t offset, size_t n);
/* Waits until every pushed span is summed; busy_s: the thread's time in the
 * all-reduces since begin. The first failure, naming `what`. */
lmt_status lmt_dist_overlap_end(double *busy_s);

/* Seconds spent in lmt_dist_allreduce_f32 since the last reset (bench). */
double lmt_dist_allreduce_seconds(void);
void lmt_dist_reset_stats(void);
#endif
