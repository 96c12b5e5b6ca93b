/* LoRA adapters as peft defines them (see lora.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/rng.h"
#include "core/util.h"
#include "io/tensor_file.h"
#include "models/lora.h"
#include "tokenizers/regex.h"

void lmt_lora_config_default(lmt_lora_config *c) {
    memset(c, 0, sizeof *c);
    c->r = 8;
    c->alpha = 8.0;
}

static void free_list(char **v, int n) {
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

void lmt_lora_config_free(lmt_lora_config *c) {
    if (!c) return;
    free_list(c->targets, c->n_targets);
    free_list(c->modules_to_save, c->n_save);
    free(c->target_regex);
    free(c->base_model);
    free(c->task_type);
    memset(c, 0, sizeof *c);
}

static lmt_status push(char ***v, int *n, const char *s, size_t len) {
    char **nv = realloc(*v, (size_t)(*n + 1) * sizeof *nv);
    if (!nv) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    *v = nv;
    if (!(nv[*n] = malloc(len + 1))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    memcpy(nv[*n], s, len);
    nv[(*n)++][len] = 0;
    return LMT_OK;
}

lmt_status lmt_lora_config_set_targets(lmt_lora_config *c, const char *list) {
    free_list(c->targets, c->n_targets);
    c->targets = NULL;
    c->n_targets = 0;
    c->all_linear = false;
    if (strcmp(list, "all-linear") == 0) { c->all_linear = true; return LMT_OK; }
    for (const char *p = list; *p;) {   // names separated by commas and/or spaces
        size_t len = strcspn(p, ", \t");
        if (len) LMT_TRY(push(&c->targets, &c->n_targets, p, len));
        p += len;
        p += strspn(p, ", \t");
    }
    return LMT_OK;
}

/* a number field (null / absent: def); integers are fine */
static lmt_status get_num(const lmt_json *j, const char *key, double def, const char *path, double *out) {
    const lmt_json *v = lmt_json_get(j, key);
    *out = def;
    if (!v || v->type == LMT_JSON_NULL) return LMT_OK;
    if (v->type != LMT_JSON_NUMBER) return lmt_fail(LMT_ERR_FORMAT, "%s: \"%s\" must be a number, not %s", path, key, lmt_json_type_name(v->type));
    *out = v->num;
    return LMT_OK;
}

static lmt_status get_bool(const lmt_json *j, const char *key, const char *path, bool *out) {
    const lmt_json *v = lmt_json_get(j, key);
    *out = false;
    if (!v || v->type == LMT_JSON_NULL) return LMT_OK;
    if (v->type != LMT_JSON_BOOL) return lmt_fail(LMT_ERR_FORMAT, "%s: \"%s\" must be true or false", path, key);
    *out = v->boolean;
    return LMT_OK;
}

/* a list of strings, or null / absent (nothing) */
static lmt_status get_list(const lmt_json *j, const char *key, const char *path, char ***v, int *n) {
    const lmt_json *a = lmt_json_get(j, key);
    if (!a || a->type == LMT_JSON_NULL) return LMT_OK;
    if (a->type != LMT_JSON_ARRAY) return lmt_fail(LMT_ERR_FORMAT, "%s: \"%s\" must be a list of module names", path, key);
    for (size_t i = 0; i < a->len; i++) {
        if (a->items[i].type != LMT_JSON_STRING)
            return lmt_fail(LMT_ERR_FORMAT, "%s: \"%s\"[%zu] must be a string", path, key, i);
        LMT_TRY(push(v, n, a->items[i].str, a->items[i].len));
    }
    return LMT_OK;
}

