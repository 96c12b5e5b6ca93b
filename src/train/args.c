/* TrainingArguments as a table of named fields, so parsing, validation
 * messages and JSON output all come from one list. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "kernels/gemm.h"
#include "lmtune/hub.h"
#include "train/args.h"
#include "train/scheduler.h"
#include "train/trainer_features.h"

static const char *const strategy_names[] = {"no", "steps", "epoch"};

void lmt_training_args_default(lmt_training_args *a) {
    memset(a, 0, sizeof *a);
    snprintf(a->output_dir, sizeof a->output_dir, "trainer_output");
    a->num_train_epochs = 3.0;
    a->max_steps = -1;
    a->per_device_train_batch_size = 8;
    a->per_device_eval_batch_size = 8;
    a->gradient_accumulation_steps = 1;
    a->learning_rate = 5e-5;
    a->adam_beta1 = 0.9;
    a->adam_beta2 = 0.999;
    a->adam_epsilon = 1e-8;
    a->max_grad_norm = 1.0;
    snprintf(a->lr_scheduler_type, sizeof a->lr_scheduler_type, "linear");
    a->eval_strategy = LMT_STRATEGY_NO;
    a->save_strategy = LMT_STRATEGY_STEPS;
    a->save_steps = 500;
    a->save_total_limit = -1;
    a->logging_strategy = LMT_STRATEGY_STEPS;
    a->logging_steps = 500;
    a->seed = 42;
    a->remove_unused_columns = true;
    snprintf(a->report_to, sizeof a->report_to, "none");
    snprintf(a->hub_strategy, sizeof a->hub_strategy, "every_save");
    lmt_training_args_features_default(a);
    snprintf(a->length_column_name, sizeof a->length_column_name, "length");
}

bool lmt_arg_name_in(const char *list, const char *n) {
    size_t len = strlen(n);
    for (const char *p = list; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t k = bar ? (size_t)(bar - p) : strlen(p);
        if (k == len) {
            size_t i = 0;
            while (i < k && (p[i] == n[i] || (p[i] == '_' && n[i] == '-'))) i++;
            if (i == k) return true;
        }
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

const lmt_arg_spec *lmt_training_args_find(const char *name) {
    size_t n;
    const lmt_arg_spec *t = lmt_training_args_specs(&n);
    for (size_t i = 0; i < n; i++)
        if (lmt_arg_name_in(t[i].name, name) || lmt_arg_name_in(t[i].aliases, name)) return &t[i];
    return NULL;
}

bool lmt_training_args_known(const char *name) { return lmt_training_args_find(name) != NULL; }

int lmt_edit_distance(const char *a, const char *b, int cap) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return cap + 1;
    int row[64];
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0], best = row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j], ca = a[i - 1] == '-' ? '_' : a[i - 1];
            int v = diag + (ca != b[j - 1]);
            if (up + 1 < v) v = up + 1;
            if (row[j - 1] + 1 < v) v = row[j - 1] + 1;
            diag = up;
            row[j] = v;
            if (v < best) best = v;
        }
        if (best > cap) return cap + 1;
    }
    return row[lb] > cap ? cap + 1 : row[lb];
}

const char *lmt_training_args_suggest(const char *name) {
    size_t n;
    const lmt_arg_spec *t = lmt_training_args_specs(&n);
    const char *best = NULL;
    int cap = (int)strlen(name) / 3 + 1, best_d = cap + 1;
    for (size_t i = 0; i < n; i++) {
        int d = lmt_edit_distance(name, t[i].name, cap);
        if (d < best_d) { best_d = d; best = t[i].name; }
    }
    return best;
}

/* where a message says the value came from: "--name" on the command line, "FILE: name" else */
static const char *who(char *buf, size_t cap, const char *src, const char *name) {
    if (!src || !strcmp(src, "command line")) snprintf(buf, cap, "--%s", name);
    else snprintf(buf, cap, "%s: %s", src, name);
    return buf;
}

