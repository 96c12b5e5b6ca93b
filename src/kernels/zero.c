#include "kernels/zero.h"
#include <stdint.h>
#include <string.h>
#include "kernels/parallel.h"

#define ZERO_STREAM_MIN (1L << 20)   /* floats; below this the lines are likely still wanted in cache */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("avx512f"))) static void zero_stream(float *x, long n) {
    long i = 0;
    for (; i < n && ((uintptr_t)(x + i) & 63); i++) x[i] = 0.0f;   /* to a cache line */
    const __m512 z = _mm512_setzero_ps();
    for (; i + 16 <= n; i += 16) _mm512_stream_ps(x + i, z);
    for (; i < n; i++) x[i] = 0.0f;
    _mm_sfence();
}
static int has_avx512(void) { return __builtin_cpu_supports("avx512f"); }
#else
static void zero_stream(float *x, long n) { memset(x, 0, (size_t)n * sizeof(float)); }
static int has_avx512(void) { return 1; }
#endif

void lmt_zero_floats(float *x, size_t n) {
    if ((long)n < ZERO_STREAM_MIN || !has_avx512()) {
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
