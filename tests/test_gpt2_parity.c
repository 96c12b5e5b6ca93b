/* GPT2LMHeadModel parity with transformers on the tiny fixture
 * (tests/fixtures/models/gpt2, made by tools/reference/make_model_fixtures.py
 * and make_model_gpt2_extra_fixtures.py):
 * - logits and loss (eval mode, a right-padded batch) within 1e-5 relative;
 * - the gradient of every parameter (the tied lm_head folded into wte)
 *   within 1e-4 relative;
 * - a left-padded batch at the full context, where some query rows see no
 *   key at all (sdpa gives zeros there);
 * - 5 AdamW steps (clipping at 1.0, weight decay 0.01 except biases and
 *   LayerNorm weights): loss and pre-clip gradient norm at every step;
 * - the model read from pytorch_model.bin gives the same logits;
 * - int32 and int64 inputs agree; dropout acts only in training mode;
 *   training runs are bit-reproducible; bad ids / labels / shapes are refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "parity.h"
#include "core/util.h"
#include "io/tensor_file.h"
#include "models/gpt2.h"
#include "models/model.h"
#include "train/adamw.h"

#define FX LMT_SOURCE_DIR "/tests/fixtures/models/gpt2"


/* Forward + backward on the reference batch; compares logits, loss, grads. */
static void check_against(lmt_model *m, const char *ref_path, const char *what) {
    lmt_tensor_file *ref = NULL;
    CHECK_OK(lmt_safetensors_open(ref_path, &ref));
    parity_batch b;
    if (!ref || !parity_read_batch(ref, &b)) { lmt_tensor_file_free(ref); return; }
    lmt_gpt2 *g = NULL;
    CHECK_OK(lmt_gpt2_create(m, b.B, b.T, true, &g));
    if (!g) { lmt_tensor_file_free(ref); return; }
    CHECK_OK(lmt_gpt2_forward(g, LMT_I64, b.ids, b.mask, b.labels, b.B, b.T, false));
    parity_logits_loss(what, ref, g->logits, (size_t)b.B * b.T * g->V, g->net.loss);
    CHECK_OK(lmt_gpt2_backward(g));
    /* every parameter compared once, and every grad.* in the reference is one of ours */
    parity_all_grads(what, ref, &m->layout, g->net.grads);
    lmt_gpt2_free(g);
    lmt_tensor_file_free(ref);
}

/* The 5-step AdamW trajectory of make_model_fixtures.py:trajectory(). */
static void check_trajectory(void) {
    lmt_tensor_file *ref = NULL;
    CHECK_OK(lmt_safetensors_open(FX "/reference.safetensors", &ref));
    parity_batch b;
    if (!ref || !parity_read_batch(ref, &b)) { lmt_tensor_file_free(ref); return; }
    const lmt_tensor_entry *tl = need(ref, "traj.loss", LMT_F32), *tn = need(ref, "traj.grad_norm", LMT_F32);
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(FX, &m));
    lmt_gpt2 *g = NULL;
    if (m) CHECK_OK(lmt_gpt2_create(m, b.B, b.T, true, &g));
    lmt_adamw opt;
    if (g && tl && tn && tl->shape[0] == 5 && tn->shape[0] == 5 &&
        lmt_adamw_init(&opt, &m->layout, 0.9, 0.999, 1e-8, 0.01) == LMT_OK) {
        const float *want_loss = tl->data, *want_norm = tn->data;
        for (int step = 0; step < 5; step++) {
            lmt_gpt2_zero_grad(g);
            /* training mode as the reference, whose dropout probabilities are 0 */
            g->emb_cfg.p_drop = g->h.self.p_attn = g->h.self.p_out = g->h.ffn.p_out = 0.0f;
            CHECK_OK(lmt_gpt2_forward(g, LMT_I64, b.ids, b.mask, b.labels, b.B, b.T, true));
            CHECK_OK(lmt_gpt2_backward(g));
            double norm = lmt_clip_grad_norm(g->net.grads, &m->layout, 1.0);
            CHECK_MSG(fabs(g->net.loss - want_loss[step]) <= 1e-4 * fabs(want_loss[step]), "step %d: loss %.9g vs %.9g",
                      step + 1, g->net.loss, want_loss[step]);
            CHECK_MSG(fabs(norm - want_norm[step]) <= 1e-4 * fabs(want_norm[step]), "step %d: grad norm %.9g vs %.9g",
                      step + 1, norm, want_norm[step]);
            lmt_adamw_step(&opt, m->params, g->net.grads, 1e-3);
        }
        CHECK(opt.step == 5);
        lmt_adamw_free(&opt);
    }
    lmt_gpt2_free(g);
    lmt_model_free(m);
    lmt_tensor_file_free(ref);
}