static lmt_status parse_config(const lmt_json *j, const char *path, lmt_lora_config *c) {
    if (j->type != LMT_JSON_OBJECT) return lmt_fail(LMT_ERR_FORMAT, "%s: not a JSON object", path);
    const char *s = NULL;
    LMT_TRY(lmt_json_get_str(j, "peft_type", "LORA", path, &s));
    if (strcmp(s, "LORA") != 0) return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: peft_type \"%s\": only LORA adapters are supported", path, s);
    double r, d;
    LMT_TRY(get_num(j, "r", 8, path, &r));
    if (r != floor(r) || r <= 0 || r > 65536) return lmt_fail(LMT_ERR_FORMAT, "%s: r = %g: the rank must be a positive integer", path, r);
    c->r = (int)r;
    LMT_TRY(get_num(j, "lora_alpha", 8, path, &c->alpha));
    LMT_TRY(get_num(j, "lora_dropout", 0, path, &d));
    if (d < 0 || d >= 1) return lmt_fail(LMT_ERR_FORMAT, "%s: lora_dropout = %g must be in [0, 1)", path, d);
    c->dropout = d;
    LMT_TRY(get_bool(j, "use_rslora", path, &c->use_rslora));
    LMT_TRY(get_bool(j, "fan_in_fan_out", path, &c->fan_in_fan_out));
    bool dora = false;
    LMT_TRY(get_bool(j, "use_dora", path, &dora));
    if (dora) return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: use_dora: DoRA adapters are not supported", path);
    LMT_TRY(lmt_json_get_str(j, "bias", "none", path, &s));
    if (strcmp(s, "none") == 0) c->bias = LMT_LORA_BIAS_NONE;
    else if (strcmp(s, "all") == 0) c->bias = LMT_LORA_BIAS_ALL;
    else if (strcmp(s, "lora_only") == 0) c->bias = LMT_LORA_BIAS_LORA_ONLY;
    else return lmt_fail(LMT_ERR_FORMAT, "%s: bias \"%s\": expected none, all or lora_only", path, s);
    const lmt_json *t = lmt_json_get(j, "target_modules");
    if (t && t->type == LMT_JSON_STRING) {
        if (strcmp(t->str, "all-linear") == 0) c->all_linear = true;
        else if (!(c->target_regex = lmt_strdup(t->str))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    } else {
        LMT_TRY(get_list(j, "target_modules", path, &c->targets, &c->n_targets));
    }
    LMT_TRY(get_list(j, "modules_to_save", path, &c->modules_to_save, &c->n_save));
    const lmt_json *rp = lmt_json_get(j, "rank_pattern"), *ap = lmt_json_get(j, "alpha_pattern");
    if ((rp && rp->type == LMT_JSON_OBJECT && rp->len) || (ap && ap->type == LMT_JSON_OBJECT && ap->len))
        return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: rank_pattern / alpha_pattern (per-module ranks) are not supported", path);
    LMT_TRY(lmt_json_get_str(j, "base_model_name_or_path", NULL, path, &s));
    if (s && !(c->base_model = lmt_strdup(s))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    LMT_TRY(lmt_json_get_str(j, "task_type", NULL, path, &s));
    if (s && !(c->task_type = lmt_strdup(s))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    return LMT_OK;
}

lmt_status lmt_lora_config_load(const char *path, lmt_lora_config *out) {
    lmt_lora_config_default(out);
    lmt_json *j = NULL;
    LMT_TRY(lmt_json_parse_file(path, &j));
    lmt_status st = parse_config(j, path, out);
    lmt_json_free(j);
    if (st != LMT_OK) lmt_lora_config_free(out);
    return st;
}

/* ---- which modules ---- */

/* the linear layers the blocks can adapt */
static bool adaptable_role(int role) {
    switch (role) {
    case LMT_ROLE_ATTN_QKV_W: case LMT_ROLE_ATTN_Q_W: case LMT_ROLE_ATTN_K_W: case LMT_ROLE_ATTN_V_W:
    case LMT_ROLE_ATTN_O_W: case LMT_ROLE_FFN_IN_W: case LMT_ROLE_FFN_OUT_W: case LMT_ROLE_FFN_GATE_W:
        return true;
    default:
        return false;
    }
}

/* the module of a parameter: its name without ".weight" / ".bias" (len) */
static size_t module_len(const char *name) {
    const char *d = strrchr(name, '.');
    return d ? (size_t)(d - name) : strlen(name);
}

/* peft's check_target_module_exists for a list: key == t or key ends with "." + t */
static bool suffix_match(const char *key, size_t klen, char *const *v, int n) {
    for (int i = 0; i < n; i++) {
        size_t tl = strlen(v[i]);
        if (tl > klen) continue;
        if (memcmp(key + klen - tl, v[i], tl) == 0 && (tl == klen || key[klen - tl - 1] == '.')) return true;
    }
    return false;
}

/* re.fullmatch on the module name, with the project's regex engine (Oniguruma: Python's \\d, lookarounds) */
static bool targeted(const lmt_lora_config *c, const lmt_regex *re, lmt_regex_region **region, const char *name, int role) {
    size_t kl = module_len(name);
    if (c->all_linear) return adaptable_role(role);
    if (re) {
        size_t ms = 0, me = 0;
        return lmt_regex_find(re, region, name, kl, 0, &ms, &me) == 1 && ms == 0 && me == kl;
    }
    return suffix_match(name, kl, c->targets, c->n_targets);
}

static lmt_status alloc_tables(lmt_lora *l, size_t np) {
    l->by_param = calloc(np + 1, sizeof *l->by_param);
    l->trainable = calloc(np + 1, sizeof *l->trainable);
    l->copy = calloc(np + 1, sizeof *l->copy);
    l->gcopy = calloc(np + 1, sizeof *l->gcopy);
    l->ad = calloc(np + 1, sizeof *l->ad);
    l->param = calloc(np + 1, sizeof *l->param);
    if (!l->by_param || !l->trainable || !l->copy || !l->gcopy || !l->ad || !l->param) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    return LMT_OK;
}

static lmt_status build(lmt_lora *l, lmt_model *m, const char *source) {
    lmt_lora_config *c = &l->cfg;
    const lmt_layout *lay = &m->layout;
    if (c->r <= 0) return lmt_fail(LMT_ERR_ARG, "%s: r = %d: the LoRA rank must be positive", source, c->r);
    if (!c->all_linear && !c->target_regex && c->n_targets == 0) {
        /* peft's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING for the model type */
        const char *def = m->cfg.arch == LMT_ARCH_GPT2 ? "c_attn" : strcmp(lmt_arch_name(m->cfg.arch), "distilbert") == 0 ? "q_lin,v_lin"
                        : strcmp(lmt_arch_name(m->cfg.arch), "bert") == 0 || strcmp(lmt_arch_name(m->cfg.arch), "roberta") == 0 ? "query,value"
                        : "q_proj,v_proj";
        LMT_TRY(lmt_lora_config_set_targets(&l->cfg, def));
    }
    lmt_regex *rep = NULL;
    lmt_regex_region *region = NULL;
    if (c->target_regex) {
        char *full = malloc(strlen(c->target_regex) + 16);
        if (!full) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
        sprintf(full, "\\A(?:%s)\\z", c->target_regex);   // re.fullmatch
        lmt_status e = lmt_regex_compile(full, strlen(full), source, &rep);
        free(full);
        if (e != LMT_OK) return lmt_fail_wrap(e, "%s: target_modules \"%s\" is not a regular expression", source, c->target_regex);
    }
    lmt_status st = alloc_tables(l, lay->n_params);   /* (the regex is freed below either way) */
    double scaling = c->use_rslora ? c->alpha / sqrt((double)c->r) : c->alpha / c->r;
    size_t off = 0;
    for (size_t i = 0; i < lay->n_params && st == LMT_OK; i++) {
        const lmt_param_spec *p = &lay->params[i];
        bool is_w = p->ndim == 2 && strcmp(p->name + module_len(p->name), ".weight") == 0;
        if (!is_w || !targeted(c, rep, &region, p->name, p->slot.role)) continue;
        if (!adaptable_role(p->slot.role)) {
            st = lmt_fail(LMT_ERR_UNSUPPORTED, "%s: target module \"%.*s\" is not a linear layer lmtune can adapt "
                          "(attention and feed-forward projections)", source, (int)module_len(p->name), p->name);
            break;
        }
        bool conv1d = m->cfg.arch == LMT_ARCH_GPT2;   // weights (in, out)
        int IC = (int)(conv1d ? p->shape[0] : p->shape[1]), OC = (int)(conv1d ? p->shape[1] : p->shape[0]);
        lmt_adapter *a = &l->ad[l->n];
        *a = (lmt_adapter){.r = c->r, .IC = IC, .OC = OC, .scaling = (float)scaling, .dropout = (float)c->dropout,
                           .seed_src = &l->seed_state};
        a->A = (float *)(uintptr_t)off;   // offsets until the buffer exists
        off += (size_t)c->r * IC;
        a->B = (float *)(uintptr_t)off;
        off += (size_t)OC * c->r;
        l->param[l->n++] = (long)i;
    }
    lmt_regex_free(rep);
    lmt_regex_region_free(region);
    if (st != LMT_OK) return st;
    /* peft's LoraLayer: the weight's own orientation wins, with its warning */
    bool conv1d = m->cfg.arch == LMT_ARCH_GPT2;
    if (l->n && conv1d && !c->fan_in_fan_out)
        lmt_warn("%s: fan_in_fan_out is set to False but the target module is `Conv1D`. Setting fan_in_fan_out to True.", source);
    if (l->n && !conv1d && c->fan_in_fan_out)
        lmt_warn("%s: fan_in_fan_out is set to True but the target module is `torch.nn.Linear`. Setting fan_in_fan_out to False.", source);
    c->fan_in_fan_out = conv1d;
    if (l->n == 0) {
        if (c->all_linear) return lmt_fail(LMT_ERR_ARG, "%s: all-linear: the model has no linear layer to adapt", source);
        lmt_strbuf b;
        lmt_sb_init(&b);
        if (c->target_regex) lmt_sb_puts(&b, c->target_regex);
        for (int i = 0; i < c->n_targets; i++) lmt_sb_printf(&b, "%s%s", i ? ", " : "", c->targets[i]);
        char *t = lmt_sb_take(&b);
        st = lmt_fail(LMT_ERR_ARG, "%s: target modules {%s} not found in the base model (%s): no module name matches",
                      source, t ? t : "", lmt_arch_name(m->cfg.arch));
        free(t);
        return st;
    }
    /* base tensors that train: biases (all / of adapted modules), modules_to_save */
    size_t n_train = 0, extra = 0;
    for (size_t i = 0; i < lay->n_params; i++) {
        const lmt_param_spec *p = &lay->params[i];
        if (p->flags & (LMT_PARAM_STATIC | LMT_PARAM_BUFFER)) continue;
        size_t kl = module_len(p->name);
        bool bias = strcmp(p->name + kl, ".bias") == 0;
        if (bias && c->bias == LMT_LORA_BIAS_ALL) l->trainable[i] = true;
        if (bias && c->bias == LMT_LORA_BIAS_LORA_ONLY) {
            char w[160];
            snprintf(w, sizeof w, "%.*s.weight", (int)kl, p->name);
            long wi = lmt_layout_find(lay, w);
            for (int k = 0; wi >= 0 && k < l->n; k++) l->trainable[i] |= l->param[k] == wi;
        }
        if (c->n_save && suffix_match(p->name, kl, c->modules_to_save, c->n_save)) {
            l->trainable[i] = true;
            l->saved_floats += p->numel;   // modules_to_save: a trained copy beside the original
        }
        if (l->trainable[i]) {
            n_train++;
            extra += (p->numel + 15) / 16 * 16;
        }
    }
    /* one flat buffer: each adapter's A and B, then the trained base tensors' copies */
    l->num_floats = off + extra;
    l->params = lmt_aligned_alloc((l->num_floats ? l->num_floats : 1) * sizeof(float));
    if (!l->params) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    memset(l->params, 0, l->num_floats * sizeof(float));
    l->layout.params = calloc((size_t)l->n * 2 + n_train + 1, sizeof *l->layout.params);
    if (!l->layout.params) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    l->layout.n_params = (size_t)l->n * 2 + n_train;
    l->layout.num_floats = l->num_floats;
    l->layout.base_prefix = "base_model.model.";
    l->model = m;
    for (int k = 0; k < l->n; k++) {
        lmt_adapter *a = &l->ad[k];
        for (int b = 0; b < 2; b++) {
            lmt_param_spec *p = &l->layout.params[2 * k + b];
            lmt_lora_tensor_name(l, k, b, p->name, sizeof p->name);
            /* the adapted weight's stack and layer (the overlapped all-reduce groups by them); no role */
            p->slot = (lmt_slot){lay->params[l->param[k]].slot.stack, lay->params[l->param[k]].slot.layer, -1};
            p->ndim = 2;
            p->shape[0] = b ? a->OC : a->r;
            p->shape[1] = b ? a->r : a->IC;
            p->offset = (uintptr_t)(b ? a->B : a->A);
            p->numel = (size_t)a->r * (b ? a->OC : a->IC);   // weight decay applies, as the Trainer groups lora_A/B
        }
        a->A = l->params + (uintptr_t)a->A;
        a->B = l->params + (uintptr_t)a->B;
        l->by_param[l->param[k]] = a;
    }
    /* the copies: the net computes with them, the Trainer trains them, the file holds them */
    size_t e = (size_t)l->n * 2;
    for (size_t i = 0; i < lay->n_params; i++) {
        if (!l->trainable[i]) continue;
        const lmt_param_spec *bp = &lay->params[i];
        lmt_param_spec *p = &l->layout.params[e++];
        *p = *bp;
        /* peft's name: the bias of an adapted layer lives in its base_layer */
        size_t kl = module_len(bp->name);
        char w[160];
        snprintf(w, sizeof w, "%.*s.weight", (int)kl, bp->name);
        long wi = lmt_layout_find(lay, w);
        bool wrapped = wi >= 0 && l->by_param[wi] && wi != (long)i;
        int len = snprintf(p->name, sizeof p->name, "base_model.model.%.*s%s%s", (int)kl, bp->name,
                           wrapped ? ".base_layer" : "", bp->name + kl);
        if (len < 0 || (size_t)len >= sizeof p->name)
            return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: the name %s is too long", source, bp->name);
        p->offset = off;
        p->slot = (lmt_slot){0, -1, 0};
        l->copy[i] = l->params + off;
        memcpy(l->copy[i], m->params + bp->offset, bp->numel * sizeof(float));
        off += (bp->numel + 15) / 16 * 16;
    }
    return LMT_OK;
}

lmt_status lmt_lora_create(lmt_model *m, const lmt_lora_config *cfg, uint64_t seed, const char *source, lmt_lora **out) {
    *out = NULL;
    lmt_lora *l = calloc(1, sizeof *l);
    if (!l) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    /* a copy of the config */
    l->cfg = *cfg;
    l->cfg.targets = l->cfg.modules_to_save = NULL;
    l->cfg.n_targets = l->cfg.n_save = 0;
    l->cfg.target_regex = cfg->target_regex ? lmt_strdup(cfg->target_regex) : NULL;
    l->cfg.base_model = cfg->base_model ? lmt_strdup(cfg->base_model) : NULL;
    l->cfg.task_type = cfg->task_type ? lmt_strdup(cfg->task_type) : NULL;
    lmt_status st = LMT_OK;
    for (int i = 0; i < cfg->n_targets && st == LMT_OK; i++)
        st = push(&l->cfg.targets, &l->cfg.n_targets, cfg->targets[i], strlen(cfg->targets[i]));
    for (int i = 0; i < cfg->n_save && st == LMT_OK; i++)
        st = push(&l->cfg.modules_to_save, &l->cfg.n_save, cfg->modules_to_save[i], strlen(cfg->modules_to_save[i]));
    if (st == LMT_OK) st = build(l, m, source);
    if (st != LMT_OK) { lmt_lora_free(l); return st; }
    /* torch.manual_seed(seed); get_peft_model(): per adapter, in module order,
     * nn.Linear(in, r) and nn.Linear(r, out) draw their default init (r * in,
     * out * r values, discarded), then reset_lora_parameters draws
     * kaiming_uniform_(A, a=sqrt(5)) = U(-bound, bound), bound = sqrt(3) *
     * gain / sqrt(in), gain = sqrt(2 / (1 + a^2)); B = 0 */
    lmt_mt19937 g;
    lmt_mt_seed(&g, seed);
    for (int k = 0; k < l->n; k++) {
        lmt_adapter *a = &l->ad[k];
        size_t nA = (size_t)a->r * a->IC, nB = (size_t)a->OC * a->r;
        for (size_t i = 0; i < nA + nB; i++) lmt_mt_next(&g);
        double s5 = sqrt(5.0), gain = sqrt(2.0 / (1.0 + s5 * s5)), bound = sqrt(3.0) * (gain / sqrt((double)a->IC));
        for (size_t i = 0; i < nA; i++) a->A[i] = lmt_torch_uniform(&g, (float)-bound, (float)bound);
    }
    l->seed_state = seed ^ 0x4c6f5241ull;
    *out = l;
    return LMT_OK;
}

void lmt_lora_tensor_name(const lmt_lora *l, int i, bool b, char *buf, size_t size) {
    const char *name = l->model->layout.params[l->param[i]].name;
    snprintf(buf, size, "base_model.model.%.*s.lora_%c.weight", (int)module_len(name), name, b ? 'B' : 'A');
}

/* a base tensor's name in the adapter file: base_model.model.<name> (modules_to_save: the saved copy) */
static void base_name(const char *name, char *buf, size_t size) { snprintf(buf, size, "base_model.model.%s", name); }

lmt_status lmt_lora_load(lmt_model *m, const char *dir, lmt_lora **out) {
    *out = NULL;
    char *cpath = lmt_path_join(dir, "adapter_config.json");
    if (!cpath) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_lora_config cfg;
    lmt_status st = lmt_lora_config_load(cpath, &cfg);
    lmt_lora *l = NULL;
    if (st == LMT_OK) {
        st = lmt_lora_create(m, &cfg, 0, cpath, &l);
        lmt_lora_config_free(&cfg);
    }
    free(cpath);
    if (st != LMT_OK) return st;
    st = lmt_lora_read_weights(l, dir);
    if (st != LMT_OK) { lmt_lora_free(l); return st; }
    *out = l;
    return LMT_OK;
}

lmt_status lmt_lora_read_weights(lmt_lora *l, const char *dir) {
    lmt_model *m = l->model;
    char *wpath = lmt_path_join(dir, "adapter_model.safetensors");
    if (wpath && !lmt_file_exists(wpath)) {
        free(wpath);
        wpath = lmt_path_join(dir, "adapter_model.bin");
    }
    if (!wpath) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    if (!lmt_file_exists(wpath)) {
        free(wpath);
        return lmt_fail(LMT_ERR_NOT_FOUND, "%s: no adapter_model.safetensors or adapter_model.bin (the adapter's weights)", dir);
    }
    lmt_tensor_file *f = NULL;
    lmt_status st = lmt_tensor_file_open(wpath, &f);
    char name[256];
    for (int k = 0; k < l->n && st == LMT_OK; k++)
        for (int b = 0; b < 2 && st == LMT_OK; b++) {
            lmt_adapter *a = &l->ad[k];
            lmt_lora_tensor_name(l, k, b, name, sizeof name);
            const lmt_tensor_entry *t = lmt_tensor_file_find(f, name);
            int64_t r0 = b ? a->OC : a->r, r1 = b ? a->r : a->IC;
            if (!t) st = lmt_fail(LMT_ERR_FORMAT, "%s: no tensor \"%s\" (adapter_config.json targets it)", wpath, name);
            else if (t->ndim != 2 || t->shape[0] != r0 || t->shape[1] != r1)
                st = lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\" has shape (%lld, %lld), the base model needs (%lld, %lld) "
                              "(r = %d): the adapter was made for another model", wpath, name, (long long)t->shape[0],
                              t->ndim > 1 ? (long long)t->shape[1] : 0LL, (long long)r0, (long long)r1, a->r);
            else st = lmt_convert_to_f32(t->dtype, t->data, (size_t)(r0 * r1), b ? a->B : a->A);
        }
    /* trained base tensors (bias, modules_to_save): peft's names, or an older peft's without base_layer */
    const lmt_layout *lay = &m->layout;
    for (size_t e = (size_t)l->n * 2; e < l->layout.n_params && st == LMT_OK; e++) {
        const lmt_param_spec *p = &l->layout.params[e];
        const lmt_tensor_entry *t = lmt_tensor_file_find(f, p->name);
        long i = -1;
        for (size_t k = 0; k < lay->n_params && i < 0; k++)
            if (l->copy[k] == l->params + p->offset) i = (long)k;
        if (!t && i >= 0) {
            base_name(lay->params[i].name, name, sizeof name);
            t = lmt_tensor_file_find(f, name);
        }
        if (!t) continue;   // not saved: the base's value (as peft leaves a missing key)
        size_t numel = 1;
        for (int d = 0; d < t->ndim; d++) numel *= (size_t)t->shape[d];
        if (numel != p->numel) st = lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\" has %zu values, the base model's %zu", wpath, t->name, numel, p->numel);
        else st = lmt_convert_to_f32(t->dtype, t->data, numel, l->params + p->offset);
    }
    lmt_tensor_file_free(f);
    free(wpath);
    return st;
}

