#include "kernels/zero.h"
#include <stdint.h>
#include <string.h>
#include "kernels/parallel.h"
#include "kernels/variant.h"

#define ZERO_STREAM_MIN (1L << 20)   /* floats; below this the lines are likely still wanted in cache */

/* Streaming stores of the widest vectors this build's level has (the
 * level's copy of this source is compiled for it: kernels/variant.h). */
#if defined(__AVX512F__) || defined(__AVX__) || defined(__SSE2__)
#include <immintrin.h>
#if defined(__AVX512F__)
enum { VEC = 16 };
static inline void stream_zero(float *p) { _mm512_stream_ps(p, _mm512_setzero_ps()); }
#elif defined(__AVX__)
enum { VEC = 8 };
static inline void stream_zero(float *p) { _mm256_stream_ps(p, _mm256_setzero_ps()); }
#else
enum { VEC = 4 };
static inline void stream_zero(float *p) { _mm_stream_ps(p, _mm_setzero_ps()); }
#endif
static void zero_stream(float *x, long n) {
    long i = 0;
    for (; i < n && ((uintptr_t)(x + i) & 63); i++) x[i] = 0.0f;   /* to a cache line */
    for (; i + VEC <= n; i += VEC) stream_zero(x + i);
    for (; i < n; i++) x[i] = 0.0f;
    _mm_sfence();
}
#else
static void zero_stream(float *x, long n) { memset(x, 0, (size_t)n * sizeof(float)); }
#endif

void LMT_KERNEL_FN(lmt_zero_floats)(float *x, size_t n) {
    if ((long)n < ZERO_STREAM_MIN) {
        memset(x, 0, n * sizeof(float));
        return;
    }
#pragma omp parallel
    {
        long lo, hi;
        lmt_thread_slice((long)n, 16, &lo, &hi);
        if (lo < hi) zero_stream(x + lo, hi - lo);
    }
}
