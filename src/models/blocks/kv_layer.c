/* The cached decoder layer (see kv_layer.h). */
#include "models/blocks/kv_layer.h"
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "kernels/activation.h"
#include "kernels/layernorm.h"
#include "kernels/matmul.h"
#include "kernels/residual.h"
#include "kernels/rope.h"

static int head_size(const lmt_kv_dims *d) { return d->hs ? d->hs : d->C / d->NH; }
static int kv_heads(const lmt_kv_dims *d) { return d->NKV ? d->NKV : d->NH; }
/* q's width (NH * hs), at least C: the step buffers' width */
static int q_width(const lmt_kv_dims *d) { return d->NH * head_size(d) > d->C ? d->NH * head_size(d) : d->C; }

lmt_status lmt_kv_linear_init(lmt_kv_linear *l, const float *w, const float *b, lmt_wlayout wl, int IC, int OC,
                              unsigned copies) {
    *l = (lmt_kv_linear){.w = w, .b = b, .wl = wl, .IC = IC, .OC = OC};
    if (!w) return LMT_OK;
    bool t = wl == LMT_W_OUT_IN;   // the product's B is W^T
    int ldw = t ? IC : OC;
    if (copies & LMT_KV_COPY_PACKED) l->packed = lmt_matmul_pack_b(t, OC, IC, w, ldw);
    if ((copies & LMT_KV_COPY_BF16) && !(l->w16 = lmt_bf16_cols_pack(t, w, ldw, OC, IC)))
        return lmt_fail(LMT_ERR_NOMEM, "out of memory for the bf16 weight copies");
    return LMT_OK;
}

void lmt_kv_linear_release(lmt_kv_linear *l) {
    free(l->w16);
    lmt_matmul_packed_free(l->packed);
    l->w16 = NULL;
    l->packed = NULL;
}

void lmt_kv_linear_forward(float *out, const float *x, const lmt_kv_linear *l, int N) {
    if (N == 1 && l->w16) {   // one row: a bandwidth-bound product over the bf16 copy, fp32 sums
        lmt_gemv_bf16(l->OC, l->IC, 1.0f, x, l->w16, 0.0f, out);
        if (l->b)
            for (int o = 0; o < l->OC; o++) out[o] += l->b[o];
        return;
    }
    lmt_linear_forward_packed(out, x, l->w, l->packed, l->b, N, l->IC, l->OC, l->wl);
}

/* The layer's matrices, in one order for making and freeing their copies. */
enum { N_LINEAR = 10 };
static void linears(lmt_kv_layer *ly, lmt_kv_linear *out[N_LINEAR]) {
    lmt_kv_linear *all[N_LINEAR] = {&ly->qkv, &ly->q, &ly->k, &ly->v, &ly->o,
                                    &ly->cross_q, &ly->cross_o, &ly->fc, &ly->proj, &ly->gate};
    memcpy(out, all, sizeof all);
}

static lmt_status layer_init(lmt_kv_layer *ly, const lmt_kv_layer_weights *w, const lmt_kv_dims *d, unsigned copies) {
    const int C = d->C, F = d->F, Dq = d->NH * head_size(d), Dkv = kv_heads(d) * head_size(d);
    const lmt_attn_weights *s = &w->self, *x = &w->cross;
    ly->w = *w;
    lmt_kv_linear *lin[N_LINEAR];
    linears(ly, lin);
    const float *ws[N_LINEAR] = {s->qkv_w, s->q_w, s->k_w, s->v_w, s->o_w, x->q_w, x->o_w, w->fc_w, w->proj_w, w->gate_w};
    const float *bs[N_LINEAR] = {s->qkv_b, s->q_b, s->k_b, s->v_b, s->o_b, x->q_b, x->o_b, w->fc_b, w->proj_b, w->gate_b};
    const lmt_wlayout wls[N_LINEAR] = {s->wl, s->wl, s->wl, s->wl, s->wl, x->wl, x->wl, s->wl, s->wl, s->wl};
    const int ics[N_LINEAR] = {C, C, C, C, Dq, C, C, C, F, C}, ocs[N_LINEAR] = {3 * C, Dq, Dkv, Dkv, C, C, C, F, C, F};
    lmt_status st = LMT_OK;
    for (int i = 0; i < N_LINEAR && st == LMT_OK; i++)
        st = lmt_kv_linear_init(lin[i], ws[i], bs[i], wls[i], ics[i], ocs[i], copies);
    return st;
}

static void layer_release(lmt_kv_layer *ly) {
    lmt_kv_linear *lin[N_LINEAR];
    linears(ly, lin);
    for (int i = 0; i < N_LINEAR; i++) lmt_kv_linear_release(lin[i]);
}