static const char *bool_text(const char *v) {
    if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "1") || !strcmp(v, "yes")) return "true";
    if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "0") || !strcmp(v, "no")) return "false";
    return NULL;
}

static bool is_none(const char *v) { return !*v || !strcmp(v, "None") || !strcmp(v, "null"); }

/* value (checked, canonical) equals the row's default */
static bool is_default(const lmt_arg_spec *f, const char *v) {
    const char *d = f->dflt;
    switch (f->type) {
    case LMT_ARG_BOOL: return !strcmp(v, !strcmp(d, "None") ? "false" : d);
    case LMT_ARG_INT:
    case LMT_ARG_FLOAT: return strcmp(d, "None") && strtod(v, NULL) == strtod(d, NULL);
    case LMT_ARG_LIST:
    case LMT_ARG_DICT: {
        bool empty_v = is_none(v) || !strcmp(v, "[]") || !strcmp(v, "{}");
        bool empty_d = is_none(d) || !strcmp(d, "[]") || !strcmp(d, "{}");
        return empty_v ? empty_d : !strcmp(v, d);
    }
    default: return !strcmp(v, d) || (is_none(d) && is_none(v));
    }
}

static bool in_choices(const char *choices, const char *v) { return lmt_arg_name_in(choices, v) && !strchr(v, '-'); }

static void range_text(const lmt_arg_spec *f, char *buf, size_t cap) {
    bool lo = isfinite(f->lo), hi = isfinite(f->hi);
    if (lo && hi) snprintf(buf, cap, "in %c%g, %g%c", f->open & 1 ? '(' : '[', f->lo, f->hi, f->open & 2 ? ')' : ']');
    else if (lo && f->lo == 0 && !(f->open & 1) && f->type == LMT_ARG_INT) snprintf(buf, cap, ">= 0");
    else if (lo && f->lo == 1 && f->type == LMT_ARG_INT) snprintf(buf, cap, ">= 1");
    else if (lo) snprintf(buf, cap, "%s %g", f->open & 1 ? ">" : ">=", f->lo);
    else buf[0] = '\0';
}

static bool in_range(const lmt_arg_spec *f, double v) {
    return (f->open & 1 ? v > f->lo : v >= f->lo) && (f->open & 2 ? v < f->hi : v <= f->hi);
}

