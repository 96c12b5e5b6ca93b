/* lmtune train --task clm: run_clm.py / the course notebook in one command.
 * Model from --model_name_or_path (an HF folder) or --config_name (a
 * config.json, fresh weights); every TrainingArguments name is accepted as
 * --name value. The run is train/finetune.c's; this file holds the flags and
 * the causal-LM data preparation (text -> tokens -> block_size chunks). */
#include <stdio.h>
#include <string.h>
#include "cli/commands.h"
#include "cli/train_common.h"
#include "core/error.h"
#include "data/dataset.h"
#include "lmtune/tokenizer.h"
#include "models/model.h"
#include "train/clm_data.h"
#include "train/task_clm.h"
#include "train/dist.h"

typedef struct {
    lmt_cli_train c;
    const char *text_column;
    int64_t block_size, map_batch, max_train, max_eval;
    double val_pct;
    const char *save_dtype, *max_shard_size;   /* lmt_model_set_save_options */
    bool keep_linebreaks;                      /* run_clm.py's (default true) */
    /* made by prepare */
    lmt_clm_blocks train, eval;
    lmt_clm_task *task;
    lmt_block_data td, ed;
} clm_opts;

static const char header[] =
    "usage: lmtune train --task clm (--model_name_or_path DIR | --config_name FILE) --train_file F\n"
    "                    [--validation_file F | --validation_split_percentage P] [--<TrainingArguments name> VALUE ...]\n\n"
    "Fine-tunes as transformers' Trainer does: e.g. --output_dir distilgpt2-finetuned-wikitext2\n"
    "--eval_strategy epoch --learning_rate 2e-5 --weight_decay 0.01. Text files give one example\n"
    "per line (trailing newline kept); JSON Lines (.jsonl) give the string at --text_column_name\n"
    "(default text; dotted paths and lists of strings joined by spaces). group_texts cuts block_size chunks and drops the remainder\n"
    "per map batch of --preprocessing_batch_size (1000) lines. Logs are JSON lines on stdout.\n";

int lmt_cmd_eval(int argc, char **argv) {
    /* lmtune eval = lmtune train without --train_file: evaluation only */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--train_file") || !strncmp(argv[i], "--train_file=", 13)) {
            fprintf(stderr, "lmtune: error: eval takes --validation_file, not --train_file\n");
            return 2;
        }
    lmt_cli_eval_mode = true;
    return lmt_cmd_train(argc, argv);
}

static lmt_status check_model(void *ctx, const lmt_model *m) {
    clm_opts *o = ctx;
    if (o->block_size == 0) o->block_size = m->cfg.max_positions < 1024 ? m->cfg.max_positions : 1024;
    if (o->block_size > m->cfg.max_positions)
        return lmt_cli_usage_error(&o->c, "block_size %lld exceeds the model's %lld positions", (long long)o->block_size,
                                   (long long)m->cfg.max_positions);
    return LMT_OK;
}

/* the examples of path as block_size chunks in rest; the first head_pct% of the
 * examples go to head instead (validation_split_percentage) */
static lmt_status blocks(const clm_opts *o, const lmt_tokenizer *tok, const char *path, double head_pct, lmt_clm_blocks *head,
                         lmt_clm_blocks *rest) {
    char **lines;
    size_t *lens, n;
    LMT_TRY(lmt_examples_load_lb(path, o->text_column, o->keep_linebreaks, &lines, &lens, &n));
    /* run_clm.py without a validation file: validation = train[:pct%], train = train[pct%:] */
    size_t n_head = head_pct > 0 ? (size_t)lmt_split_percent_boundary((int64_t)head_pct, (int64_t)n) : 0;
    int bs = (int)o->block_size, mb = (int)o->map_batch;
    lmt_status s = lmt_clm_prepare_examples(tok, lines + n_head, lens + n_head, n - n_head, path, bs, mb, rest);
    if (s == LMT_OK && n_head) s = lmt_clm_prepare_examples(tok, lines, lens, n_head, path, bs, mb, head);
    lmt_text_lines_free(lines, lens, n);
    return s;
}

