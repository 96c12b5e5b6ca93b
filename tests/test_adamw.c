/* AdamW and gradient clipping against torch.optim.AdamW and
 * torch.nn.utils.clip_grad_norm_ (tests/fixtures/optim/adamw.safetensors,
 * made by tools/reference/make_adamw_fixtures.py): two tensors, one with
 * weight decay and one without, 4 steps with a changing learning rate, two
 * of them clipped. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "io/tensor_file.h"
#include "models/layout.h"
#include "train/adamw.h"

#define FX LMT_SOURCE_DIR "/tests/fixtures/optim/adamw.safetensors"

static const float *get(const lmt_tensor_file *f, const char *name, size_t n) {
    const lmt_tensor_entry *e = lmt_tensor_file_find(f, name);
    CHECK_MSG(e && e->dtype == LMT_F32 && e->nbytes == n * 4, "%s: %s missing or malformed", FX, name);
    return e && e->dtype == LMT_F32 && e->nbytes == n * 4 ? e->data : NULL;
}

/* A layout of a few large tensors (chunked and split between threads): the
 * norm, the clipped gradients and an AdamW step are the same bit for bit on
 * 1 and 2 threads (at each instruction-set level: the test_adamw@level
 * entries), and the norm matches a double-precision sum. */
static void check_threads(void) {
    enum { NP = 3 };
    static const size_t numel[NP] = {300007, 65536, 1000};
    lmt_param_spec specs[NP] = {0};
    size_t off = 0;
    for (int k = 0; k < NP; k++) {
        snprintf(specs[k].name, sizeof specs[k].name, "t%d", k);
        specs[k].numel = numel[k];
        specs[k].offset = off;
        specs[k].flags = k == 2 ? LMT_PARAM_NO_DECAY : 0;
        off += (numel[k] + 15) / 16 * 16;
    }
    lmt_layout layout = {.params = specs, .n_params = NP, .num_floats = off};
    float *g0 = malloc(off * sizeof(float)), *p0 = malloc(off * sizeof(float));
    double want = 0.0;
    for (size_t i = 0; i < off; i++) {
        g0[i] = (float)sin((double)i * 0.37) * 0.01f;
        p0[i] = (float)cos((double)i * 0.11);
    }
    for (int k = 0; k < NP; k++)
        for (size_t i = 0; i < numel[k]; i++) want += (double)g0[specs[k].offset + i] * g0[specs[k].offset + i];
    want = sqrt(want);
    float *g[2], *p[2];
    double norm[2];
    const int saved = omp_get_max_threads();
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t + 1);
        g[t] = malloc(off * sizeof(float));
        p[t] = malloc(off * sizeof(float));
        memcpy(g[t], g0, off * sizeof(float));
        memcpy(p[t], p0, off * sizeof(float));
        lmt_adamw opt;
        CHECK_OK(lmt_adamw_init(&opt, &layout, 0.9, 0.999, 1e-8, 0.01));
        norm[t] = lmt_clip_grad_norm(g[t], &layout, 1.0);
        if (opt.m) {
            lmt_adamw_step(&opt, p[t], g[t], 1e-3);
            lmt_adamw_step_scaled(&opt, p[t], g[t], 1e-3, 0.5f);
        }
        lmt_adamw_free(&opt);
    }
    omp_set_num_threads(saved);
    CHECK_MSG(norm[0] == norm[1], "grad norm on 1 and 2 threads: %.17g vs %.17g", norm[0], norm[1]);
    CHECK_MSG(fabs(norm[0] - want) <= 1e-12 * want, "grad norm %.17g vs %.17g", norm[0], want);
    CHECK_MSG(!memcmp(g[0], g[1], off * sizeof(float)), "clipped gradients on 1 and 2 threads differ");
    CHECK_MSG(!memcmp(p[0], p[1], off * sizeof(float)), "AdamW on 1 and 2 threads differs");
    for (int t = 0; t < 2; t++) {
        free(g[t]);
        free(p[t]);
    }
    free(g0);
    free(p0);
}

