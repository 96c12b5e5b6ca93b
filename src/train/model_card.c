/* Trainer.create_model_card; see model_card.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/fs.h"
#include "core/util.h"
#include "lmtune/lmtune.h"
#include "models/config.h"
#include "train/model_card.h"

static const char *const metric_tags[] = {"accuracy", "bleu", "f1", "matthews_correlation", "pearsonr", "precision",
                                          "recall", "rouge", "sacrebleu", "spearmanr", "wer"};

/* TASK_TAG_TO_NAME_MAPPING (the tasks run_*.py name; "translation" is not in it) */
static const char *task_name(const char *tag) {
    if (!tag) return NULL;
    if (!strcmp(tag, "text-generation")) return "Causal Language Modeling";
    if (!strcmp(tag, "fill-mask")) return "Masked Language Modeling";
    return NULL;
}

/* str(v) for a JSON number as Python holds it (int or float) */
static void put_num(lmt_strbuf *b, const lmt_json *v) {
    if (v->is_int) lmt_sb_printf(b, "%lld", (long long)v->i64);
    else lmt_json_write_float_py(b, v->num);
}

/* _maybe_round: a float whose str() has more than 4 decimals as %.4f */
static void put_rounded(lmt_strbuf *b, const lmt_json *v) {
    if (!v) { lmt_sb_puts(b, "None"); return; }
    if (v->type == LMT_JSON_STRING) { lmt_sb_puts(b, v->str); return; }
    if (v->type != LMT_JSON_NUMBER) { lmt_sb_puts(b, "None"); return; }
    lmt_strbuf t;
    lmt_sb_init(&t);
    put_num(&t, v);
    const char *dot = t.data ? strchr(t.data, '.') : NULL;
    /* what follows the dot, an exponent included ("1.5e-05": 5 characters) */
    if (!v->is_int && dot && strlen(dot + 1) > 4) lmt_sb_printf(b, "%.4f", v->num);
    else if (t.data) lmt_sb_puts(b, t.data);
    lmt_sb_free(&t);
}

/* " ".join(part.capitalize() for part in key.split("_")) */
static void put_camel(lmt_strbuf *b, const char *key) {
    bool start = true;
    for (const char *p = key; *p; p++) {
        if (*p == '_') { lmt_sb_putc(b, ' '); start = true; continue; }
        lmt_sb_putc(b, (char)(start ? toupper((unsigned char)*p) : tolower((unsigned char)*p)));
        start = false;
    }
}

/* yaml.dump of a string: plain when that reads back as the same string,
 * else single-quoted */
static void put_yaml_str(lmt_strbuf *b, const char *s) {
    bool plain = s[0] && !isspace((unsigned char)s[0]) && !isspace((unsigned char)s[strlen(s) - 1]) && !strchr("-?:,[]{}#&*!|>'\"%@`", s[0]);
    for (const char *p = s; plain && *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr("_./- +=()", *p))) plain = false;
    if (plain) {
        char *end;
        strtod(s, &end);
        static const char *const words[] = {"yes", "no", "true", "false", "on", "off", "null", "y", "n", "~"};
        if (!*end) plain = false;
        for (size_t i = 0; plain && i < sizeof words / sizeof words[0]; i++)
            if (!strcasecmp(s, words[i])) plain = false;
    }
    if (plain) { lmt_sb_puts(b, s); return; }
    lmt_sb_putc(b, '\'');
    for (const char *p = s; *p; p++) {
        if (*p == '\'') lmt_sb_putc(b, '\'');
        lmt_sb_putc(b, *p);
    }
    lmt_sb_putc(b, '\'');
}

static bool has_key(const lmt_json *o, const char *k) { return lmt_json_get(o, k) != NULL; }

/* parse_log_history's eval_results key for an entry's key, or NULL to drop it */
static bool eval_result_key(const char *key, const char **stripped) {
    const char *k = strncmp(key, "eval_", 5) ? key : key + 5;
    static const char *const skip[] = {"runtime", "samples_per_second", "steps_per_second", "epoch", "step"};
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (!strcmp(k, skip[i])) return false;
    *stripped = k;
    return true;
}