/* checks value against f's type; canonical text in out */
static lmt_status check_value(const lmt_arg_spec *f, const char *w, const char *value, char *out, size_t cap) {
    char *end = NULL, range[64];
    snprintf(out, cap, "%s", value);
    switch (f->type) {
    case LMT_ARG_BOOL: {
        const char *b = bool_text(value);
        if (!b) return lmt_fail(LMT_ERR_ARG, "%s: expected true or false, got \"%s\"", w, value);
        snprintf(out, cap, "%s", b);
        return LMT_OK;
    }
    case LMT_ARG_INT: {
        errno = 0;
        long long v = strtoll(value, &end, 10);
        range_text(f, range, sizeof range);
        if (errno || end == value || *end)
            return lmt_fail(LMT_ERR_ARG, "%s: expected an integer%s%s, got \"%s\"", w, range[0] ? " " : "", range, value);
        if (!in_range(f, (double)v)) return lmt_fail(LMT_ERR_ARG, "%s: expected an integer %s, got %s", w, range, value);
        return LMT_OK;
    }
    case LMT_ARG_FLOAT: {
        errno = 0;
        double v = strtod(value, &end);
        range_text(f, range, sizeof range);
        if (errno || end == value || *end || !isfinite(v))
            return lmt_fail(LMT_ERR_ARG, "%s: expected a number%s%s, got \"%s\"", w, range[0] ? " " : "", range, value);
        if (!in_range(f, v)) return lmt_fail(LMT_ERR_ARG, "%s: expected a number %s, got %s", w, range, value);
        return LMT_OK;
    }
    case LMT_ARG_ENUM: {
        const char *b = bool_text(value);   /* include_num_input_tokens_seen: true is all, false no (transformers 5) */
        if (b && in_choices(f->choices, "all") && in_choices(f->choices, "no")) {
            snprintf(out, cap, "%s", !strcmp(b, "true") ? "all" : "no");
            return LMT_OK;
        }
        if (in_choices(f->choices, value) || (is_none(value) && !strcmp(f->dflt, "None"))) return LMT_OK;
        lmt_strbuf list;
        lmt_sb_init(&list);
        for (const char *c = f->choices; *c; c++) {
            if (*c == '|') lmt_sb_puts(&list, ", ");
            else lmt_sb_putc(&list, *c);
        }
        lmt_status s = lmt_fail(LMT_ERR_ARG, "%s: expected one of %s, got \"%s\"", w, list.data ? list.data : "", value);
        lmt_sb_free(&list);
        return s;
    }
    case LMT_ARG_LIST: {
        /* a JSON list (from a file) or names separated by commas or spaces */
        char buf[1024];
        size_t used = 0;
        snprintf(buf, sizeof buf, "%s", value);
        out[0] = '\0';
        for (char *save = NULL, *t = strtok_r(buf, "[], \"'", &save); t; t = strtok_r(NULL, "[], \"'", &save)) {
            if (f->choices && !in_choices(f->choices, t)) {
                char list[400];
                snprintf(list, sizeof list, "%s", f->choices);
                for (char *p = list; *p; p++) if (*p == '|') *p = ',';
                const char *near = NULL;
                int bd = 3;
                for (char *save2 = NULL, *c = strtok_r(list, ",", &save2); c; c = strtok_r(NULL, ",", &save2)) {
                    int d = lmt_edit_distance(t, c, 2);
                    if (d < bd) { bd = d; near = c; }
                }
                if (near) return lmt_fail(LMT_ERR_ARG, "%s: unknown value \"%s\" (did you mean %s?)", w, t, near);
                snprintf(list, sizeof list, "%s", f->choices);
                return lmt_fail(LMT_ERR_ARG, "%s: unknown value \"%s\" (one of %s)", w, t, f->choices);
            }
            used += (size_t)snprintf(out + used, used < cap ? cap - used : 0, "%s%s", used ? "," : "", t);
        }
        return LMT_OK;
    }
    case LMT_ARG_DICT: {
        if (is_none(value)) return LMT_OK;
        lmt_json *j = NULL;
        lmt_status s = lmt_json_parse(value, strlen(value), w, &j);
        bool obj = s == LMT_OK && j->type == LMT_JSON_OBJECT;
        size_t len = obj ? j->len : 0;
        lmt_json_free(j);
        if (!obj) return lmt_fail(LMT_ERR_ARG, "%s: expected a JSON object, got \"%s\"", w, value);
        if (!len) snprintf(out, cap, "{}");
        return LMT_OK;
    }
    case LMT_ARG_STRING: return LMT_OK;
    }
    return LMT_ERR_INTERNAL;
}