lmt_status lmt_kv_layers_create(const lmt_kv_layer_weights *w, int L, const lmt_kv_dims *d, unsigned copies,
                                lmt_kv_layer **out) {
    *out = NULL;
    lmt_kv_layer *layers = calloc(L > 0 ? (size_t)L : 1, sizeof *layers);
    if (!layers) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_status st = LMT_OK;
    for (int l = 0; l < L && st == LMT_OK; l++) st = layer_init(&layers[l], &w[l], d, copies);
    if (st != LMT_OK) {
        lmt_kv_layers_free(layers, L);
        return st;
    }
    *out = layers;
    return LMT_OK;
}

void lmt_kv_layers_free(lmt_kv_layer *layers, int L) {
    if (!layers) return;
    for (int l = 0; l < L; l++) layer_release(&layers[l]);
    free(layers);
}

lmt_status lmt_kv_work_create(int rows, const lmt_kv_dims *d, int max_keys, int threads, lmt_kv_work **out) {
    *out = NULL;
    size_t N = (size_t)rows, C = (size_t)d->C, W = (size_t)q_width(d), F = (size_t)d->F * (d->gated ? 2 : 1);
    size_t scores = lmt_kv_attention_scratch_floats(threads, max_keys);
    lmt_kv_work *w = calloc(1, sizeof *w);
    float *buf = lmt_malloc((N * (4 * W + 2 * C + F + 2) + scores) * sizeof(float));
    if (!w || !buf) {
        free(w);
        free(buf);
        return lmt_fail(LMT_ERR_NOMEM, "out of memory for the activations of %d decoder rows", rows);
    }
    w->rows = rows;
    w->threads = threads > 0 ? threads : 1;
    w->qkv = buf;
    w->att = w->qkv + N * 3 * W;
    w->tmp = w->att + N * W;
    w->ln = w->tmp + N * C;
    w->h = w->ln + N * C;
    w->mean = w->h + N * F;
    w->rstd = w->mean + N;
    w->scores = w->rstd + N;
    *out = w;
    return LMT_OK;
}

void lmt_kv_work_free(lmt_kv_work *w) {
    if (!w) return;
    free(w->qkv);
    free(w);
}

static lmt_kv_query query_shape(const lmt_kv_dims *d, int n, int R, int ldq, const lmt_kv_work *w) {
    return (lmt_kv_query){.n = n, .R = R, .NH = d->NH, .hs = head_size(d), .NKV = kv_heads(d), .scale = d->scale,
                          .ldq = ldq, .ldo = d->NH * head_size(d), .threads = w->threads};
}

/* w->att (n, R, C) = attention of the rows h (n, R, C) over layer l's cache,
 * their own keys/values appended at p0..p0+n-1 first. */
static void self_attention(const float *h, const lmt_kv_layer *ly, const lmt_kv_dims *d, lmt_kv_cache *c, int l,
                           int p0, int n, lmt_kv_work *w) {
    const int C = d->C, N = n * c->R;
    float *K = lmt_kv_cache_k(c, l, p0), *V = lmt_kv_cache_v(c, l, p0);   // (n, R, cache width): the new positions
    int ldq = C;
    if (ly->qkv.w) {   // fused: one product reads the matrix once, then k and v go to the cache
        lmt_kv_linear_forward(w->qkv, h, &ly->qkv, N);   // (N, 3C)
        for (int r = 0; r < N; r++) {
            memcpy(K + (size_t)r * C, w->qkv + (size_t)r * 3 * C + C, (size_t)C * sizeof(float));
            memcpy(V + (size_t)r * C, w->qkv + (size_t)r * 3 * C + 2 * C, (size_t)C * sizeof(float));
        }
        ldq = 3 * C;
    } else {           // separate: k and v are projected straight into the cache
        lmt_kv_linear_forward(w->qkv, h, &ly->q, N);
        lmt_kv_linear_forward(K, h, &ly->k, N);
        lmt_kv_linear_forward(V, h, &ly->v, N);
        ldq = d->NH * head_size(d);
    }
    if (d->rope_cos) {   // positions p0..p0+n-1 (one row per position)
        int hs = head_size(d), half = hs / 2;
        const float *cs = d->rope_cos + (size_t)p0 * half, *sn = d->rope_sin + (size_t)p0 * half;
        lmt_rope_forward(w->qkv, 1, N, d->NH, hs, ldq, cs, sn);
        lmt_rope_forward(K, 1, N, kv_heads(d), hs, c->C, cs, sn);
    }
    lmt_kv_keys keys = lmt_kv_cache_keys(c, l, p0 + n);
    keys.window = d->window;
    lmt_kv_query s = query_shape(d, n, c->R, ldq, w);
    lmt_kv_attention_forward(w->att, w->qkv, &keys, &s, w->scores);
}

