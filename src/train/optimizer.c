/* TrainingArguments.optim / optim_args into an optimizer, its step, and its
 * state in checkpoints (see optimizer.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "io/tensor_file.h"
#include "kernels/parallel.h"
#include "train/optimizer.h"

static const char *const names[] = {"adamw_torch", "adamw_torch_fused", "adafactor", "sgd", "adagrad", "rmsprop"};
#define N_KINDS (sizeof names / sizeof names[0])

const char *lmt_optim_name(lmt_optim_kind k) { return (size_t)k < N_KINDS ? names[k] : "?"; }

const char *lmt_optim_profile_name(lmt_optim_kind k) {
    static const char *const rows[] = {"optimizer/adamw", "optimizer/adamw", "optimizer/adafactor", "optimizer/sgd",
                                       "optimizer/adagrad", "optimizer/rmsprop"};
    return (size_t)k < N_KINDS ? rows[k] : "optimizer/?";
}

bool lmt_optim_trained(const lmt_param_spec *p) { return !(p->flags & (LMT_PARAM_BUFFER | LMT_PARAM_STATIC)); }

float lmt_optim_decay(const lmt_optimizer *o, const lmt_param_spec *p) {
    return (p->flags & LMT_PARAM_NO_DECAY) ? 0.0f : (float)o->set.weight_decay;
}

void lmt_optim_each_span(const lmt_optimizer *o, lmt_optim_span_fn fn, const void *c) {
    const lmt_layout *L = o->layout;
#pragma omp parallel
    for (size_t k = 0; k < L->n_params; k++) {
        const lmt_param_spec *ps = &L->params[k];
        if (!lmt_optim_trained(ps)) continue;
        long lo, hi;
        lmt_thread_slice((long)ps->numel, 16, &lo, &hi);
        if (lo < hi) fn(o, c, ps->offset + (size_t)lo, hi - lo, lmt_optim_decay(o, ps));
    }
}

/* OptimizerNames the Trainer maps to libraries this build has no use for on a CPU. */
static const char *why_not(const char *name) {
    if (strstr(name, "bnb") || strstr(name, "8bit") || strstr(name, "lion") || strstr(name, "paged") || strstr(name, "ademamix"))
        return "it needs bitsandbytes (CUDA)";
    if (strstr(name, "galore") || strstr(name, "apollo")) return "it needs galore_torch / apollo_torch (low-rank projections)";
    if (strstr(name, "xla") || strstr(name, "npu")) return "it is for XLA / Ascend NPU devices";
    if (!strcmp(name, "adamw_anyprecision")) return "it needs torchdistx";
    if (strstr(name, "lomo")) return "it needs the lomo-optim package";
    if (strstr(name, "schedule_free")) return "it needs the schedulefree package";
    if (!strcmp(name, "grokadamw") || !strcmp(name, "stable_adamw") || !strcmp(name, "adamw_torch_4bit") ||
        !strcmp(name, "adamw_torch_8bit"))
        return "it needs a third-party optimizer package (grokadamw, torch-optimi, torchao)";
    return NULL;
}

static lmt_status parse_float(const char *key, const char *v, double *out) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x)) return lmt_fail(LMT_ERR_ARG, "optim_args: %s expects a number, got \"%s\"", key, v);
    *out = x;
    return LMT_OK;
}

static bool truthy(const char *v) {   /* the Trainer's value.lower() in ("true", "1", "yes") */
    char low[8] = {0};
    for (size_t i = 0; v[i] && i < sizeof low - 1; i++) low[i] = (char)(v[i] >= 'A' && v[i] <= 'Z' ? v[i] + 32 : v[i]);
    return strlen(v) < sizeof low && (!strcmp(low, "true") || !strcmp(low, "1") || !strcmp(low, "yes"));
}