static lmt_json *str_list(char *const *v, int n) {
    if (!v) return lmt_json_new(LMT_JSON_NULL);
    lmt_json *a = lmt_json_new(LMT_JSON_ARRAY);
    for (int i = 0; a && i < n; i++) lmt_json_array_push(a, lmt_json_new_string(v[i]));
    return a;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* adapter_config.json with the keys peft 0.21 writes (sorted, indent 2) */
static char *config_text(const lmt_lora *l) {
    const lmt_lora_config *c = &l->cfg;
    lmt_json *j = lmt_json_new(LMT_JSON_OBJECT);
    if (!j) return NULL;
    const char *nulls[] = {"alora_invocation_tokens", "arrow_config", "auto_mapping", "corda_config", "eva_config",
                           "exclude_modules", "kasa_config", "layer_replication", "layers_pattern", "layers_to_transform",
                           "lora_ga_config", "megatron_config", "monteclora_config", "revision", "target_parameters",
                           "trainable_token_indices", "use_bdlora", "velora_config"};
    for (size_t i = 0; i < sizeof nulls / sizeof *nulls; i++) lmt_json_object_set(j, nulls[i], lmt_json_new(LMT_JSON_NULL));
    lmt_json_object_set(j, "alpha_pattern", lmt_json_new(LMT_JSON_OBJECT));
    lmt_json_object_set(j, "rank_pattern", lmt_json_new(LMT_JSON_OBJECT));
    lmt_json_object_set(j, "loftq_config", lmt_json_new(LMT_JSON_OBJECT));
    lmt_json_object_set(j, "base_model_name_or_path", c->base_model ? lmt_json_new_string(c->base_model) : lmt_json_new(LMT_JSON_NULL));
    static const char *bias[] = {"none", "all", "lora_only"};
    lmt_json_object_set(j, "bias", lmt_json_new_string(bias[c->bias]));
    lmt_json_object_set(j, "ensure_weight_tying", lmt_json_new_bool(false));
    lmt_json_object_set(j, "fan_in_fan_out", lmt_json_new_bool(c->fan_in_fan_out));
    lmt_json_object_set(j, "inference_mode", lmt_json_new_bool(true));
    lmt_json_object_set(j, "init_lora_weights", lmt_json_new_bool(true));
    lmt_json_object_set(j, "lora_alpha", c->alpha == floor(c->alpha) ? lmt_json_new_int((int64_t)c->alpha) : lmt_json_new_num(c->alpha));
    lmt_json_object_set(j, "lora_bias", lmt_json_new_bool(false));
    lmt_json_object_set(j, "lora_dropout", lmt_json_new_num(c->dropout));
    lmt_json_object_set(j, "megatron_core", lmt_json_new_string("megatron.core"));
    lmt_json_object_set(j, "modules_to_save", str_list(c->modules_to_save, c->n_save));
    lmt_json_object_set(j, "peft_type", lmt_json_new_string("LORA"));
    lmt_json_object_set(j, "peft_version", lmt_json_new_string("0.21.2"));
    lmt_json_object_set(j, "qalora_group_size", lmt_json_new_int(16));
    lmt_json_object_set(j, "r", lmt_json_new_int(c->r));
    if (c->all_linear || c->target_regex) {
        lmt_json_object_set(j, "target_modules", lmt_json_new_string(c->all_linear ? "all-linear" : c->target_regex));
    } else {   /* peft writes the set of names: sorted here */
        char **v = malloc((size_t)(c->n_targets + 1) * sizeof *v);
        if (v) {
            memcpy(v, c->targets, (size_t)c->n_targets * sizeof *v);
            qsort(v, (size_t)c->n_targets, sizeof *v, cmp_str);
            lmt_json_object_set(j, "target_modules", str_list(v, c->n_targets));
            free(v);
        }
    }
    lmt_json_object_set(j, "task_type", c->task_type ? lmt_json_new_string(c->task_type) : lmt_json_new(LMT_JSON_NULL));
    lmt_json_object_set(j, "use_dora", lmt_json_new_bool(false));
    lmt_json_object_set(j, "use_qalora", lmt_json_new_bool(false));
    lmt_json_object_set(j, "use_rslora", lmt_json_new_bool(c->use_rslora));
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_json_write_py(&b, j, 2, true);
    lmt_json_free(j);
    return lmt_sb_take(&b);
}

lmt_status lmt_lora_save(const lmt_lora *l, const char *dir) {
    LMT_TRY(lmt_mkdirs(dir));
    char *text = config_text(l);
    if (!text) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_status st = lmt_write_file_in(dir, "adapter_config.json", text, strlen(text));
    free(text);
    if (st != LMT_OK) return st;
    const lmt_layout *lay = &l->model->layout;
    size_t cap = (size_t)l->n * 2 + lay->n_params;
    lmt_tensor_out *t = calloc(cap + 1, sizeof *t);
    char (*names)[256] = calloc(cap + 1, sizeof *names);
    size_t n = 0;
    if (!t || !names) { free(t); free(names); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
    for (int k = 0; k < l->n; k++)
        for (int b = 0; b < 2; b++) {
            const lmt_adapter *a = &l->ad[k];
            lmt_lora_tensor_name(l, k, b, names[n], sizeof names[n]);
            t[n] = (lmt_tensor_out){.name = names[n], .dtype = LMT_F32, .ndim = 2,
                                    .shape = {b ? a->OC : a->r, b ? a->r : a->IC}, .data = b ? a->B : a->A};
            n++;
        }
    for (size_t i = (size_t)l->n * 2; i < l->layout.n_params; i++) {   // the trained base tensors' copies
        const lmt_param_spec *p = &l->layout.params[i];
        t[n] = (lmt_tensor_out){.name = p->name, .dtype = LMT_F32, .ndim = p->ndim, .data = l->params + p->offset};
        memcpy(t[n].shape, p->shape, sizeof p->shape);
        n++;
    }
    char *path = lmt_path_join(dir, "adapter_model.safetensors");
    static const char *const meta[] = {"format", "pt", NULL};
    st = path ? lmt_safetensors_write(path, t, n, meta) : lmt_fail(LMT_ERR_NOMEM, "out of memory");
    free(path);
    free(t);
    free(names);
    return st;
}

lmt_status lmt_lora_attach(lmt_lora *l, lmt_net *n, size_t max_rows) {
    if (n->model != l->model) return lmt_fail(LMT_ERR_ARG, "lora: the adapters were made for another model");
    size_t maxRT = 0, total = 0;
    for (int k = 0; k < l->n; k++) {
        const lmt_adapter *a = &l->ad[k];
        total += max_rows * (size_t)a->r;
        size_t rt = (size_t)a->r * (size_t)(a->IC > a->OC ? a->IC : a->OC);   // A^T, B^T or dB^T
        if (rt > maxRT) maxRT = rt;
    }
    total += maxRT;
    free(l->scratch);
    l->scratch = malloc((total ? total : 1) * sizeof(float));
    if (!l->scratch) return lmt_fail(LMT_ERR_NOMEM, "out of memory allocating the adapters' activations");
    if (n->grads && !l->grads) {
        l->grads = lmt_aligned_alloc((l->num_floats ? l->num_floats : 1) * sizeof(float));
        if (!l->grads) return lmt_fail(LMT_ERR_NOMEM, "out of memory allocating the adapters' gradients");
        memset(l->grads, 0, l->num_floats * sizeof(float));
    }
    float *s = l->scratch, *bt = l->scratch + (total - maxRT);
    for (int k = 0; k < l->n; k++) {
        lmt_adapter *a = &l->ad[k];
        a->h = s;
        s += max_rows * (size_t)a->r;
        a->bt = bt;
        a->max_N = (int)max_rows;
        a->dA = l->grads ? l->grads + (a->A - l->params) : NULL;
        a->dB = l->grads ? l->grads + (a->B - l->params) : NULL;
    }
    /* the base's gradient buffer goes (the memory LoRA saves): what trains of
     * it trains as copies in the adapters' buffers */
    if (n->grads && n->grad_floats) {
        float *token = lmt_aligned_alloc(64);
        if (!token) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
        lmt_aligned_free(n->grads);
        n->grads = token;
        n->grad_floats = 0;
    }
    for (size_t i = 0; i < l->model->layout.n_params; i++)
        if (l->copy[i] && l->grads) l->gcopy[i] = l->grads + (l->copy[i] - l->params);
    n->adapters = l->by_param;
    n->trainable = l->trainable;
    n->copies = l->copy;
    n->gcopies = l->grads ? l->gcopy : NULL;
    n->extra_grads = l->grads;
    n->n_extra = l->num_floats;
    lmt_net_rebind(n);
    return LMT_OK;
}

void lmt_lora_merge(lmt_lora *l) {
    lmt_model *m = l->model;
    for (size_t i = 0; i < m->layout.n_params; i++)   // trained biases / modules_to_save replace the originals
        if (l->copy[i]) memcpy(m->params + m->layout.params[i].offset, l->copy[i], m->layout.params[i].numel * sizeof(float));
    for (int k = 0; k < l->n; k++) {
        const lmt_adapter *a = &l->ad[k];
        float *W = m->params + m->layout.params[l->param[k]].offset;
        bool conv1d = m->cfg.arch == LMT_ARCH_GPT2;
        for (int o = 0; o < a->OC; o++)
            for (int i = 0; i < a->IC; i++) {
                double d = 0;
                for (int j = 0; j < a->r; j++) d += (double)a->B[(size_t)o * a->r + j] * a->A[(size_t)j * a->IC + i];
                W[conv1d ? (size_t)i * a->OC + o : (size_t)o * a->IC + i] += (float)(a->scaling * d);
            }
    }
}

/* the model tensors a merge writes: adapted weights and replaced copies */
static bool merged_tensor(const lmt_lora *l, size_t i) { return l->by_param[i] || l->copy[i]; }

lmt_status lmt_lora_merge_in(lmt_lora *l, float **saved) {
    const lmt_layout *lay = &l->model->layout;
    size_t total = 0;
    for (size_t i = 0; i < lay->n_params; i++)
        if (merged_tensor(l, i)) total += lay->params[i].numel;
    float *s = *saved = malloc((total ? total : 1) * sizeof(float));
    if (!s) return lmt_fail(LMT_ERR_NOMEM, "out of memory saving the base weights for a merge");
    for (size_t i = 0; i < lay->n_params; i++)
        if (merged_tensor(l, i)) {
            memcpy(s, l->model->params + lay->params[i].offset, lay->params[i].numel * sizeof(float));
            s += lay->params[i].numel;
        }
    lmt_lora_merge(l);
    return LMT_OK;
}

void lmt_lora_unmerge(lmt_lora *l, float *saved) {
    const lmt_layout *lay = &l->model->layout;
    const float *s = saved;
    for (size_t i = 0; s && i < lay->n_params; i++)
        if (merged_tensor(l, i)) {
            memcpy(l->model->params + lay->params[i].offset, s, lay->params[i].numel * sizeof(float));
            s += lay->params[i].numel;
        }
    free(saved);
}

void lmt_lora_counts(const lmt_lora *l, int64_t *trainable, int64_t *all) {
    const lmt_layout *lay = &l->model->layout;
    int64_t base = 0, ab = 0, tr = 0;
    for (size_t i = 0; i < lay->n_params; i++)
        if (!(lay->params[i].flags & LMT_PARAM_BUFFER))   // buffers (final_logits_bias) are no parameters; static tables are
            base += (int64_t)lay->params[i].numel;
    for (size_t i = 0; i < l->layout.n_params; i++) {
        tr += (int64_t)l->layout.params[i].numel;
        if (i < (size_t)l->n * 2) ab += (int64_t)l->layout.params[i].numel;
    }
    *trainable = tr;                                   // A, B, trained biases, modules_to_save copies
    *all = base + ab + (int64_t)l->saved_floats;       // the copies are parameters beside their originals
}

void lmt_lora_free(lmt_lora *l) {
    if (!l) return;
    lmt_lora_config_free(&l->cfg);
    free(l->ad);
    free(l->param);
    lmt_aligned_free(l->params);
    lmt_aligned_free(l->grads);
    free(l->by_param);
    free(l->trainable);
    free(l->copy);
    free(l->gcopy);
    free(l->scratch);
    free(l->layout.params);
    free(l);
}