/* Same logits from pytorch_model.bin alone (a folder without safetensors). */
static void check_torch_bin(lmt_model *st_model) {
    char tmp[] = "/tmp/lmt_gpt2_binXXXXXX";
    if (!mkdtemp(tmp)) { CHECK_MSG(0, "mkdtemp failed"); return; }
    const char *files[] = {"config.json", "pytorch_model.bin"};
    for (int i = 0; i < 2; i++) {
        char src[512], dst[512], *data = NULL;
        size_t len = 0;
        snprintf(src, sizeof src, FX "/%s", files[i]);
        snprintf(dst, sizeof dst, "%s/%s", tmp, files[i]);
        CHECK_OK(lmt_read_file(src, &data, &len));
        if (data) CHECK_OK(lmt_write_file_atomic(dst, data, len));
        free(data);
    }
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(tmp, &m));
    lmt_tensor_file *ref = NULL;
    CHECK_OK(lmt_safetensors_open(FX "/reference.safetensors", &ref));
    parity_batch b;
    if (m && ref && parity_read_batch(ref, &b)) {
        CHECK(m->report.weights_file && strstr(m->report.weights_file, "pytorch_model.bin"));
        lmt_gpt2 *g1 = NULL, *g2 = NULL;
        CHECK_OK(lmt_gpt2_create(m, b.B, b.T, false, &g1));
        CHECK_OK(lmt_gpt2_create(st_model, b.B, b.T, false, &g2));
        if (g1 && g2) {
            CHECK_OK(lmt_gpt2_forward(g1, LMT_I64, b.ids, b.mask, NULL, b.B, b.T, false));
            CHECK_OK(lmt_gpt2_forward(g2, LMT_I64, b.ids, b.mask, NULL, b.B, b.T, false));
            size_t NV = (size_t)b.B * b.T * g1->V;
            CHECK_MSG(!memcmp(g1->logits, g2->logits, NV * 4), "logits from pytorch_model.bin differ from model.safetensors");
            CHECK(isnan(g1->net.loss));   // no labels, no loss
            const lmt_tensor_entry *logits = need(ref, "logits", LMT_F32);
            if (logits) close_tensor("pytorch_model.bin: logits", g1->logits, logits->data, NV, 1e-5, 1e-3);
        }
        lmt_gpt2_free(g1);
        lmt_gpt2_free(g2);
    }
    lmt_tensor_file_free(ref);
    lmt_model_free(m);
    char p[600];
    snprintf(p, sizeof p, "%s/config.json", tmp); unlink(p);
    snprintf(p, sizeof p, "%s/pytorch_model.bin", tmp); unlink(p);
    rmdir(tmp);
}

