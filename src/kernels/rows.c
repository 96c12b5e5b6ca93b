#include <string.h>
#include "kernels/crossentropy.h"
#include "kernels/rows.h"

int lmt_rows_gather_labelled(float *out, int32_t *rows, int32_t *targets, const float *x, int N, int C) {
    int M = 0;
    for (int n = 0; n < N; n++)
        if (targets[n] != LMT_IGNORE_INDEX) {
            memcpy(out + (size_t)M * C, x + (size_t)n * C, (size_t)C * sizeof(float));
            rows[M] = n;
            targets[M++] = targets[n];   // in place: M <= n
        }
    return M;
}

void lmt_rows_scatter(float *dst, const float *src, const int32_t *rows, int M, int C) {
    for (int r = 0; r < M; r++) memcpy(dst + (size_t)rows[r] * C, src + (size_t)r * C, (size_t)C * sizeof(float));
}