/* One key=value of optim_args for the optimizer of s. */
static lmt_status apply_optim_arg(lmt_optim_settings *s, const char *key, const char *v) {
    double ignored;
    /* Trainer: optim_args' weight_decay becomes a default the parameter
     * groups' own weight_decay (args.weight_decay, 0) always overrides */
    if (!strcmp(key, "weight_decay") && s->kind != LMT_OPTIM_ADAMW_TORCH && s->kind != LMT_OPTIM_ADAMW_TORCH_FUSED &&
        s->kind != LMT_OPTIM_ADAFACTOR) {
        LMT_TRY(parse_float(key, v, &ignored));
        lmt_note("optim_args weight_decay=%s has no effect, as in transformers (the Trainer's parameter groups set "
                 "weight_decay: use --weight_decay)", v);
        return LMT_OK;
    }
    switch (s->kind) {
    case LMT_OPTIM_SGD:
        if (!strcmp(key, "momentum")) return parse_float(key, v, &s->momentum);
        if (!strcmp(key, "dampening")) return parse_float(key, v, &s->dampening);
        if (!strcmp(key, "nesterov")) { s->nesterov = truthy(v); return LMT_OK; }
        return lmt_fail(LMT_ERR_ARG, "optim_args: sgd reads momentum, dampening, nesterov and weight_decay, not \"%s\"", key);
    case LMT_OPTIM_ADAGRAD:
        if (!strcmp(key, "lr_decay")) return parse_float(key, v, &s->lr_decay);
        if (!strcmp(key, "eps")) return parse_float(key, v, &s->eps);
        return lmt_fail(LMT_ERR_ARG, "optim_args: adagrad reads lr_decay, eps and weight_decay, not \"%s\"", key);
    case LMT_OPTIM_RMSPROP:
        if (!strcmp(key, "momentum")) return parse_float(key, v, &s->momentum);
        if (!strcmp(key, "alpha")) return parse_float(key, v, &s->alpha);
        if (!strcmp(key, "eps")) return parse_float(key, v, &s->eps);
        if (!strcmp(key, "centered")) { s->centered = truthy(v); return LMT_OK; }
        return lmt_fail(LMT_ERR_ARG, "optim_args: rmsprop reads momentum, alpha, eps, centered and weight_decay, not \"%s\"", key);
    default:
        return lmt_fail(LMT_ERR_ARG, "optim_args: the Trainer passes no optim_args to %s (\"%s\" would be ignored)%s",
                        lmt_optim_name(s->kind), key,
                        s->kind == LMT_OPTIM_ADAFACTOR ? "" : ": set adam_beta1, adam_beta2, adam_epsilon instead");
    }
}

lmt_status lmt_optim_settings_from_args(const lmt_training_args *a, lmt_optim_settings *out) {
    memset(out, 0, sizeof *out);
    size_t k = 0;
    while (k < N_KINDS && strcmp(a->optim, names[k])) k++;
    if (k == N_KINDS) {
        const char *why = why_not(a->optim);
        if (why) return lmt_fail(LMT_ERR_UNSUPPORTED, "optim %s is not available in lmtune: %s (use adamw_torch, "
                                 "adamw_torch_fused, adafactor, sgd, adagrad or rmsprop)", a->optim, why);
        return lmt_fail(LMT_ERR_ARG, "optim must be one of adamw_torch, adamw_torch_fused, adafactor, sgd, adagrad, "
                        "rmsprop, got \"%s\"", a->optim);
    }
    out->kind = (lmt_optim_kind)k;
    out->weight_decay = a->weight_decay;
    out->beta1 = a->adam_beta1;
    out->beta2 = a->adam_beta2;
    /* torch's defaults where the Trainer passes only lr */
    out->eps = k == LMT_OPTIM_ADAGRAD ? 1e-10 : k == LMT_OPTIM_RMSPROP ? 1e-8 : a->adam_epsilon;
    out->alpha = 0.99;
    /* _parse_optim_args: spaces removed, "k=v" pairs split at commas */
    char buf[sizeof a->optim_args];
    size_t n = 0;
    for (const char *p = a->optim_args; *p; p++)
        if (*p != ' ') buf[n++] = *p;
    buf[n] = 0;
    for (char *item = buf; n > 0 && item;) {
        char *comma = strchr(item, ',');
        if (comma) *comma = 0;
        char *eq = strchr(item, '=');
        if (!eq || strchr(eq + 1, '=') || eq == item)
            return lmt_fail(LMT_ERR_ARG, "optim_args: \"%s\" is not key=value (expected e.g. \"momentum=0.9,nesterov=True\")", item);
        *eq = 0;
        LMT_TRY(apply_optim_arg(out, item, eq + 1));
        item = comma ? comma + 1 : NULL;
    }
    if (out->kind == LMT_OPTIM_SGD && out->nesterov && (out->momentum <= 0 || out->dampening != 0))
        return lmt_fail(LMT_ERR_ARG, "optim_args: sgd's nesterov requires a momentum and zero dampening (torch.optim.SGD)");
    if (out->momentum < 0) return lmt_fail(LMT_ERR_ARG, "optim_args: momentum must be >= 0");
    if (out->kind == LMT_OPTIM_RMSPROP && out->alpha < 0) return lmt_fail(LMT_ERR_ARG, "optim_args: alpha must be >= 0");
    if (out->eps < 0) return lmt_fail(LMT_ERR_ARG, "optim_args: eps must be >= 0");
    if (out->lr_decay < 0) return lmt_fail(LMT_ERR_ARG, "optim_args: lr_decay must be >= 0");
    return LMT_OK;
}