/* int32 inputs, dropout in training mode only, bad inputs refused. */
static void check_modes(lmt_model *m) {
    lmt_tensor_file *ref = NULL;
    CHECK_OK(lmt_safetensors_open(FX "/reference.safetensors", &ref));
    parity_batch b;
    if (!ref || !parity_read_batch(ref, &b)) { lmt_tensor_file_free(ref); return; }
    int B = b.B, T = b.T, N = B * T;
    int32_t *ids = malloc(N * 4), *mask = malloc(N * 4), *labels = malloc(N * 4);
    for (int n = 0; n < N; n++) { ids[n] = (int32_t)b.ids[n]; mask[n] = (int32_t)b.mask[n]; labels[n] = (int32_t)b.labels[n]; }
    lmt_gpt2 *g = NULL;
    CHECK_OK(lmt_gpt2_create(m, B, T, true, &g));
    if (g) {
        size_t NV = (size_t)N * g->V;
        float *l64 = malloc(NV * 4);
        CHECK_OK(lmt_gpt2_forward(g, LMT_I64, b.ids, b.mask, b.labels, B, T, false));
        memcpy(l64, g->logits, NV * 4);
        float eval_loss = g->net.loss;
        CHECK_OK(lmt_gpt2_forward(g, LMT_I32, ids, mask, labels, B, T, false));
        CHECK(!memcmp(l64, g->logits, NV * 4) && g->net.loss == eval_loss);
        /* training mode: dropout (0.1 in this config) changes the loss; the
         * gradients stay finite; eval mode afterwards is unchanged */
        lmt_gpt2_set_seed(g, 5);
        CHECK_OK(lmt_gpt2_forward(g, LMT_I32, ids, mask, labels, B, T, true));
        CHECK(isfinite(g->net.loss) && g->net.loss != eval_loss);
        lmt_gpt2_zero_grad(g);
        CHECK_OK(lmt_gpt2_backward(g));
        bool finite = true;
        for (size_t i = 0; i < m->layout.num_floats; i++) finite = finite && isfinite(g->net.grads[i]);
        CHECK(finite);
        CHECK_OK(lmt_gpt2_forward(g, LMT_I32, ids, mask, labels, B, T, false));
        CHECK(!memcmp(l64, g->logits, NV * 4));
        /* a smaller batch in the same buffers */
        CHECK_OK(lmt_gpt2_forward(g, LMT_I32, ids, mask, labels, 1, T - 3, false));
        CHECK(fabsf(g->logits[5] - l64[5]) < 1e-6f);   // causal: earlier positions unchanged
        /* bad inputs */
        ids[3] = g->V;
        CHECK(lmt_gpt2_forward(g, LMT_I32, ids, mask, labels, B, T, false) == LMT_ERR_ARG);
        ids[3] = -1;
        CHECK(lmt_gpt2_forward(g, LMT_I32, ids, mask, labels, B, T, false) == LMT_ERR_ARG);
        ids[3] = 1;
        labels[4] = -5;
        CHECK(lmt_gpt2_forward(g, LMT_I32, ids, mask, labels, B, T, false) == LMT_ERR_ARG);
        CHECK(strstr(lmt_last_error(), "labels") != NULL);
        CHECK(lmt_gpt2_backward(g) == LMT_ERR_ARG);   // the failed forward left nothing to differentiate
        CHECK(lmt_gpt2_forward(g, LMT_I32, ids, mask, NULL, B + 1, T, false) == LMT_ERR_ARG);
        CHECK(lmt_gpt2_forward(g, LMT_F32, ids, mask, NULL, B, T, false) == LMT_ERR_ARG);
        CHECK_OK(lmt_gpt2_forward(g, LMT_I32, ids, mask, NULL, B, T, false));
        CHECK(lmt_gpt2_backward(g) == LMT_ERR_ARG);   // no labels
        free(l64);
    }
    lmt_gpt2 *tmp = NULL;
    CHECK(lmt_gpt2_create(m, 1, g ? g->P + 1 : 33, false, &tmp) == LMT_ERR_ARG);   // beyond n_positions
    lmt_gpt2_free(g);
    free(ids); free(mask); free(labels);
    lmt_tensor_file_free(ref);
}

/* Two identical training runs (dropout on, same seed) end bit-identical. */
static void check_reproducible(void) {
    lmt_tensor_file *ref = NULL;
    CHECK_OK(lmt_safetensors_open(FX "/reference.safetensors", &ref));
    parity_batch b;
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(FX, &m));
    if (!ref || !m || !parity_read_batch(ref, &b)) { lmt_model_free(m); lmt_tensor_file_free(ref); return; }
    size_t n = m->layout.num_floats;
    float *init = malloc(n * 4), *first = malloc(n * 4);
    memcpy(init, m->params, n * 4);
    float losses[2][3];
    for (int run = 0; run < 2; run++) {
        memcpy(m->params, init, n * 4);
        lmt_gpt2 *g = NULL;
        lmt_adamw opt;
        CHECK_OK(lmt_gpt2_create(m, b.B, b.T, true, &g));
        if (!g || lmt_adamw_init(&opt, &m->layout, 0.9, 0.999, 1e-8, 0.01) != LMT_OK) { lmt_gpt2_free(g); break; }
        lmt_gpt2_set_seed(g, 99);
        for (int step = 0; step < 3; step++) {
            lmt_gpt2_zero_grad(g);
            CHECK_OK(lmt_gpt2_forward(g, LMT_I64, b.ids, b.mask, b.labels, b.B, b.T, true));
            CHECK_OK(lmt_gpt2_backward(g));
            lmt_clip_grad_norm(g->net.grads, &m->layout, 1.0);
            lmt_adamw_step(&opt, m->params, g->net.grads, 1e-3);
            losses[run][step] = g->net.loss;
        }
        if (run == 0) memcpy(first, m->params, n * 4);
        else CHECK_MSG(!memcmp(first, m->params, n * 4) && !memcmp(losses[0], losses[1], sizeof losses[0]),
                       "two identical training runs differ");
        lmt_adamw_free(&opt);
        lmt_gpt2_free(g);
    }
    CHECK(memcmp(init, m->params, n * 4) != 0);   // training did move the weights
    free(init); free(first);
    lmt_model_free(m);
    lmt_tensor_file_free(ref);
}

int main(void) {
    lmt_model *m = NULL;
    CHECK_OK(lmt_model_load(FX, &m));
    if (!m) return lmt_test_finish();
    check_against(m, FX "/reference.safetensors", "right padding");
    check_against(m, FX "/reference_leftpad.safetensors", "left padding, full context");
    check_torch_bin(m);
    check_modes(m);
    check_trajectory();
    check_reproducible();
    lmt_model_free(m);
    return lmt_test_finish();
}
