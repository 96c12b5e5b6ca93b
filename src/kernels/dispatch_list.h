/* The entry points of the per-level element kernels (kernels/variant.h):
 * LMT_KERNEL(return type, name, (parameters), (arguments)), or
 * LMT_KERNEL_VOID(name, (parameters), (arguments)). Each is declared in its
 * kernel's header as usual; this list generates the level prototypes
 * (variant.h) and the dispatching definitions (dispatch.c). Adding a kernel:
 * write its entry as LMT_KERNEL_FN(name), list it here, and add its source
 * to CMakeLists.txt's "ISA variants" block. No include guard: expanded once
 * per use with different definitions of the macros. */
#include <stddef.h>
#include <stdint.h>
#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/crossentropy.h"
#include "kernels/dropout.h"
#include "kernels/embedding.h"
#include "kernels/layernorm.h"
#include "kernels/linear.h"
#include "kernels/lowrank.h"
#include "kernels/optimizer.h"
#include "kernels/residual.h"
#include "kernels/rope.h"
#include "kernels/zero.h"

/* activation.c */
LMT_KERNEL_VOID(lmt_activation_forward, (float *out, const float *inp, size_t n, lmt_activation act),
                (out, inp, n, act))
LMT_KERNEL_VOID(lmt_activation_backward,
                (float *dinp, const float *dout, const float *inp, size_t n, lmt_activation act),
                (dinp, dout, inp, n, act))
LMT_KERNEL_VOID(lmt_bias_activation_forward,
                (float *pre, float *out, const float *bias, int N, int F, lmt_activation act),
                (pre, out, bias, N, F, act))
LMT_KERNEL_VOID(lmt_activation_bias_backward,
                (float *dpre, float *dbias, const float *dout, const float *pre, int N, int F, lmt_activation act,
                 float *scratch),
                (dpre, dbias, dout, pre, N, F, act, scratch))
LMT_KERNEL_VOID(lmt_swiglu_forward, (float *out, const float *gate, const float *up, size_t n), (out, gate, up, n))
LMT_KERNEL_VOID(lmt_swiglu_backward,
                (float *dgate, float *dup, const float *dout, const float *gate, const float *up, size_t n),
                (dgate, dup, dout, gate, up, n))
/* attention.c */
LMT_KERNEL_VOID(lmt_attention_forward,
                (float *out, float *lse, const float *q, const float *k, const float *v,
                 const lmt_attention_shape *s, float *scratch),
                (out, lse, q, k, v, s, scratch))
LMT_KERNEL_VOID(lmt_attention_backward,
                (float *dq, float *dk, float *dv, const float *dout, const float *lse, const float *q,
                 const float *k, const float *v, const lmt_attention_shape *s, float *scratch),
                (dq, dk, dv, dout, lse, q, k, v, s, scratch))
/* crossentropy.c */
LMT_KERNEL(long, lmt_crossentropy_forward,
           (float *losses, float *lse, const float *logits, const int32_t *targets, int N, int V),
           (losses, lse, logits, targets, N, V))
LMT_KERNEL_VOID(lmt_crossentropy_backward,
                (float *dlogits, const float *logits, const float *lse, const int32_t *targets, float dloss, int N,
                 int V),
                (dlogits, logits, lse, targets, dloss, N, V))
LMT_KERNEL(long, lmt_crossentropy_forward_grad, (float *losses, float *logits, const int32_t *targets, int N, int V),
           (losses, logits, targets, N, V))
/* dropout.c */
LMT_KERNEL_VOID(lmt_dropout_forward, (float *out, const float *inp, size_t n, float p, uint64_t seed),
                (out, inp, n, p, seed))
LMT_KERNEL_VOID(lmt_dropout_backward, (float *dinp, const float *dout, size_t n, float p, uint64_t seed),
                (dinp, dout, n, p, seed))
LMT_KERNEL_VOID(lmt_dropout_residual_forward,
                (float *out, const float *inp, const float *resid, size_t n, float p, uint64_t seed),
                (out, inp, resid, n, p, seed))
LMT_KERNEL_VOID(lmt_dropout_row, (float *x, size_t n, float p, uint64_t seed, uint64_t base), (x, n, p, seed, base))
LMT_KERNEL_VOID(lmt_dropout_backward_set, (float *dinp, const float *dout, size_t n, float p, uint64_t seed),
                (dinp, dout, n, p, seed))
/* embedding.c */
LMT_KERNEL_VOID(lmt_embedding_forward,
                (float *out, const int32_t *ids, const int32_t *pos, const float *wte, const float *wpe, float scale,
                 int B, int T, int C),
                (out, ids, pos, wte, wpe, scale, B, T, C))