/* the table of evaluations before the training summary (make_markdown_table) */
typedef struct { char *cells[16]; int n; } row;

static void put_table(lmt_strbuf *b, const lmt_json *h, size_t train_idx) {
    row rows[256];
    char *head[16];
    int nrows = 0, ncols = 0;
    const lmt_json *training_loss = NULL;
    for (size_t i = 0; i < train_idx && nrows < 256; i++) {
        const lmt_json *e = &h->items[i];
        if (lmt_json_get(e, "loss")) training_loss = lmt_json_get(e, "loss");
        if (!has_key(e, "eval_loss")) continue;
        row *r = &rows[nrows];
        r->n = 0;
        const lmt_json *cols[16];
        const char *names[16];
        int n = 0;
        lmt_json no_log = {.type = LMT_JSON_STRING, .str = "No log"};
        cols[n] = training_loss ? training_loss : &no_log; names[n++] = "Training Loss";
        cols[n] = lmt_json_get(e, "epoch"); names[n++] = "Epoch";
        cols[n] = lmt_json_get(e, "step"); names[n++] = "Step";
        char camel[16][64];
        for (size_t k = 0; k < e->len && n < 16; k++) {
            const char *key = e->keys[k];
            if (!strcmp(key, "total_flos") || !strcmp(key, "epoch") || !strcmp(key, "step") || !strcmp(key, "eval_runtime") ||
                !strcmp(key, "eval_samples_per_second") || !strcmp(key, "eval_steps_per_second"))
                continue;
            if (!strcmp(key, "eval_loss")) { cols[n] = &e->items[k]; names[n++] = "Validation Loss"; continue; }
            /* " ".join(capitalized parts after the first) */
            lmt_strbuf t;
            lmt_sb_init(&t);
            const char *us = strchr(key, '_');
            put_camel(&t, us ? us + 1 : "");
            snprintf(camel[n], sizeof camel[n], "%s", t.data ? t.data : "");
            lmt_sb_free(&t);
            cols[n] = &e->items[k];
            names[n] = camel[n];
            n++;
        }
        if (nrows == 0) {
            ncols = n;
            for (int c = 0; c < n; c++) head[c] = lmt_strdup(names[c]);
        }
        for (int c = 0; c < n && c < ncols; c++) {
            lmt_strbuf t;
            lmt_sb_init(&t);
            put_rounded(&t, cols[c]);
            r->cells[c] = lmt_sb_take(&t);
        }
        r->n = n < ncols ? n : ncols;
        nrows++;
    }
    if (nrows == 0) return;
    size_t w[16];
    for (int c = 0; c < ncols; c++) {
        w[c] = head[c] ? strlen(head[c]) : 0;
        for (int r = 0; r < nrows; r++)
            if (c < rows[r].n && rows[r].cells[c] && strlen(rows[r].cells[c]) > w[c]) w[c] = strlen(rows[r].cells[c]);
    }
    for (int c = 0; c < ncols; c++) lmt_sb_printf(b, "| %-*s ", (int)w[c], head[c] ? head[c] : "");
    lmt_sb_puts(b, "|\n");
    for (int c = 0; c < ncols; c++) {
        lmt_sb_puts(b, "|:");
        for (size_t k = 0; k < w[c]; k++) lmt_sb_putc(b, '-');
        lmt_sb_putc(b, ':');
    }
    lmt_sb_puts(b, "|\n");
    for (int r = 0; r < nrows; r++) {
        for (int c = 0; c < ncols; c++) lmt_sb_printf(b, "| %-*s ", (int)w[c], c < rows[r].n && rows[r].cells[c] ? rows[r].cells[c] : "");
        lmt_sb_puts(b, "|\n");
        for (int c = 0; c < rows[r].n; c++) free(rows[r].cells[c]);
    }
    for (int c = 0; c < ncols; c++) free(head[c]);
}

