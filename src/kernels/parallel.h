/* Splitting work between the threads of an OpenMP parallel region. */
#ifndef LMT_KERNELS_PARALLEL_H
#define LMT_KERNELS_PARALLEL_H
#include <omp.h>

/* Elements below which a kernel runs on the calling thread alone: waking a
 * second thread costs microseconds on an idle machine and a whole time slice
 * on a busy one, more than a small pass (one decoded token's LayerNorm) takes. */
#define LMT_PAR_MIN 65536L

/* This thread's share [*lo, *hi) of n items, in contiguous blocks of
 * `align` items (so threads never share a cache line of the output). */
static inline void lmt_thread_slice(long n, long align, long *lo, long *hi) {
    int nth = omp_get_num_threads(), tid = omp_get_thread_num();
    long blocks = (n + align - 1) / align;
    long per = (blocks + nth - 1) / nth;
    long a = (long)tid * per * align, b = a + per * align;
    *lo = a < n ? a : n;
    *hi = b < n ? b : n;
}
#endif
