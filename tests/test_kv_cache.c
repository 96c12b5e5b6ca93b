/* The cached attention of models/blocks/kv_cache.h against the uncached
 * kernel (kernels/attention.h, itself checked against transformers in
 * test_kernels.c and the parity tests): keys/values appended a prompt
 * block then position by position, each step's queries attending over the
 * cache, equal the full causal attention over the same rows to fp32
 * rounding, on 1 and 2 threads alike; a beam reorder moves whole rows; the
 * cross attention of beams over fixed per-source keys with a padding mask
 * equals the masked full attention (a source with every key masked: zeros). */
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "core/rng.h"
#include "kernels/attention.h"
#include "models/blocks/kv_cache.h"

enum { NH = 4, HS = 16, C = NH * HS, R = 4, T = 40, L = 2 };

static void fill(float *x, size_t n, lmt_rng *rng) {
    for (size_t i = 0; i < n; i++) x[i] = (float)(2.0 * lmt_rng_uniform(rng) - 1.0);
}

static double worst_diff(const float *a, const float *b, size_t n) {
    double w = 0;
    for (size_t i = 0; i < n; i++) w = fmax(w, fabs((double)a[i] - b[i]));
    return w;
}

/* q, k, v (R, T, C) as the full attention takes them (batch = row). The
 * cached run writes layer 1 of a 2-layer cache (layer 0 stays untouched)
 * and reads its queries from a (n, R, 3C) fused buffer, as GPT-2 does;
 * out (R, T, C) collects each step's rows. */
static void cached_run(float *out, const float *q, const float *k, const float *v, int threads) {
    lmt_kv_cache *c = NULL;
    CHECK_OK(lmt_kv_cache_create(L, T, R, C, &c));
    if (!c) return;
    float *qkv = malloc((size_t)T * R * 3 * C * sizeof(float)), *o = malloc((size_t)T * R * C * sizeof(float));
    float *scratch = malloc(lmt_kv_attention_scratch_floats(threads, T) * sizeof(float));
    const int chunks[] = {5, 1, 2, 1};   // a prompt, then single steps (and one pair)
    for (int p0 = 0, ci = 0; p0 < T; ci++) {
        int n = ci < 4 ? chunks[ci] : 1;
        for (int i = 0; i < n; i++)
            for (int r = 0; r < R; r++) {
                size_t src = ((size_t)r * T + p0 + i) * C, row = (size_t)i * R + r;
                memcpy(lmt_kv_cache_k(c, 1, p0 + i) + (size_t)r * C, k + src, C * sizeof(float));
                memcpy(lmt_kv_cache_v(c, 1, p0 + i) + (size_t)r * C, v + src, C * sizeof(float));
                memcpy(qkv + row * 3 * C, q + src, C * sizeof(float));
            }
        lmt_kv_keys keys = lmt_kv_cache_keys(c, 1, p0 + n);
        lmt_kv_query s = {.n = n, .R = R, .NH = NH, .hs = HS, .scale = 0.25f, .ldq = 3 * C, .ldo = C, .threads = threads};
        lmt_kv_attention_forward(o, qkv, &keys, &s, scratch);
        for (int i = 0; i < n; i++)
            for (int r = 0; r < R; r++)
                memcpy(out + ((size_t)r * T + p0 + i) * C, o + ((size_t)i * R + r) * C, C * sizeof(float));
        p0 += n;
    }
    free(qkv);
    free(o);
    free(scratch);
    lmt_kv_cache_free(c);
}

static void check_causal(lmt_rng *rng) {
    size_t n = (size_t)R * T * C;
    float *q = malloc(n * sizeof(float)), *k = malloc(n * sizeof(float)), *v = malloc(n * sizeof(float));
    float *full = malloc(n * sizeof(float)), *one = calloc(n, sizeof(float)), *two = calloc(n, sizeof(float));
    float *lse = malloc((size_t)R * NH * T * sizeof(float));
    fill(q, n, rng);
    fill(k, n, rng);
    fill(v, n, rng);
    lmt_attention_shape s = {.B = R, .NH = NH, .Tq = T, .Tk = T, .hs = HS, .ldq = C, .ldk = C, .ldv = C, .ldo = C,
                             .scale = 0.25f, .causal = true, .threads = 1};
    float *scr = malloc(lmt_attention_scratch_floats(&s) * sizeof(float));
    lmt_attention_forward(full, lse, q, k, v, &s, scr);
    cached_run(one, q, k, v, 1);
    cached_run(two, q, k, v, 2);
    double w = worst_diff(one, full, n);
    CHECK_MSG(w <= 1e-5, "cached vs full causal attention: worst difference %.3g", w);
    CHECK_MSG(!memcmp(one, two, n * sizeof(float)), "cached attention on 1 and 2 threads differs");
    printf("cached vs full causal attention: %.3g\n", w);
    free(q); free(k); free(v); free(full); free(one); free(two); free(lse); free(scr);
}