static lmt_status add_state(lmt_optimizer *o, const char *name, size_t n, float fill) {
    float *b = lmt_aligned_alloc((n ? n : 1) * sizeof(float));
    if (!b) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory for the optimizer state (%zu floats)", lmt_optim_name(o->set.kind), n);
    for (size_t i = 0; i < n; i++) b[i] = fill;
    o->state[o->n_state] = b;
    o->state_n[o->n_state] = n;
    o->state_name[o->n_state++] = name;
    return LMT_OK;
}

lmt_status lmt_optimizer_init(lmt_optimizer *o, const lmt_optim_settings *set, const lmt_layout *layout) {
    memset(o, 0, sizeof *o);
    o->set = *set;
    o->layout = layout;
    o->n = layout->num_floats;
    lmt_status s = LMT_OK;
    switch (set->kind) {
    case LMT_OPTIM_ADAMW_TORCH:
    case LMT_OPTIM_ADAMW_TORCH_FUSED:
        return lmt_adamw_init(&o->adamw, layout, set->beta1, set->beta2, set->eps, set->weight_decay);
    case LMT_OPTIM_SGD:
        if (set->momentum != 0) s = add_state(o, "momentum_buffer", o->n, 0.0f);
        break;
    case LMT_OPTIM_ADAGRAD:
        s = add_state(o, "sum", o->n, (float)set->initial_accumulator_value);
        break;
    case LMT_OPTIM_RMSPROP:
        s = add_state(o, "square_avg", o->n, 0.0f);
        if (s == LMT_OK && set->momentum > 0) s = add_state(o, "momentum_buffer", o->n, 0.0f);
        if (s == LMT_OK && set->centered) s = add_state(o, "grad_avg", o->n, 0.0f);
        break;
    case LMT_OPTIM_ADAFACTOR:
        o->offsets = malloc((layout->n_params + 1) * sizeof *o->offsets);
        s = o->offsets ? add_state(o, "exp_avg_sq_factored", lmt_adafactor_plan(o), 0.0f)
                       : lmt_fail(LMT_ERR_NOMEM, "out of memory");
        if (s == LMT_OK && (!(o->scratch = lmt_aligned_alloc((o->state_n[0] ? o->state_n[0] : 1) * sizeof(float))) ||
                            !(o->scratch_d = lmt_aligned_alloc((o->state_n[0] ? o->state_n[0] : 1) * sizeof(double)))))
            s = lmt_fail(LMT_ERR_NOMEM, "adafactor: out of memory for its scratch");
        break;
    }
    if (s != LMT_OK) lmt_optimizer_free(o);
    return s;
}

void lmt_optimizer_free(lmt_optimizer *o) {
    if (o->set.kind == LMT_OPTIM_ADAMW_TORCH || o->set.kind == LMT_OPTIM_ADAMW_TORCH_FUSED) lmt_adamw_free(&o->adamw);
    for (int i = 0; i < o->n_state; i++) lmt_aligned_free(o->state[i]);
    free(o->offsets);
    lmt_aligned_free(o->scratch);
    lmt_aligned_free(o->scratch_d);
    memset(o, 0, sizeof *o);
}

void lmt_optimizer_step(lmt_optimizer *o, float *params, const float *grads, double lr, float grad_scale) {
    o->step++;
    switch (o->set.kind) {
    case LMT_OPTIM_ADAMW_TORCH:
    case LMT_OPTIM_ADAMW_TORCH_FUSED:
        o->adamw.step = o->step - 1;
        lmt_adamw_step_scaled(&o->adamw, params, grads, lr, grad_scale);
        break;
    case LMT_OPTIM_SGD: lmt_sgd_step(o, params, grads, lr, grad_scale); break;
    case LMT_OPTIM_ADAGRAD: lmt_adagrad_step(o, params, grads, lr, grad_scale); break;
    case LMT_OPTIM_RMSPROP: lmt_rmsprop_step(o, params, grads, lr, grad_scale); break;
    case LMT_OPTIM_ADAFACTOR: lmt_adafactor_step(o, params, grads, lr, grad_scale); break;
    }
}