lmt_status lmt_training_args_set(lmt_training_args *a, const char *name, const char *value, const char *src) {
    const lmt_arg_spec *f = lmt_training_args_find(name);
    char w[160];
    if (!f) {
        const char *near = lmt_training_args_suggest(name);
        if (near) return lmt_fail(LMT_ERR_ARG, "%s: unknown training argument \"%s\" (did you mean %s?)", src, name, near);
        return lmt_fail(LMT_ERR_ARG, "%s: unknown training argument \"%s\"", src, name);
    }
    who(w, sizeof w, src, f->name);
    char v[1024];
    if (strlen(value) >= sizeof v) return lmt_fail(LMT_ERR_ARG, "%s: the value is too long", w);
    LMT_TRY(check_value(f, w, value, v, sizeof v));
    bool dflt = is_default(f, v);
    if ((f->status == LMT_ARG_REFUSED || f->status == LMT_ARG_PLANNED) && !dflt)
        return lmt_fail(LMT_ERR_ARG, "%s %s is refused: %s", w, v, f->status == LMT_ARG_PLANNED ? "not implemented in lmtune yet" : f->note);
    if (!strcmp(f->name, "greater_is_better")) a->greater_is_better_set = !is_none(v);
    if (!strcmp(f->name, "data_seed")) a->data_seed_set = !is_none(v);
    if (f->set) LMT_TRY(f->set(a, v, w));
    if (f->status == LMT_ARG_NO_EFFECT && !dflt) lmt_note("%s %s is accepted but has no effect: %s", w, v, f->note);
    if (f->set) return LMT_OK;
    if (!f->size) return LMT_OK;
    char *p = (char *)a + f->off;
    switch (f->type) {
    case LMT_ARG_BOOL: *(bool *)p = !strcmp(v, "true"); break;
    case LMT_ARG_INT: *(int64_t *)p = is_none(v) ? 0 : strtoll(v, NULL, 10); break;
    case LMT_ARG_FLOAT: *(double *)p = strtod(v, NULL); break;
    case LMT_ARG_ENUM:
        if (f->size == sizeof(lmt_strategy)) {   /* the interval strategies (char fields are longer) */
            for (int s = 0; s < 3; s++)
                if (!strcmp(v, strategy_names[s])) *(lmt_strategy *)p = (lmt_strategy)s;
            break;
        }
        /* fall through */
    default:
        if (strlen(v) >= f->size) return lmt_fail(LMT_ERR_ARG, "%s: the value is too long (at most %zu characters)", w, f->size - 1);
        memcpy(p, is_none(v) ? "" : v, is_none(v) ? 1 : strlen(v) + 1);
    }
    return LMT_OK;
}

lmt_status lmt_training_args_load_json(lmt_training_args *a, const char *path) {
    lmt_json *j;
    LMT_TRY(lmt_json_parse_file(path, &j));
    lmt_status s = LMT_OK;
    if (j->type != LMT_JSON_OBJECT) s = lmt_fail(LMT_ERR_FORMAT, "%s: must hold a JSON object of training arguments", path);
    for (size_t i = 0; s == LMT_OK && i < j->len; i++) {
        const lmt_json *v = &j->items[i];
        char buf[64];
        const char *text = buf;
        switch (v->type) {
        case LMT_JSON_BOOL: text = v->boolean ? "true" : "false"; break;
        case LMT_JSON_NUMBER:
            if (v->is_int) snprintf(buf, sizeof buf, "%lld", (long long)v->i64);
            else snprintf(buf, sizeof buf, "%.17g", v->num);
            break;
        case LMT_JSON_STRING: text = v->str; break;
        case LMT_JSON_NULL: continue;  /* None: keep the default */
        default: {   /* lists (report_to) and dicts (fsdp_config), as to_json_string writes them */
            lmt_strbuf b;
            lmt_sb_init(&b);
            lmt_json_write(&b, v, 0);
            s = b.oom ? lmt_fail(LMT_ERR_NOMEM, "out of memory") : lmt_training_args_set(a, j->keys[i], b.data, path);
            lmt_sb_free(&b);
            continue;
        }
        }
        s = lmt_training_args_set(a, j->keys[i], text, path);
    }
    lmt_json_free(j);
    return s;
}