LMT_KERNEL_VOID(lmt_embedding_backward,
                (float *dwte, float *dwpe, const float *dout, const int32_t *ids, const int32_t *pos, float scale,
                 int B, int T, int C),
                (dwte, dwpe, dout, ids, pos, scale, B, T, C))
/* layernorm.c */
LMT_KERNEL_VOID(lmt_layernorm_forward,
                (float *out, float *mean, float *rstd, const float *inp, const float *weight, const float *bias, int N,
                 int C, float eps),
                (out, mean, rstd, inp, weight, bias, N, C, eps))
LMT_KERNEL_VOID(lmt_layernorm_backward,
                (float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight,
                 const float *mean, const float *rstd, int N, int C),
                (dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C))
LMT_KERNEL_VOID(lmt_rmsnorm_forward,
                (float *out, float *rstd, const float *inp, const float *weight, int N, int C, float eps),
                (out, rstd, inp, weight, N, C, eps))
LMT_KERNEL_VOID(lmt_rmsnorm_backward,
                (float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                 const float *rstd, int N, int C),
                (dinp, dweight, dout, inp, weight, rstd, N, C))
/* lowrank.c */
LMT_KERNEL_VOID(lmt_lowrank_project,
                (float *H, const float *X, const float *M, float alpha, int N, int K, int r, float p, uint64_t seed),
                (H, X, M, alpha, N, K, r, p, seed))
LMT_KERNEL_VOID(lmt_lowrank_expand,
                (float *Y, bool add, const float *init, const float *H, const float *V, int N, int D, int r, float p,
                 uint64_t seed),
                (Y, add, init, H, V, N, D, r, p, seed))
LMT_KERNEL_VOID(lmt_lowrank_outer, (float *G, const float *X, const float *H, int N, int D, int r, float p, uint64_t seed),
                (G, X, H, N, D, r, p, seed))
/* linear.c: the bias passes (the products go through lmt_sgemm's own dispatch) */
LMT_KERNEL_VOID(lmt_linear_forward,
                (float *out, const float *inp, const float *weight, const float *bias, int N, int IC, int OC,
                 lmt_wlayout wl),
                (out, inp, weight, bias, N, IC, OC, wl))
LMT_KERNEL_VOID(lmt_linear_forward_packed,
                (float *out, const float *inp, const float *weight, const struct lmt_gemm_packed *packed,
                 const float *bias, int N, int IC, int OC, lmt_wlayout wl),
                (out, inp, weight, packed, bias, N, IC, OC, wl))
LMT_KERNEL_VOID(lmt_linear_forward_add,
                (float *out, const float *inp, const float *weight, int N, int IC, int OC, lmt_wlayout wl),
                (out, inp, weight, N, IC, OC, wl))
LMT_KERNEL_VOID(lmt_linear_backward,
                (float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight,
                 int N, int IC, int OC, lmt_wlayout wl),
                (dinp, dweight, dbias, dout, inp, weight, N, IC, OC, wl))
LMT_KERNEL_VOID(lmt_linear_backward_set,
                (float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight,
                 int N, int IC, int OC, lmt_wlayout wl),
                (dinp, dweight, dbias, dout, inp, weight, N, IC, OC, wl))
/* optimizer.c */
LMT_KERNEL_VOID(lmt_adamw_update,
                (float *p, float *m, float *v, const float *g, long n, const lmt_adamw_coefs *c),
                (p, m, v, g, n, c))
LMT_KERNEL(double, lmt_sum_squares, (const float *x, long n), (x, n))
LMT_KERNEL_VOID(lmt_scale_floats, (float *x, long n, float s), (x, n, s))
/* residual.c */
LMT_KERNEL_VOID(lmt_residual_forward, (float *out, const float *a, const float *b, size_t n), (out, a, b, n))
LMT_KERNEL_VOID(lmt_residual_backward, (float *da, float *db, const float *dout, size_t n), (da, db, dout, n))
/* rope.c */
LMT_KERNEL_VOID(lmt_rope_forward, (float *x, int B, int T, int NH, int hs, int ld, const float *cos, const float *sin),
                (x, B, T, NH, hs, ld, cos, sin))
LMT_KERNEL_VOID(lmt_rope_backward, (float *d, int B, int T, int NH, int hs, int ld, const float *cos, const float *sin),
                (d, B, T, NH, hs, ld, cos, sin))
/* zero.c */
LMT_KERNEL_VOID(lmt_zero_floats, (float *x, size_t n), (x, n))
