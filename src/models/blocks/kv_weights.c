#include "models/blocks/kv_weights.h"

const float *lmt_kv_slot(const lmt_model *m, int stack, int layer, int role) {
    long i = lmt_layout_slot(&m->layout, stack, layer, role);
    return i < 0 ? NULL : m->params + m->layout.params[i].offset;
}

/* *w, *b = the tensors of role (a _W role) and role + 1 (its _B). */
static bool bind_pair(const lmt_model *m, int stack, int layer, int role, const float **w, const float **b) {
    *w = lmt_kv_slot(m, stack, layer, role);
    *b = lmt_kv_slot(m, stack, layer, role + 1);
    return *w && *b;
}

static bool bind_attn(const lmt_model *m, int stack, int layer, lmt_wlayout wl, bool fused, lmt_attn_weights *a,
                      const float **ln_w, const float **ln_b) {
    *a = (lmt_attn_weights){.wl = wl};
    bool ok = fused ? bind_pair(m, stack, layer, LMT_ROLE_ATTN_QKV_W, &a->qkv_w, &a->qkv_b)
                    : bind_pair(m, stack, layer, LMT_ROLE_ATTN_Q_W, &a->q_w, &a->q_b) &
                          bind_pair(m, stack, layer, LMT_ROLE_ATTN_K_W, &a->k_w, &a->k_b) &
                          bind_pair(m, stack, layer, LMT_ROLE_ATTN_V_W, &a->v_w, &a->v_b);
    return ok & bind_pair(m, stack, layer, LMT_ROLE_ATTN_O_W, &a->o_w, &a->o_b) &
           bind_pair(m, stack, layer, LMT_ROLE_ATTN_LN_W, ln_w, ln_b);
}

bool lmt_kv_bind_layer(const lmt_model *m, int layer, lmt_wlayout wl, bool fused, bool cross, lmt_kv_layer_weights *y) {
    *y = (lmt_kv_layer_weights){0};
    bool ok = bind_attn(m, LMT_STACK_DECODER, layer, wl, fused, &y->self, &y->ln_self_w, &y->ln_self_b);
    if (cross) ok &= bind_attn(m, LMT_STACK_CROSS, layer, wl, false, &y->cross, &y->ln_cross_w, &y->ln_cross_b);
    else y->cross.wl = wl;
    return ok & bind_pair(m, LMT_STACK_DECODER, layer, LMT_ROLE_FFN_IN_W, &y->fc_w, &y->fc_b) &
           bind_pair(m, LMT_STACK_DECODER, layer, LMT_ROLE_FFN_OUT_W, &y->proj_w, &y->proj_b) &
           bind_pair(m, LMT_STACK_DECODER, layer, LMT_ROLE_FFN_LN_W, &y->ln_mlp_w, &y->ln_mlp_b);
}

bool lmt_kv_bind_llama_layer(const lmt_model *m, int layer, lmt_kv_layer_weights *y) {
    *y = (lmt_kv_layer_weights){.self = {.wl = LMT_W_OUT_IN}, .cross = {.wl = LMT_W_OUT_IN}};
    lmt_attn_weights *a = &y->self;
    /* biases optional: bind_pair's result ignored, only the weights checked */
    bind_pair(m, LMT_STACK_DECODER, layer, LMT_ROLE_ATTN_Q_W, &a->q_w, &a->q_b);
    bind_pair(m, LMT_STACK_DECODER, layer, LMT_ROLE_ATTN_K_W, &a->k_w, &a->k_b);
    bind_pair(m, LMT_STACK_DECODER, layer, LMT_ROLE_ATTN_V_W, &a->v_w, &a->v_b);
    bind_pair(m, LMT_STACK_DECODER, layer, LMT_ROLE_ATTN_O_W, &a->o_w, &a->o_b);
    bind_pair(m, LMT_STACK_DECODER, layer, LMT_ROLE_FFN_GATE_W, &y->gate_w, &y->gate_b);
    bind_pair(m, LMT_STACK_DECODER, layer, LMT_ROLE_FFN_IN_W, &y->fc_w, &y->fc_b);
    bind_pair(m, LMT_STACK_DECODER, layer, LMT_ROLE_FFN_OUT_W, &y->proj_w, &y->proj_b);
    y->ln_self_w = lmt_kv_slot(m, LMT_STACK_DECODER, layer, LMT_ROLE_ATTN_LN_W);
    y->ln_mlp_w = lmt_kv_slot(m, LMT_STACK_DECODER, layer, LMT_ROLE_FFN_LN_W);
    return a->q_w && a->k_w && a->v_w && a->o_w && y->gate_w && y->fc_w && y->proj_w && y->ln_self_w && y->ln_mlp_w;
}