static void check_reorder(lmt_rng *rng) {
    enum { LEN = 6 };
    lmt_kv_cache *c = NULL;
    CHECK_OK(lmt_kv_cache_create(L, T, R, C, &c));
    if (!c) return;
    size_t all = (size_t)L * T * R * C;
    fill(c->k, all, rng);
    fill(c->v, all, rng);
    float *k0 = malloc(all * sizeof(float)), *v0 = malloc(all * sizeof(float));
    memcpy(k0, c->k, all * sizeof(float));
    memcpy(v0, c->v, all * sizeof(float));
    const int perm[R] = {1, 1, 3, 2};   // a duplicated row and a swap
    lmt_kv_cache_reorder(c, perm, LEN);
    int bad = 0;
    for (int l = 0; l < L; l++)
        for (int t = 0; t < T; t++)
            for (int r = 0; r < R; r++) {
                size_t at = (((size_t)l * T + t) * R + r) * C;
                size_t from = (((size_t)l * T + t) * R + (t < LEN ? perm[r] : r)) * C;   // beyond len: untouched
                bad += memcmp(c->k + at, k0 + from, C * sizeof(float)) != 0;
                bad += memcmp(c->v + at, v0 + from, C * sizeof(float)) != 0;
            }
    CHECK_MSG(bad == 0, "reorder: %d rows not where they belong", bad);
    free(k0);
    free(v0);
    lmt_kv_cache_free(c);
}

/* B sources x TS keys, NB beams each: row r = b*NB + i queries source b. */
static void check_cross(lmt_rng *rng) {
    enum { B = 3, NB = 2, TS = 7 };
    const int32_t mask[B * TS] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    float q[B * NB * C], k[B * TS * C], v[B * TS * C], full[B * NB * C], got[B * NB * C], lse[B * NH * NB];
    fill(q, sizeof q / sizeof *q, rng);
    fill(k, sizeof k / sizeof *k, rng);
    fill(v, sizeof v / sizeof *v, rng);
    for (int masked = 0; masked < 2; masked++) {
        lmt_attention_shape s = {.B = B, .NH = NH, .Tq = NB, .Tk = TS, .hs = HS, .ldq = C, .ldk = C, .ldv = C,
                                 .ldo = C, .scale = 0.25f, .key_mask = masked ? mask : NULL, .threads = 1};
        float *scr = malloc(lmt_attention_scratch_floats(&s) * sizeof(float));
        lmt_attention_forward(full, lse, q, k, v, &s, scr);
        free(scr);
        lmt_kv_keys keys = {.k = k, .v = v, .n = TS, .ld = C, .group_ld = (size_t)TS * C, .share = NB,
                            .mask = masked ? mask : NULL};
        lmt_kv_query qs = {.n = 1, .R = B * NB, .NH = NH, .hs = HS, .scale = 0.25f, .ldq = C, .ldo = C, .threads = 2};
        float scratch[2 * TS];
        memset(got, 0xff, sizeof got);   // NaNs: every output must be written
        lmt_kv_attention_forward(got, q, &keys, &qs, scratch);
        double w = worst_diff(got, full, sizeof got / sizeof *got);
        CHECK_MSG(w <= 1e-5, "cross attention (%s): worst difference %.3g", masked ? "masked" : "no mask", w);
        if (masked) {
            bool zeros = true;   // source 2 has no key: its rows are zeros, as the full kernel's
            for (int i = 2 * NB * C; i < B * NB * C; i++) zeros &= got[i] == 0.0f && full[i] == 0.0f;
            CHECK_MSG(zeros, "a source with every key masked: the rows are not zeros");
        }
    }
}

int main(void) {
    lmt_rng rng;
    lmt_rng_seed(&rng, 12);
    check_causal(&rng);
    check_reorder(&rng);
    check_cross(&rng);
    return lmt_test_finish();
}