/* post-LN residual: x (N, C) = LN(x + o(w->att)) */
static void add_norm(float *x, const lmt_kv_linear *o, const float *ln_w, const float *ln_b, const lmt_kv_dims *d, int N,
                     lmt_kv_work *w) {
    lmt_kv_linear_forward(w->tmp, w->att, o, N);
    lmt_residual_forward(w->tmp, w->tmp, x, (size_t)N * d->C);
    lmt_layernorm_forward(x, w->mean, w->rstd, w->tmp, ln_w, ln_b, N, d->C, d->eps);
}

/* w->tmp (N, C) = proj(act(fc(h))), or gated: proj(silu(gate(h)) * fc(h)) */
static void mlp(const float *h, const lmt_kv_layer *ly, const lmt_kv_dims *d, int N, lmt_kv_work *w) {
    if (d->gated) {
        float *up = w->h + (size_t)N * d->F;
        lmt_kv_linear_forward(w->h, h, &ly->gate, N);
        lmt_kv_linear_forward(up, h, &ly->fc, N);
        lmt_swiglu_forward(w->h, w->h, up, (size_t)N * d->F);
    } else {
        lmt_kv_linear_forward(w->h, h, &ly->fc, N);
        lmt_activation_forward(w->h, w->h, (size_t)N * d->F, d->act);
    }
    lmt_kv_linear_forward(w->tmp, w->h, &ly->proj, N);
}

/* the pre-LN layer's norm: LayerNorm, or RMSNorm (d->rms) */
static void pre_norm(float *out, const float *x, const float *g, const float *b, const lmt_kv_dims *d, int N,
                     lmt_kv_work *w) {
    if (d->rms) lmt_rmsnorm_forward(out, w->rstd, x, g, N, d->C, d->eps);
    else lmt_layernorm_forward(out, w->mean, w->rstd, x, g, b, N, d->C, d->eps);
}

void lmt_kv_layer_preln_forward(float *x, const lmt_kv_layer *ly, const lmt_kv_dims *d, lmt_kv_cache *c, int l,
                                int p0, int n, lmt_kv_work *w) {
    const int C = d->C, N = n * c->R;
    const lmt_kv_layer_weights *wt = &ly->w;
    pre_norm(w->ln, x, wt->ln_self_w, wt->ln_self_b, d, N, w);                                    // (N, C)
    self_attention(w->ln, ly, d, c, l, p0, n, w);                                                 // att (N, NH * hs)
    lmt_kv_linear_forward(w->tmp, w->att, &ly->o, N);                                             // (N, C)
    lmt_residual_forward(x, x, w->tmp, (size_t)N * C);
    pre_norm(w->ln, x, wt->ln_mlp_w, wt->ln_mlp_b, d, N, w);
    mlp(w->ln, ly, d, N, w);                                                                      // tmp (N, C)
    lmt_residual_forward(x, x, w->tmp, (size_t)N * C);
}

void lmt_kv_layer_postln_forward(float *x, const lmt_kv_layer *ly, const lmt_kv_dims *d, lmt_kv_cache *c, int l,
                                 int p0, int n, const lmt_kv_keys *cross, lmt_kv_work *w) {
    const int N = n * c->R;
    const lmt_kv_layer_weights *wt = &ly->w;
    self_attention(x, ly, d, c, l, p0, n, w);                     // att (N, C)
    add_norm(x, &ly->o, wt->ln_self_w, wt->ln_self_b, d, N, w);
    if (cross) {
        lmt_kv_linear_forward(w->qkv, x, &ly->cross_q, N);        // q (N, C)
        lmt_kv_query s = query_shape(d, n, c->R, d->C, w);
        lmt_kv_attention_forward(w->att, w->qkv, cross, &s, w->scores);   // (N, C)
        add_norm(x, &ly->cross_o, wt->ln_cross_w, wt->ln_cross_b, d, N, w);
    }
    mlp(x, ly, d, N, w);                                          // tmp (N, C)
    lmt_residual_forward(w->tmp, w->tmp, x, (size_t)N * d->C);
    lmt_layernorm_forward(x, w->mean, w->rstd, w->tmp, wt->ln_mlp_w, wt->ln_mlp_b, N, d->C, d->eps);
}

void lmt_kv_layer_cross_project(const lmt_kv_layer *ly, const float *enc, int Ne, int C, float *k, float *v) {
    const lmt_attn_weights *x = &ly->w.cross;
    lmt_linear_forward(k, enc, x->k_w, x->k_b, Ne, C, C, x->wl);
    lmt_linear_forward(v, enc, x->v_w, x->v_b, Ne, C, C, x->wl);
}
