#include <string.h>
#include "kernels/linear.h"
#include "kernels/matmul.h"
#include "kernels/parallel.h"
#include "kernels/variant.h"

void LMT_KERNEL_FN(lmt_linear_forward)(float *out, const float *inp, const float *weight, const float *bias, int N, int IC, int OC,
                                       lmt_wlayout wl) {
    LMT_KERNEL_FN(lmt_linear_forward_packed)(out, inp, weight, NULL, bias, N, IC, OC, wl);
}

void LMT_KERNEL_FN(lmt_linear_forward_packed)(float *out, const float *inp, const float *weight, const struct lmt_gemm_packed *packed,
                                              const float *bias, int N, int IC, int OC, lmt_wlayout wl) {
    /* Start from the bias and let the GEMM accumulate (as torch.addmm). */
    float beta = 0.0f;
    if (bias) {
#pragma omp parallel for schedule(static) if ((long)N * OC >= LMT_PAR_MIN)
        for (long n = 0; n < N; n++) memcpy(out + n * OC, bias, (size_t)OC * sizeof(float));
        beta = 1.0f;
    }
    if (wl == LMT_W_IN_OUT)
        lmt_sgemm_packed(false, false, N, OC, IC, 1.0f, inp, IC, weight, OC, beta, out, OC, packed);
    else
        lmt_sgemm_packed(false, true, N, OC, IC, 1.0f, inp, IC, weight, IC, beta, out, OC, packed);
}

void LMT_KERNEL_FN(lmt_linear_forward_add)(float *out, const float *inp, const float *weight, int N, int IC, int OC,
                                           lmt_wlayout wl) {
    if (wl == LMT_W_IN_OUT)
        lmt_sgemm(false, false, N, OC, IC, 1.0f, inp, IC, weight, OC, 1.0f, out, OC);
    else
        lmt_sgemm(false, true, N, OC, IC, 1.0f, inp, IC, weight, IC, 1.0f, out, OC);
}

static void linear_backward(float *dinp, float dinp_beta, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight, int N, int IC, int OC, lmt_wlayout wl) {
    if (dinp) {
        if (wl == LMT_W_IN_OUT)   // W (IC, OC): dout (N, OC) @ W^T
            lmt_sgemm(false, true, N, IC, OC, 1.0f, dout, OC, weight, OC, dinp_beta, dinp, IC);
        else                      // W (OC, IC): dout (N, OC) @ W
            lmt_sgemm(false, false, N, IC, OC, 1.0f, dout, OC, weight, IC, dinp_beta, dinp, IC);
    }
    if (dweight) {
        if (wl == LMT_W_IN_OUT)   // (IC, OC) += inp^T (IC, N) @ dout (N, OC)
            lmt_sgemm(true, false, IC, OC, N, 1.0f, inp, IC, dout, OC, 1.0f, dweight, OC);
        else                      // (OC, IC) += dout^T (OC, N) @ inp (N, IC)
            lmt_sgemm(true, false, OC, IC, N, 1.0f, dout, OC, inp, IC, 1.0f, dweight, IC);
    }
    if (dbias) {
        /* column sums: threads own column slices (no cross-thread reduction) */
#pragma omp parallel if ((long)N * OC >= LMT_PAR_MIN)
        {
            long o0, o1;
            lmt_thread_slice(OC, 16, &o0, &o1);
            for (long n = 0; n < N && o0 < o1; n++) {
                const float *d = dout + n * OC;
#pragma omp simd
                for (long o = o0; o < o1; o++) dbias[o] += d[o];
            }
        }
    }
}

void LMT_KERNEL_FN(lmt_linear_backward)(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                                        const float *weight, int N, int IC, int OC, lmt_wlayout wl) {
    linear_backward(dinp, 1.0f, dweight, dbias, dout, inp, weight, N, IC, OC, wl);
}

void LMT_KERNEL_FN(lmt_linear_backward_set)(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                                            const float *weight, int N, int IC, int OC, lmt_wlayout wl) {
    linear_backward(dinp, 0.0f, dweight, dbias, dout, inp, weight, N, IC, OC, wl);
}