static lmt_status prepare(void *ctx, lmt_model *m, const lmt_tokenizer *tok, const lmt_training_args *args, lmt_finetune_data *out) {
    clm_opts *o = ctx;
    bool train = o->c.train_file != NULL;
    LMT_TRY(lmt_model_set_save_options(m, o->save_dtype, o->max_shard_size));
    if (train) LMT_TRY(blocks(o, tok, o->c.train_file, o->c.eval_file ? 0 : o->val_pct, &o->eval, &o->train));
    if (o->c.eval_file) LMT_TRY(blocks(o, tok, o->c.eval_file, 0, NULL, &o->eval));
    if (o->max_train > 0 && o->train.n_blocks > o->max_train) o->train.n_blocks = o->max_train;
    if (o->max_eval > 0 && o->eval.n_blocks > o->max_eval) o->eval.n_blocks = o->max_eval;
    if (lmt_dist_rank() == 0)   /* once, not once per rank under mpirun */
        fprintf(stderr, "lmtune: %s (%zu parameters); train %lld blocks of %lld, eval %lld blocks\n", lmt_arch_class_name(m->cfg.arch),
                lmt_model_num_params(m), (long long)o->train.n_blocks, (long long)o->block_size, (long long)o->eval.n_blocks);
    int B = lmt_finetune_max_batch(args), T = (int)o->block_size;
    LMT_TRY(train ? lmt_clm_task_create(m, B, T, &o->task) : lmt_clm_task_create_eval(m, B, T, &o->task));   // eval: no gradients
    lmt_block_data_init(&o->td, o->train.ids, o->train.n_blocks, T);
    lmt_block_data_init(&o->ed, o->eval.ids, o->eval.n_blocks, T);
    out->model = &o->task->base;
    out->train = train ? &o->td.base : NULL;
    out->eval = &o->ed.base;
    return LMT_OK;
}

static void release(void *ctx) {
    clm_opts *o = ctx;
    lmt_clm_task_free(o->task);
    lmt_clm_blocks_free(&o->train);
    lmt_clm_blocks_free(&o->eval);
}

int lmt_cmd_train(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *t = !strcmp(argv[i], "--task") && i + 1 < argc ? argv[i + 1] : !strncmp(argv[i], "--task=", 7) ? argv[i] + 7 : "";
        if (!strcmp(t, "mlm")) return lmt_cmd_train_mlm(argc, argv);
        if (!strcmp(t, "translation")) return lmt_cmd_train_translation(argc, argv);
        if (!strcmp(t, "sft")) return lmt_cmd_train_sft(argc, argv);
    }
    clm_opts o = {.map_batch = 1000, .max_train = -1, .max_eval = -1, .val_pct = 5, .keep_linebreaks = true};   /* run_clm.py's 5% */
    const lmt_flag flags[] = {
        LMT_CLI_TRAIN_FLAGS(o.c),
        {"text_column_name", LMT_FLAG_STRING, &o.text_column, LMT_FLAG_ANY, NULL, "JSON Lines: the text field (default text)", NULL},
        {"block_size", LMT_FLAG_INT, &o.block_size, 1, INFINITY, 0, NULL, "tokens per chunk (default: the model's positions, at most 1024)", NULL},
        {"validation_split_percentage", LMT_FLAG_FLOAT, &o.val_pct, 0, 100, LMT_FLAG_HI_OPEN, NULL,
         "without --validation_file: validation = the first P% of the training lines (default 5, as run_clm.py)", NULL},
        {"keep_linebreaks", LMT_FLAG_BOOL, &o.keep_linebreaks, LMT_FLAG_ANY, NULL,
         "text files: keep each line's \"\\n\" (default true; false: dropped, as datasets' text loader by default)", NULL},
        {"preprocessing_batch_size", LMT_FLAG_INT, &o.map_batch, LMT_FLAG_MIN(1), NULL, "lines per group_texts batch", NULL},
        {"max_train_samples", LMT_FLAG_INT, &o.max_train, LMT_FLAG_MIN(1), NULL, "keep the first N training chunks", NULL},
        {"max_eval_samples", LMT_FLAG_INT, &o.max_eval, LMT_FLAG_MIN(1), NULL, "keep the first N evaluation chunks", NULL},
        {"save_dtype", LMT_FLAG_STRING, &o.save_dtype, LMT_FLAG_ANY, NULL,
         "auto|float32|bfloat16|float16: the saved weights' dtype (default auto: the checkpoint's own)", NULL},
        {"max_shard_size", LMT_FLAG_STRING, &o.max_shard_size, LMT_FLAG_ANY, NULL,
         "save_pretrained's max_shard_size (e.g. 500MB; default 50GB): larger models are saved as shards + index", NULL},
    };
    int rc = lmt_cli_train_parse(argc, argv, &o.c, flags, sizeof flags / sizeof flags[0], header);
    if (rc) return rc < 0 ? 0 : rc;
    if (!o.c.train_file && !o.c.eval_file) { fprintf(stderr, "lmtune: error: --train_file and/or --validation_file is required\n"); return 2; }
    if (!o.c.train_file) o.c.args.do_train = false; else if (!o.c.args.do_eval) o.c.args.do_train = true;
    if ((rc = lmt_cli_need_eval_source(&o.c, o.c.eval_file || o.val_pct > 0, "--validation_file"))) return rc;
    const char *files[] = {o.c.train_file, o.c.eval_file, o.c.config};
    if ((rc = lmt_cli_files_exist(files, 3))) return rc;
    lmt_finetune_task task = {.ctx = &o, .check_model = check_model, .prepare = prepare, .release = release};
    return lmt_cli_train_run(&o.c, task, true, false, lmt_cli_print_perplexity);
}