char *lmt_model_card_text(const lmt_model_card *c, const lmt_training_args *a, const lmt_json *h) {
    bool have_h = h && h->type == LMT_JSON_ARRAY;
    size_t n = have_h ? h->len : 0, train_idx = 0;
    while (train_idx < n && !has_key(&h->items[train_idx], "train_runtime")) train_idx++;
    bool trained = train_idx < n;
    /* the final evaluation: the last entry with eval_loss (at an index > 0 once trained) */
    long ev = (long)n - 1;
    while (ev >= 0 && !has_key(&h->items[ev], "eval_loss")) ev--;
    if (trained && ev <= 0) ev = -1;
    const lmt_json *eval = ev >= 0 ? &h->items[ev] : NULL;

    const char *name = c->model_name;
    if (!name) {
        const char *slash = strrchr(a->output_dir, '/');
        name = slash ? slash + 1 : a->output_dir;
        if (!*name && c->finetuned_from) name = c->finetuned_from;
    }
    lmt_strbuf b;
    lmt_sb_init(&b);
    /* ---- metadata (yaml.dump, sort_keys=False) ---- */
    lmt_sb_puts(&b, "---\nlibrary_name: transformers\n");
    if (c->finetuned_from && *c->finetuned_from) {
        lmt_sb_puts(&b, "base_model: ");
        put_yaml_str(&b, c->finetuned_from);
        lmt_sb_putc(&b, '\n');
    }
    lmt_sb_puts(&b, "tags:\n- generated_from_trainer\n");
    bool any_metric = false;
    for (size_t k = 0; eval && k < eval->len; k++) {
        const char *key;
        if (trained && !eval_result_key(eval->keys[k], &key)) continue;
        if (!trained) key = eval->keys[k];
        for (size_t t = 0; t < sizeof metric_tags / sizeof metric_tags[0]; t++) {
            lmt_strbuf lower;
            lmt_sb_init(&lower);
            for (const char *p = key; *p; p++) lmt_sb_putc(&lower, (char)tolower((unsigned char)*p));
            bool hit = lower.data && !strcmp(lower.data, metric_tags[t]);
            lmt_sb_free(&lower);
            if (!hit) continue;
            if (!any_metric) lmt_sb_puts(&b, "metrics:\n");
            any_metric = true;
            lmt_sb_printf(&b, "- %s\n", metric_tags[t]);
        }
    }
    lmt_sb_puts(&b, "model-index:\n- name: ");
    put_yaml_str(&b, name);
    /* one result per task and dataset, dropped without a dataset (lmtune
     * reads local files: no dataset tags) */
    lmt_sb_puts(&b, task_name(c->task) ? "\n  results: []\n" : "\n");
    lmt_sb_puts(&b, "---\n\n<!-- This model card has been generated automatically according to the information the Trainer had "
                    "access to. You\nshould probably proofread and complete it, then remove this comment. -->\n");
    lmt_sb_printf(&b, "\n# %s\n\n", name);
    if (c->finetuned_from)
        lmt_sb_printf(&b, "This model is a fine-tuned version of [%s](https://huggingface.co/%s) on ", c->finetuned_from, c->finetuned_from);
    else
        lmt_sb_puts(&b, "This model was trained from scratch on ");
    lmt_sb_puts(&b, "an unknown dataset.");
    if (eval) {
        lmt_sb_puts(&b, "\nIt achieves the following results on the evaluation set:\n");
        bool first = true;
        for (size_t k = 0; k < eval->len; k++) {
            const char *key = eval->keys[k];
            if (trained && !eval_result_key(eval->keys[k], &key)) continue;
            lmt_sb_puts(&b, first ? "- " : "\n- ");
            first = false;
            if (trained) put_camel(&b, key);
            else lmt_sb_puts(&b, key);
            lmt_sb_puts(&b, ": ");
            put_rounded(&b, &eval->items[k]);
        }
    }
    lmt_sb_puts(&b, "\n\n## Model description\n\nMore information needed\n");
    lmt_sb_puts(&b, "\n## Intended uses & limitations\n\nMore information needed\n");
    lmt_sb_puts(&b, "\n## Training and evaluation data\n\nMore information needed\n");
    lmt_sb_puts(&b, "\n## Training procedure\n\n### Training hyperparameters\n");
    /* extract_hyperparameters_from_trainer (one process: world_size 1) */
    lmt_sb_puts(&b, "\nThe following hyperparameters were used during training:\n- learning_rate: ");
    lmt_json_write_float_py(&b, a->learning_rate);
    lmt_sb_printf(&b, "\n- train_batch_size: %lld\n- eval_batch_size: %lld\n- seed: %lld\n", (long long)a->per_device_train_batch_size,
                  (long long)a->per_device_eval_batch_size, (long long)a->seed);
    if (a->gradient_accumulation_steps > 1) {
        lmt_sb_printf(&b, "- gradient_accumulation_steps: %lld\n", (long long)a->gradient_accumulation_steps);
        lmt_sb_printf(&b, "- total_train_batch_size: %lld\n", (long long)(a->per_device_train_batch_size * a->gradient_accumulation_steps));
    }
    /* str() of the OptimizerNames member under Python 3.11 */
    const char *optim = c->optim ? c->optim : "adamw_torch_fused";
    lmt_sb_puts(&b, "- optimizer: Use OptimizerNames.");
    for (const char *p = optim; *p; p++) lmt_sb_putc(&b, (char)toupper((unsigned char)*p));
    if (strstr(optim, "adam")) {
        lmt_sb_puts(&b, " with betas=(");
        lmt_json_write_float_py(&b, a->adam_beta1);
        lmt_sb_putc(&b, ',');
        lmt_json_write_float_py(&b, a->adam_beta2);
        lmt_sb_puts(&b, ") and epsilon=");
        lmt_json_write_float_py(&b, a->adam_epsilon);
        lmt_sb_puts(&b, " and optimizer_args=No additional optimizer arguments\n");
    } else {
        lmt_sb_puts(&b, " and the args are:\nNo additional optimizer arguments\n");
    }
    lmt_sb_printf(&b, "- lr_scheduler_type: %s\n", a->lr_scheduler_type);
    /* transformers 5 holds warmup_ratio in warmup_steps (a value < 1) */
    if (a->warmup_steps != 0) lmt_sb_printf(&b, "- lr_scheduler_warmup_steps: %lld\n", (long long)a->warmup_steps);
    else if (a->warmup_ratio != 0) {
        lmt_sb_puts(&b, "- lr_scheduler_warmup_steps: ");
        lmt_json_write_float_py(&b, a->warmup_ratio);
        lmt_sb_putc(&b, '\n');
    }
    if (a->max_steps != -1) lmt_sb_printf(&b, "- training_steps: %lld\n", (long long)a->max_steps);
    else {
        lmt_sb_puts(&b, "- num_epochs: ");
        lmt_json_write_float_py(&b, a->num_train_epochs);
        lmt_sb_putc(&b, '\n');
    }
    if (a->fp16) lmt_sb_puts(&b, "- mixed_precision_training: Native AMP\n");
    if (trained) {
        lmt_sb_puts(&b, "\n### Training results\n\n");
        put_table(&b, h, train_idx);
        lmt_sb_putc(&b, '\n');
    }
    /* lmtune wrote the files, in the format of this transformers release */
    lmt_sb_printf(&b, "\n### Framework versions\n\n- lmtune %s (files as Transformers %s writes them)\n", LMTUNE_VERSION,
                  LMT_TRANSFORMERS_VERSION);
    return lmt_sb_take(&b);
}

lmt_status lmt_model_card_write(const char *dir, const lmt_model_card *c, const lmt_training_args *a, const lmt_json *log_history) {
    char *text = lmt_model_card_text(c, a, log_history);
    if (!text) return lmt_fail(LMT_ERR_NOMEM, "out of memory writing the model card");
    lmt_status s = lmt_write_file_in(dir, "README.md", text, strlen(text));
    free(text);
    return s;
}