lmt_status lmt_training_args_validate(lmt_training_args *a) {
    if (!a->output_dir[0]) return lmt_fail(LMT_ERR_ARG, "output_dir must not be empty");
    if (a->per_device_train_batch_size < 1 || a->per_device_eval_batch_size < 1)
        return lmt_fail(LMT_ERR_ARG, "batch sizes must be >= 1 (per_device_train_batch_size %lld, per_device_eval_batch_size %lld)",
                        (long long)a->per_device_train_batch_size, (long long)a->per_device_eval_batch_size);
    if (a->gradient_accumulation_steps < 1) return lmt_fail(LMT_ERR_ARG, "gradient_accumulation_steps must be >= 1");
    if (a->learning_rate < 0) return lmt_fail(LMT_ERR_ARG, "learning_rate must be >= 0");
    if (a->weight_decay < 0) return lmt_fail(LMT_ERR_ARG, "weight_decay must be >= 0");
    if (a->adam_beta1 < 0 || a->adam_beta1 >= 1 || a->adam_beta2 < 0 || a->adam_beta2 >= 1)
        return lmt_fail(LMT_ERR_ARG, "adam_beta1 and adam_beta2 must be in [0, 1)");
    if (a->adam_epsilon < 0) return lmt_fail(LMT_ERR_ARG, "adam_epsilon must be >= 0");
    if (a->num_train_epochs <= 0 && a->max_steps <= 0)
        return lmt_fail(LMT_ERR_ARG, "num_train_epochs must be > 0 (or set max_steps)");
    lmt_sched_kind kind;   /* refused with the arguments, before any data is read, not when train() starts */
    LMT_TRY(lmt_scheduler_kind_parse(a->lr_scheduler_type, &kind));
    if (a->warmup_ratio < 0 || a->warmup_ratio > 1) return lmt_fail(LMT_ERR_ARG, "warmup_ratio must lie in [0, 1]");
    if (a->warmup_steps < 0) return lmt_fail(LMT_ERR_ARG, "warmup_steps must be >= 0");
    if (a->logging_steps <= 0 && a->logging_strategy == LMT_STRATEGY_STEPS) return lmt_fail(LMT_ERR_ARG, "logging_steps must be > 0");
    if (a->eval_strategy == LMT_STRATEGY_STEPS && a->eval_steps <= 0) a->eval_steps = a->logging_steps;  /* HF's fallback */
    if (a->save_strategy == LMT_STRATEGY_STEPS && a->save_steps <= 0) return lmt_fail(LMT_ERR_ARG, "save_steps must be > 0");
    if (a->fp16 && a->bf16) return lmt_fail(LMT_ERR_ARG, "fp16 and bf16 cannot both be set");
    if (a->load_best_model_at_end) {
        if (a->eval_strategy == LMT_STRATEGY_NO)
            return lmt_fail(LMT_ERR_ARG, "load_best_model_at_end requires an eval_strategy (steps or epoch)");
        if (a->eval_strategy != a->save_strategy)
            return lmt_fail(LMT_ERR_ARG, "load_best_model_at_end requires the save and eval strategy to match (save_strategy %s, eval_strategy %s)",
                            strategy_names[a->save_strategy], strategy_names[a->eval_strategy]);
        if (a->eval_strategy == LMT_STRATEGY_STEPS && fmod(a->save_steps, a->eval_steps) != 0)
            return lmt_fail(LMT_ERR_ARG, "load_best_model_at_end requires save_steps (%g) to be a multiple of eval_steps (%g)", a->save_steps, a->eval_steps);
        if (!a->metric_for_best_model[0]) snprintf(a->metric_for_best_model, sizeof a->metric_for_best_model, "loss");
    }
    if (a->metric_for_best_model[0]) {
        /* as TrainingArguments: unset greater_is_better means "not a loss" */
        const char *m = a->metric_for_best_model;
        size_t n = strlen(m);
        bool loss = n >= 4 && !strcmp(m + n - 4, "loss");
        if (!a->greater_is_better_set) a->greater_is_better = !loss;
    }
    if (strcmp(a->hub_strategy, "end") && strcmp(a->hub_strategy, "every_save")) {
        if (!strcmp(a->hub_strategy, "checkpoint") || !strcmp(a->hub_strategy, "all_checkpoints"))
            return lmt_fail(LMT_ERR_ARG, "hub_strategy %s is not supported by lmtune (it pushes models, not checkpoint folders): "
                            "use end or every_save", a->hub_strategy);
        return lmt_fail(LMT_ERR_ARG, "hub_strategy must be end or every_save, got \"%s\"", a->hub_strategy);
    }
    if (a->hub_model_id[0] && !lmt_hub_valid_repo_id(a->hub_model_id))
        return lmt_fail(LMT_ERR_ARG, "hub_model_id \"%s\" is not a valid Hub repo id (NAME or ORG/NAME: letters, digits, "
                        "'-', '_', '.')", a->hub_model_id);
    if (!a->run_name[0]) snprintf(a->run_name, sizeof a->run_name, "%.255s", a->output_dir);
    return lmt_training_args_features_validate(a);
}