int main(void) {
    lmt_tensor_file *f = NULL;
    CHECK_OK(lmt_safetensors_open(FX, &f));
    if (!f) return lmt_test_finish();
    /* a layout of two tensors: w (7, 5) decayed, b (5) not, b 64-byte aligned */
    lmt_param_spec specs[3] = {0};
    snprintf(specs[0].name, sizeof specs[0].name, "w");
    specs[0].numel = 35; specs[0].offset = 0;
    snprintf(specs[1].name, sizeof specs[1].name, "b");
    specs[1].numel = 5; specs[1].offset = 48; specs[1].flags = LMT_PARAM_NO_DECAY;
    /* a buffer: neither updated nor counted in the norm */
    snprintf(specs[2].name, sizeof specs[2].name, "buf");
    specs[2].numel = 3; specs[2].offset = 64; specs[2].flags = LMT_PARAM_BUFFER;
    lmt_layout layout = {.params = specs, .n_params = 3, .num_floats = 80};
    float params[80] = {0}, grads[80] = {0};
    const float *w0 = get(f, "w0", 35), *b0 = get(f, "b0", 5);
    const lmt_tensor_entry *lr = lmt_tensor_file_find(f, "lr"), *norm = lmt_tensor_file_find(f, "norm");
    CHECK(lr && norm && lr->dtype == LMT_F64 && norm->dtype == LMT_F64 && lr->nbytes == 32 && norm->nbytes == 32);
    /* twice: clip then step, as torch; and the trainer's fused path (the norm
     * alone, the clip coefficient applied inside the AdamW pass) */
    for (int fused = 0; fused < 2; fused++) {
    lmt_adamw opt;
    CHECK_OK(lmt_adamw_init(&opt, &layout, 0.9, 0.98, 1e-6, 0.1));
    if (w0 && b0 && lr && norm && opt.m) {
        memcpy(params, w0, 35 * 4);
        memcpy(params + 48, b0, 5 * 4);
        params[64] = 7.0f;
        for (int k = 0; k < 4; k++) {
            char n1[32], n2[32], n3[32], n4[32];
            snprintf(n1, sizeof n1, "grad_w.%d", k);
            snprintf(n2, sizeof n2, "grad_b.%d", k);
            snprintf(n3, sizeof n3, "w.%d", k);
            snprintf(n4, sizeof n4, "b.%d", k);
            const float *gw = get(f, n1, 35), *gb = get(f, n2, 5), *ww = get(f, n3, 35), *wb = get(f, n4, 5);
            if (!gw || !gb || !ww || !wb) break;
            memcpy(grads, gw, 35 * 4);
            memcpy(grads + 48, gb, 5 * 4);
            grads[64] = 100.0f;   // would dominate the norm if counted
            double got, want = ((const double *)norm->data)[k];
            if (fused) {
                got = lmt_grad_norm(grads, &layout);
                lmt_adamw_step_scaled(&opt, params, grads, ((const double *)lr->data)[k], lmt_clip_coef(got, 1.0));
            } else {
                got = lmt_clip_grad_norm(grads, &layout, 1.0);
                lmt_adamw_step(&opt, params, grads, ((const double *)lr->data)[k]);
            }
            CHECK_MSG(fabs(got - want) <= 1e-6 * want, "step %d: norm %.9g vs torch %.9g", k, got, want);
            double worst = 0;
            for (int i = 0; i < 35; i++) worst = fmax(worst, fabs(params[i] - ww[i]));
            for (int i = 0; i < 5; i++) worst = fmax(worst, fabs(params[48 + i] - wb[i]));
            CHECK_MSG(worst <= 2e-6, "step %d: parameters differ from torch by %.3g", k, worst);
        }
        CHECK(params[64] == 7.0f && grads[64] == 100.0f);
        CHECK(opt.step == 4);
    }
    lmt_adamw_free(&opt);
    }
    lmt_adamw opt2;
    CHECK(lmt_adamw_init(&opt2, &layout, 1.0, 0.999, 1e-8, 0.0) == LMT_ERR_ARG);
    lmt_tensor_file_free(f);
    check_threads();
    return lmt_test_finish();
}
