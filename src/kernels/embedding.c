#include <stddef.h>
#include "kernels/embedding.h"
#include "kernels/parallel.h"
#include "kernels/variant.h"

void LMT_KERNEL_FN(lmt_embedding_forward)(float *out, const int32_t *ids, const int32_t *pos, const float *wte, const float *wpe,
                                          float scale, int B, int T, int C) {
    long N = (long)B * T;
    /* a decode step's few rows stay on the calling thread */
#pragma omp parallel for schedule(static) if (N * C >= LMT_PAR_MIN)
    for (long n = 0; n < N; n++) {
        float *o = out + n * C;                       // (C)
        const float *w = wte + (size_t)ids[n] * C;
        if (wpe) {
            const float *p = wpe + (size_t)(pos ? pos[n] : (int32_t)(n % T)) * C;
            for (int c = 0; c < C; c++) o[c] = scale * w[c] + p[c];
        } else {
            for (int c = 0; c < C; c++) o[c] = scale * w[c];
        }
    }
}

void LMT_KERNEL_FN(lmt_embedding_backward)(float *dwte, float *dwpe, const float *dout, const int32_t *ids, const int32_t *pos,
                                           float scale, int B, int T, int C) {
    long N = (long)B * T;
    /* Threads own slices of channels, not rows: repeated ids then never race
     * and the summation order is fixed (bit-reproducible runs). */
#pragma omp parallel
    {
        long c0, c1;
        lmt_thread_slice(C, 16, &c0, &c1);
        for (long n = 0; n < N && c0 < c1; n++) {
            const float *d = dout + n * C;
            float *w = dwte + (size_t)ids[n] * C;
            for (long c = c0; c < c1; c++) w[c] += scale * d[c];
            if (dwpe) {
                float *p = dwpe + (size_t)(pos ? pos[n] : (int32_t)(n % T)) * C;
                for (long c = c0; c < c1; c++) p[c] += d[c];
            }
        }
    }
}
