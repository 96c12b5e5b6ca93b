#include <math.h>
#include <string.h>
#include "kernels/crossentropy.h"
#include "kernels/crossentropy_smooth.h"
#include "kernels/parallel.h"

long lmt_crossentropy_smooth_forward(float *losses, float *logits, const int32_t *targets, int N, int V, float eps, bool grad) {
    long count = 0;
#pragma omp parallel for schedule(static) reduction(+:count) if ((long)N * V >= LMT_PAR_MIN)
    for (long n = 0; n < N; n++) {
        int32_t t = targets[n];
        float *x = logits + n * V;
        if (t == LMT_IGNORE_INDEX) {
            losses[n] = 0.0f;
            if (grad) memset(x, 0, (size_t)V * sizeof(float));
            continue;
        }
        double mx = -INFINITY, sum = 0, se = 0;
        for (int v = 0; v < V; v++) mx = x[v] > mx ? x[v] : mx;
        for (int v = 0; v < V; v++) { se += exp((double)x[v] - mx); sum += x[v]; }
        double lse = mx + log(se);
        losses[n] = (float)(lse - (1.0 - eps) * x[t] - eps * (sum / V));
        if (grad) {
            float off = eps / (float)V;
            for (int v = 0; v < V; v++) x[v] = (float)exp((double)x[v] - lse) - off;
            x[t] -= 1.0f - eps;
        }
        count++;
    }
    return count;
}
