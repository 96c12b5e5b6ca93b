/* The key/value cache and the cached attention (see kv_cache.h). */
#include "models/blocks/kv_cache.h"
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "kernels/parallel.h"

lmt_status lmt_kv_cache_create(int L, int T, int R, int C, lmt_kv_cache **out) {
    *out = NULL;
    lmt_kv_cache *c = calloc(1, sizeof *c);
    if (!c) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    *c = (lmt_kv_cache){.L = L, .T = T, .R = R, .C = C};
    size_t n = (size_t)L * T * R * C;
    c->k = lmt_malloc((n ? n : 1) * sizeof(float));
    c->v = lmt_malloc((n ? n : 1) * sizeof(float));
    c->tmp = lmt_malloc(((size_t)R * C + 1) * sizeof(float));
    if (!c->k || !c->v || !c->tmp) {
        lmt_kv_cache_free(c);
        return lmt_fail(LMT_ERR_NOMEM, "out of memory for a key/value cache of %d layers x %d positions x %d rows",
                        L, T, R);
    }
    *out = c;
    return LMT_OK;
}

void lmt_kv_cache_free(lmt_kv_cache *c) {
    if (!c) return;
    free(c->k);
    free(c->v);
    free(c->tmp);
    free(c);
}

static size_t block_at(const lmt_kv_cache *c, int l, int t) { return ((size_t)l * c->T + t) * c->R * c->C; }

float *lmt_kv_cache_k(const lmt_kv_cache *c, int l, int t) { return c->k + block_at(c, l, t); }

float *lmt_kv_cache_v(const lmt_kv_cache *c, int l, int t) { return c->v + block_at(c, l, t); }

void lmt_kv_cache_reorder(lmt_kv_cache *c, const int *src_rows, int len) {
    size_t RC = (size_t)c->R * c->C;
    for (int l = 0; l < c->L; l++)
        for (int t = 0; t < len; t++)
            for (int side = 0; side < 2; side++) {
                float *blk = side ? lmt_kv_cache_v(c, l, t) : lmt_kv_cache_k(c, l, t);   // (R, C)
                memcpy(c->tmp, blk, RC * sizeof(float));
                for (int r = 0; r < c->R; r++)
                    memcpy(blk + (size_t)r * c->C, c->tmp + (size_t)src_rows[r] * c->C, (size_t)c->C * sizeof(float));
            }
}

lmt_kv_keys lmt_kv_cache_keys(const lmt_kv_cache *c, int l, int n) {
    return (lmt_kv_keys){.k = lmt_kv_cache_k(c, l, 0), .v = lmt_kv_cache_v(c, l, 0), .n = n,
                         .ld = (size_t)c->R * c->C, .group_ld = (size_t)c->C, .share = 1, .causal = true};
}

size_t lmt_kv_attention_scratch_floats(int threads, int max_keys) {
    return (size_t)(threads > 0 ? threads : 1) * (size_t)(max_keys > 0 ? max_keys : 1);
}

void lmt_kv_attention_forward(float *out, const float *q, const lmt_kv_keys *kv, const lmt_kv_query *s, float *scratch) {
    const int NH = s->NH, hs = s->hs, R = s->R, p0 = kv->causal ? kv->n - s->n : 0;
    const int group = s->NKV > 0 ? NH / s->NKV : 1;   // query heads per key/value head
    const long jobs = (long)s->n * R * NH;
    /* the keys a step reads (the last query's, at most) decide whether a thread split pays */
#pragma omp parallel for schedule(static, 1) num_threads(s->threads > 0 ? s->threads : 1) if ((long)s->n * R * kv->n * NH * hs >= LMT_PAR_MIN / 8)
    for (long job = 0; job < jobs; job++) {
        const int h = (int)(job % NH), r = (int)(job / NH % R), i = (int)(job / NH / R);
        const size_t row = (size_t)i * R + r, grp = (size_t)(r / kv->share);
        const int end = kv->causal ? p0 + i + 1 : kv->n;   // keys start..end-1 visible
        const int start = kv->causal && kv->window > 0 && end > kv->window ? end - kv->window : 0;
        const float *qh = q + row * s->ldq + h * hs;
        const size_t kh = (size_t)(h / group) * hs;
        const float *K = kv->k + grp * kv->group_ld + kh, *V = kv->v + grp * kv->group_ld + kh;
        const int32_t *km = kv->mask ? kv->mask + grp * kv->n : NULL;
        float *sc = scratch + (size_t)omp_get_thread_num() * kv->n, *o = out + row * s->ldo + h * hs;
        float mx = -INFINITY;
        for (int j = 0; j < start; j++) sc[j] = -INFINITY;
        for (int j = start; j < end; j++) {
            if (km && !km[j]) { sc[j] = -INFINITY; continue; }   // exp gives it weight 0
            const float *k = K + (size_t)j * kv->ld;
            float dot = 0;
#pragma omp simd reduction(+:dot)
            for (int d = 0; d < hs; d++) dot += qh[d] * k[d];
            sc[j] = dot * s->scale;
            if (sc[j] > mx) mx = sc[j];
        }
        for (int d = 0; d < hs; d++) o[d] = 0;
        if (mx == -INFINITY) continue;   // no visible key: zeros
        float z = 0;
        for (int j = 0; j < end; j++) { sc[j] = expf(sc[j] - mx); z += sc[j]; }
        for (int j = 0; j < end; j++) {
            if (sc[j] == 0.0f) continue;
            const float *v = V + (size_t)j * kv->ld, a = sc[j] / z;
#pragma omp simd
            for (int d = 0; d < hs; d++) o[d] += a * v[d];
        }
    }
}
