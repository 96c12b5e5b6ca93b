#include "kernels/parallel.h"
#include "kernels/residual.h"
#include "kernels/variant.h"

void LMT_KERNEL_FN(lmt_residual_forward)(float *out, const float *a, const float *b, size_t n) {
#pragma omp parallel for simd schedule(static) if (n >= LMT_PAR_MIN)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void LMT_KERNEL_FN(lmt_residual_backward)(float *da, float *db, const float *dout, size_t n) {
#pragma omp parallel for simd schedule(static) if (n >= LMT_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        if (da) da[i] += dout[i];
        if (db) db[i] += dout[i];
    }
}
