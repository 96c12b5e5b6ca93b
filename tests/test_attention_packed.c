/* Causal attention over packed sequences (lmt_attention_shape.seg_start,
 * TRL's padding-free rows): a row holding sequences of 5, 1, 70 and 20
 * tokens gives each sequence's output, log-sum-exp and q / k / v gradients
 * exactly as attending to that sequence alone (blocks of 64 query rows that
 * straddle boundaries included), with and without probability dropout. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "kernels/attention.h"

enum { NH = 2, HS = 8, D = NH * HS, NSEQ = 4 };
static const int lens[NSEQ] = {5, 1, 70, 20};

static float frand(unsigned *s) { *s = *s * 1103515245u + 12345u; return ((*s >> 8) & 0xFFFF) / 32768.0f - 1.0f; }

static void run(const float *q, const float *k, const float *v, const float *dout, int T, const int32_t *seg, float p,
                uint64_t seed, float *out, float *lse, float *dq, float *dk, float *dv) {
    lmt_attention_shape s = {.B = 1, .NH = NH, .Tq = T, .Tk = T, .hs = HS, .ldq = D, .ldk = D, .ldv = D, .ldo = D,
                             .scale = 1.0f / sqrtf(HS), .causal = true, .seg_start = seg, .dropout = p, .seed = seed, .threads = 1};
    float *scratch = malloc(lmt_attention_scratch_floats(&s) * sizeof(float));
    lmt_attention_forward(out, lse, q, k, v, &s, scratch);
    memset(dq, 0, (size_t)T * D * 4);
    memset(dk, 0, (size_t)T * D * 4);
    memset(dv, 0, (size_t)T * D * 4);
    lmt_attention_backward(dq, dk, dv, dout, lse, q, k, v, &s, scratch);
    free(scratch);
}

static double maxdiff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

int main(void) {
    int T = 0;
    for (int i = 0; i < NSEQ; i++) T += lens[i];
    size_t N = (size_t)T * D;
    float *q = malloc(N * 4), *k = malloc(N * 4), *v = malloc(N * 4), *dout = malloc(N * 4);
    float *o = malloc(N * 4), *dq = malloc(N * 4), *dk = malloc(N * 4), *dv = malloc(N * 4), *lse = malloc((size_t)NH * T * 4);
    float *o1 = malloc(N * 4), *dq1 = malloc(N * 4), *dk1 = malloc(N * 4), *dv1 = malloc(N * 4), *lse1 = malloc((size_t)NH * T * 4);
    int32_t *seg = malloc((size_t)T * 4);
    unsigned st = 7;
    for (size_t i = 0; i < N; i++) { q[i] = frand(&st); k[i] = frand(&st); v[i] = frand(&st); dout[i] = frand(&st); }
    for (int i = 0, a = 0; i < NSEQ; a += lens[i++])
        for (int t = 0; t < lens[i]; t++) seg[a + t] = a;
    /* without dropout: each sequence alone */
    run(q, k, v, dout, T, seg, 0.0f, 0, o, lse, dq, dk, dv);
    double worst = 0;
    for (int i = 0, a = 0; i < NSEQ; a += lens[i++]) {
        size_t off = (size_t)a * D, n = (size_t)lens[i] * D;
        run(q + off, k + off, v + off, dout + off, lens[i], NULL, 0.0f, 0, o1, lse1, dq1, dk1, dv1);
        worst = fmax(worst, maxdiff(o + off, o1, n));
        worst = fmax(worst, maxdiff(dq + off, dq1, n));
        worst = fmax(worst, maxdiff(dk + off, dk1, n));
        worst = fmax(worst, maxdiff(dv + off, dv1, n));
        for (int h = 0; h < NH; h++) worst = fmax(worst, maxdiff(lse + (size_t)h * T + a, lse1 + (size_t)h * lens[i], (size_t)lens[i]));
    }
    CHECK_MSG(worst < 1e-5, "packed vs alone: max difference %.3g", worst);
    /* with dropout: no key outside a query's sequence gets weight (its v changes nothing) */
    run(q, k, v, dout, T, seg, 0.3f, 99, o, lse, dq, dk, dv);
    float *v2 = malloc(N * 4);
    memcpy(v2, v, N * 4);
    for (size_t i = 0; i < (size_t)lens[0] * D; i++) v2[i] += 5.0f;   // the first sequence's values
    run(q, k, v2, dout, T, seg, 0.3f, 99, o1, lse1, dq1, dk1, dv1);
    size_t rest = (size_t)lens[0] * D;
    CHECK_MSG(maxdiff(o + rest, o1 + rest, N - rest) == 0, "dropout: a later sequence saw the first one's values");
    CHECK_MSG(maxdiff(dv + rest, dv1 + rest, N - rest) == 0, "dropout: gradients crossed a sequence boundary");
    bool nonzero = false;
    for (size_t i = 0; i < rest; i++) nonzero |= dk[i] != 0.0f;
    CHECK(nonzero);
    free(q); free(k); free(v); free(v2); free(dout); free(o); free(dq); free(dk); free(dv); free(lse);
    free(o1); free(dq1); free(dk1); free(dv1); free(lse1); free(seg);
    return lmt_test_finish();
}
