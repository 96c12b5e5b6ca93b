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

typedef enum { T_BOOL, T_INT, T_NUM, T_STR, T_STRATEGY } field_type;
typedef struct { const char *name; field_type type; size_t off; size_t size; } field;

#define F(name, type) {#name, type, offsetof(lmt_training_args, name), sizeof(((lmt_training_args *)0)->name)}
static const field fields[] = {
    F(output_dir, T_STR), F(overwrite_output_dir, T_BOOL), F(do_train, T_BOOL), F(do_eval, T_BOOL),
    F(num_train_epochs, T_NUM), F(max_steps, T_INT), F(per_device_train_batch_size, T_INT),
    F(per_device_eval_batch_size, T_INT), F(gradient_accumulation_steps, T_INT), F(learning_rate, T_NUM),
    F(weight_decay, T_NUM), F(adam_beta1, T_NUM), F(adam_beta2, T_NUM), F(adam_epsilon, T_NUM),
    F(max_grad_norm, T_NUM), F(lr_scheduler_type, T_STR), F(warmup_steps, T_INT), F(warmup_ratio, T_NUM),
    F(eval_strategy, T_STRATEGY), F(eval_steps, T_NUM), F(save_strategy, T_STRATEGY), F(save_steps, T_NUM),
    F(save_total_limit, T_INT), F(logging_strategy, T_STRATEGY), F(logging_steps, T_NUM),
    F(logging_first_step, T_BOOL), F(logging_dir, T_STR), F(run_name, T_STR), F(seed, T_INT), F(fp16, T_BOOL),
    F(bf16, T_BOOL), F(resume_from_checkpoint, T_STR), F(load_best_model_at_end, T_BOOL),
    F(metric_for_best_model, T_STR), F(greater_is_better, T_BOOL), F(remove_unused_columns, T_BOOL),
    F(predict_with_generate, T_BOOL), F(generation_max_length, T_INT), F(generation_num_beams, T_INT),
    F(dataloader_num_workers, T_INT), F(disable_tqdm, T_BOOL), F(report_to, T_STR), F(push_to_hub, T_BOOL),
    F(hub_model_id, T_STR), F(hub_strategy, T_STR), F(hub_private_repo, T_BOOL), F(hub_token, T_STR),
    /* memory */
    F(gradient_checkpointing, T_BOOL),
};
#undef F
#define N_FIELDS (sizeof fields / sizeof fields[0])

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
}

static const field *find_field(const char *name) {
    if (!strcmp(name, "evaluation_strategy")) name = "eval_strategy";  /* the name before transformers 4.41 */
    for (size_t i = 0; i < N_FIELDS; i++)
        if (!strcmp(fields[i].name, name)) return &fields[i];
    return NULL;
}

bool lmt_training_args_known(const char *name) { return find_field(name) != NULL; }

lmt_status lmt_training_args_set(lmt_training_args *a, const char *name, const char *value, const char *src) {
    const field *f = find_field(name);
    if (!f) return lmt_fail(LMT_ERR_ARG, "%s: unknown training argument \"%s\"", src, name);
    char *p = (char *)a + f->off;
    char *end = NULL;
    if (!strcmp(f->name, "greater_is_better")) a->greater_is_better_set = true;
    switch (f->type) {
    case T_BOOL:
        if (!strcmp(value, "true") || !strcmp(value, "True") || !strcmp(value, "1") || !strcmp(value, "yes")) *(bool *)p = true;
        else if (!strcmp(value, "false") || !strcmp(value, "False") || !strcmp(value, "0") || !strcmp(value, "no")) *(bool *)p = false;
        else return lmt_fail(LMT_ERR_ARG, "%s: %s expects true or false, got \"%s\"", src, name, value);
        return LMT_OK;
    case T_INT: {
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end) return lmt_fail(LMT_ERR_ARG, "%s: %s expects an integer, got \"%s\"", src, name, value);
        *(int64_t *)p = v;
        return LMT_OK;
    }
    case T_NUM: {
        errno = 0;
        double v = strtod(value, &end);
        if (errno || end == value || *end || !isfinite(v)) return lmt_fail(LMT_ERR_ARG, "%s: %s expects a number, got \"%s\"", src, name, value);
        *(double *)p = v;
        return LMT_OK;
    }
    case T_STR:
        if (strlen(value) >= f->size) return lmt_fail(LMT_ERR_ARG, "%s: %s is too long", src, name);
        memcpy(p, value, strlen(value) + 1);
        return LMT_OK;
    case T_STRATEGY:
        for (int s = 0; s < 3; s++)
            if (!strcmp(value, strategy_names[s])) { *(lmt_strategy *)p = (lmt_strategy)s; return LMT_OK; }
        return lmt_fail(LMT_ERR_ARG, "%s: %s must be no, steps or epoch, got \"%s\"", src, name, value);
    }
    return LMT_ERR_INTERNAL;
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
        default:
            s = lmt_fail(LMT_ERR_FORMAT, "%s: training argument \"%s\" must be a scalar, found %s", path, j->keys[i], lmt_json_type_name(v->type));
            continue;
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
    return LMT_OK;
}

char *lmt_training_args_to_json(const lmt_training_args *a) {
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_puts(&b, "{\n");
    for (size_t i = 0; i < N_FIELDS; i++) {
        const field *f = &fields[i];
        const char *p = (const char *)a + f->off;
        lmt_sb_printf(&b, "  \"%s\": ", f->name);
        switch (f->type) {
        case T_BOOL: lmt_sb_puts(&b, *(const bool *)p ? "true" : "false"); break;
        case T_INT: lmt_sb_printf(&b, "%lld", (long long)*(const int64_t *)p); break;
        case T_NUM: {
            lmt_json *n = lmt_json_new_num(*(const double *)p);
            if (n) lmt_json_write(&b, n, 0);
            lmt_json_free(n);
            break;
        }
        case T_STR:
            /* TrainingArguments.to_dict hides tokens */
            if (!strcmp(f->name, "hub_token")) lmt_sb_puts(&b, "\"<HUB_TOKEN>\"");
            else lmt_json_write_string(&b, p, strlen(p), false);
            break;
        case T_STRATEGY: lmt_sb_printf(&b, "\"%s\"", strategy_names[*(const lmt_strategy *)p]); break;
        }
        lmt_sb_puts(&b, i + 1 < N_FIELDS ? ",\n" : "\n");
    }
    lmt_sb_puts(&b, "}\n");
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