char *lmt_training_args_to_json(const lmt_training_args *a) {
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_printf(&b, "{\n  \"warmup_steps\": %lld", (long long)a->warmup_steps);   /* an int64 under a float row */
    size_t n;
    const lmt_arg_spec *t = lmt_training_args_specs(&n);
    for (size_t i = 0; i < n; i++) {
        const lmt_arg_spec *f = &t[i];
        if (!f->size) continue;
        const char *p = (const char *)a + f->off;
        lmt_sb_printf(&b, ",\n  \"%s\": ", f->name);
        /* None in transformers: data_seed, eval_accumulation_steps, ddp_bucket_cap_mb unset */
        if ((!strcmp(f->name, "data_seed") && !a->data_seed_set) || (!strcmp(f->name, "eval_accumulation_steps") && !a->eval_accumulation_steps) ||
            (!strcmp(f->name, "ddp_bucket_cap_mb") && !a->ddp_bucket_cap_mb)) {
            lmt_sb_puts(&b, "null");
            continue;
        }
        switch (f->type) {
        case LMT_ARG_BOOL: lmt_sb_puts(&b, *(const bool *)p ? "true" : "false"); break;
        case LMT_ARG_INT: lmt_sb_printf(&b, "%lld", (long long)*(const int64_t *)p); break;
        case LMT_ARG_FLOAT: {
            lmt_json *num = lmt_json_new_num(*(const double *)p);
            if (num) lmt_json_write(&b, num, 0);
            lmt_json_free(num);
            break;
        }
        case LMT_ARG_ENUM:
            if (f->size == sizeof(lmt_strategy)) {
                lmt_sb_printf(&b, "\"%s\"", strategy_names[*(const lmt_strategy *)p]);
                break;
            }
            /* fall through */
        default:
            /* TrainingArguments.to_dict hides tokens */
            if (!strcmp(f->name, "hub_token")) lmt_sb_puts(&b, "\"<HUB_TOKEN>\"");
            else lmt_json_write_string(&b, p, strlen(p), false);
            break;
        }
    }
    lmt_sb_puts(&b, "\n}\n");
    return lmt_sb_take(&b);
}

lmt_matmul_precision lmt_training_args_matmul_precision(const lmt_training_args *a) {
    return a->bf16 || a->fp16 ? LMT_MATMUL_BF16 : LMT_MATMUL_FP32;
}

const char *lmt_training_args_precision_note(const lmt_training_args *a) {
    if (!a->fp16 && !a->bf16) return NULL;
    static char note[512];
    const char *fp16 = a->fp16 ? "fp16 on a CPU: the matrix products run in bf16 mixed precision (bf16 inputs, fp32 "
                                 "accumulation, fp32 master weights; no loss scaling is needed), as --bf16 does - CPUs "
                                 "have no fast fp16 arithmetic"
                               : NULL;
    /* where the products have no bf16 unit, bf16 is rounding only: the same
     * numbers as on AMX (up to summation order), at the fp32 FMA rate */
    if (lmt_gemm_bf16_arithmetic()) return fp16;
    const char *units = lmt_gemm_isa(true);
    snprintf(note, sizeof note, "%s%sthis CPU has no bf16 arithmetic at the level in use (products: %s): inputs are "
             "rounded to bf16 as on AMX, but the products run at the fp32 FMA rate, so bf16 saves no time here",
             fp16 ? fp16 : "", fp16 ? "; " : "", units);
    return note;
}
