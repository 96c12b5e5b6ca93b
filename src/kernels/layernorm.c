#include <math.h>
#include "kernels/layernorm.h"
#include "kernels/parallel.h"
#include "kernels/variant.h"

void LMT_KERNEL_FN(lmt_layernorm_forward)(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                                          const float *bias, int N, int C, float eps) {
#pragma omp parallel for schedule(static) if ((long)N * C >= LMT_PAR_MIN)
    for (long n = 0; n < N; n++) {
        const float *x = inp + n * C;      // (C)
        float *o = out + n * C;
        /* two passes: the variance of centred values, no cancellation */
        float s = 0.0f;
#pragma omp simd reduction(+:s)
        for (int c = 0; c < C; c++) s += x[c];
        float m = s / (float)C;
        float v = 0.0f;
#pragma omp simd reduction(+:v)
        for (int c = 0; c < C; c++) v += (x[c] - m) * (x[c] - m);
        float r = 1.0f / sqrtf(v / (float)C + eps);
#pragma omp simd
        for (int c = 0; c < C; c++) o[c] = (x[c] - m) * r * weight[c] + bias[c];
        mean[n] = m;
        rstd[n] = r;
    }
}

void LMT_KERNEL_FN(lmt_layernorm_backward)(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                                           const float *weight, const float *mean, const float *rstd, int N, int C) {
#pragma omp parallel if ((long)N * C >= LMT_PAR_MIN)
    {
        /* dinp: rows are independent */
#pragma omp for schedule(static)
        for (long n = 0; n < N; n++) {
            const float *x = inp + n * C, *d = dout + n * C;
            float m = mean[n], r = rstd[n];
            float sd = 0.0f, sdx = 0.0f;   // mean(dnorm), mean(dnorm * xhat)
#pragma omp simd reduction(+:sd, sdx)
            for (int c = 0; c < C; c++) {
                float dn = d[c] * weight[c];
                sd += dn;
                sdx += dn * (x[c] - m) * r;
            }
            sd /= (float)C;
            sdx /= (float)C;
            float *di = dinp + n * C;
#pragma omp simd
            for (int c = 0; c < C; c++) di[c] += (d[c] * weight[c] - sd - (x[c] - m) * r * sdx) * r;
        }
        /* dweight/dbias: each thread owns a slice of channels and walks all
         * rows, so no reduction between threads is needed (deterministic). */
        if (dweight || dbias) {
            long c0, c1;
            lmt_thread_slice(C, 16, &c0, &c1);
            for (long n = 0; n < N && c0 < c1; n++) {
                const float *x = inp + n * C, *d = dout + n * C;
                float m = mean[n], r = rstd[n];
                if (dweight)
                    for (long c = c0; c < c1; c++) dweight[c] += d[c] * (x[c] - m) * r;
                if (dbias)
                    for (long c = c0; c < c1; c++) dbias[c] += d[c];
            }
        }
    }
}

void LMT_KERNEL_FN(lmt_rmsnorm_forward)(float *out, float *rstd, const float *inp, const float *weight, int N, int C,
                                        float eps) {
#pragma omp parallel for schedule(static) if ((long)N * C >= LMT_PAR_MIN)
    for (long n = 0; n < N; n++) {
        const float *x = inp + n * C;      // (C)
        float *o = out + n * C;
        float v = 0.0f;
#pragma omp simd reduction(+:v)
        for (int c = 0; c < C; c++) v += x[c] * x[c];
        float r = 1.0f / sqrtf(v / (float)C + eps);
#pragma omp simd
        for (int c = 0; c < C; c++) o[c] = weight[c] * (x[c] * r);
        rstd[n] = r;
    }
}

void LMT_KERNEL_FN(lmt_rmsnorm_backward)(float *dinp, float *dweight, const float *dout, const float *inp,
                                         const float *weight, const float *rstd, int N, int C) {
#pragma omp parallel if ((long)N * C >= LMT_PAR_MIN)
    {
        /* dx = r (w d) - x r^3 mean(w d x) */
#pragma omp for schedule(static)
        for (long n = 0; n < N; n++) {
            const float *x = inp + n * C, *d = dout + n * C;
            float r = rstd[n], s = 0.0f;
#pragma omp simd reduction(+:s)
            for (int c = 0; c < C; c++) s += d[c] * weight[c] * x[c];
            float k = s / (float)C * r * r * r;
            float *di = dinp + n * C;
#pragma omp simd
            for (int c = 0; c < C; c++) di[c] += d[c] * weight[c] * r - x[c] * k;
        }
        if (dweight) {   // threads own channel slices (no reduction between threads)
            long c0, c1;
            lmt_thread_slice(C, 16, &c0, &c1);
            for (long n = 0; n < N && c0 < c1; n++) {
                const float *x = inp + n * C, *d = dout + n * C;
                float r = rstd[n];
                for (long c = c0; c < c1; c++) dweight[c] += d[c] * (x[c] * r);
            }
        }
    }
}