/* The state buffers by name, AdamW's included ("lmtune-adamw" keeps the
 * names of the checkpoints before the other optimizers existed). */
static int buffers(const lmt_optimizer *o, const char **name, float **buf, size_t *n) {
    if (o->set.kind == LMT_OPTIM_ADAMW_TORCH || o->set.kind == LMT_OPTIM_ADAMW_TORCH_FUSED) {
        name[0] = "exp_avg"; buf[0] = o->adamw.m; n[0] = o->n;
        name[1] = "exp_avg_sq"; buf[1] = o->adamw.v; n[1] = o->n;
        return 2;
    }
    for (int i = 0; i < o->n_state; i++) { name[i] = o->state_name[i]; buf[i] = o->state[i]; n[i] = o->state_n[i]; }
    return o->n_state;
}

static void format_name(const lmt_optimizer *o, char *out, size_t size) {
    bool adamw = o->set.kind == LMT_OPTIM_ADAMW_TORCH || o->set.kind == LMT_OPTIM_ADAMW_TORCH_FUSED;
    snprintf(out, size, "lmtune-%s", adamw ? "adamw" : lmt_optim_name(o->set.kind));
}

lmt_status lmt_optimizer_save(const lmt_optimizer *o, const char *path) {
    const char *name[LMT_OPTIM_MAX_STATE];
    float *buf[LMT_OPTIM_MAX_STATE];
    size_t n[LMT_OPTIM_MAX_STATE];
    int nb = buffers(o, name, buf, n);
    int64_t step = o->step;
    lmt_tensor_out outs[LMT_OPTIM_MAX_STATE + 1];
    for (int i = 0; i < nb; i++) outs[i] = (lmt_tensor_out){name[i], LMT_F32, 1, {(int64_t)n[i]}, buf[i]};
    outs[nb] = (lmt_tensor_out){"step", LMT_I64, 1, {1}, &step};
    char fmt[48];
    format_name(o, fmt, sizeof fmt);
    const char *meta[] = {"format", fmt, NULL};
    return lmt_safetensors_write(path, outs, (size_t)nb + 1, meta);
}

lmt_status lmt_optimizer_load(lmt_optimizer *o, const char *path) {
    lmt_tensor_file *f = NULL;
    LMT_TRY(lmt_safetensors_open(path, &f));
    const char *name[LMT_OPTIM_MAX_STATE];
    float *buf[LMT_OPTIM_MAX_STATE];
    size_t n[LMT_OPTIM_MAX_STATE];
    int nb = buffers(o, name, buf, n);
    char fmt[48];
    format_name(o, fmt, sizeof fmt);
    const lmt_json *fj = f->metadata ? lmt_json_get(f->metadata, "format") : NULL;
    const char *got = fj && fj->type == LMT_JSON_STRING ? fj->str : NULL;
    lmt_status s = LMT_OK;
    if (got && strcmp(got, fmt))
        s = lmt_fail(LMT_ERR_FORMAT, "%s: holds the state of %s, this run's optim is %s: resume with the same optim", path,
                     got, lmt_optim_name(o->set.kind));
    const lmt_tensor_entry *st = lmt_tensor_file_find(f, "step");
    if (s == LMT_OK && (!st || st->dtype != LMT_I64 || st->nbytes != 8))
        s = lmt_fail(LMT_ERR_FORMAT, "%s: no \"step\" (int64) in the optimizer state", path);
    for (int i = 0; s == LMT_OK && i < nb; i++) {
        const lmt_tensor_entry *e = lmt_tensor_file_find(f, name[i]);
        if (!e || e->dtype != LMT_F32 || e->nbytes != n[i] * sizeof(float))
            s = lmt_fail(LMT_ERR_FORMAT, "%s: optimizer state \"%s\" does not match the model (%s, %zu floats expected)", path,
                         name[i], lmt_optim_name(o->set.kind), n[i]);
    }
    if (s == LMT_OK) {
        for (int i = 0; i < nb; i++) memcpy(buf[i], lmt_tensor_file_find(f, name[i])->data, n[i] * sizeof(float));
        memcpy(&o->step, st->data, 8);
        o->adamw.step = o->step;
    }
    lmt_tensor_file_free(f);
    return s;
}
