/* lmtune train --task mlm: run_mlm.py and the course's MLM notebooks (IMDb
 * domain adaptation, ELI5): tokenize with word_ids, group_texts into
 * chunks (or --line_by_line), optional train_test_split downsampling, the
 * masking collator (15% tokens or whole words), the Trainer, perplexity.
 * The run is train/finetune.c's; this file holds the flags and the MLM data
 * preparation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "cli/train_common.h"
#include "core/error.h"
#include "data/dataset.h"
#include "data/mlm_collator.h"
#include "lmtune/tokenizer.h"
#include "models/model.h"
#include "train/clm_data.h"
#include "train/task_mlm.h"
#include "train/dist.h"

typedef struct {
    lmt_cli_train c;
    const char *text_column;
    int64_t max_seq_length, map_batch, eval_mask_seed;
    bool line_by_line, whole_word, pad_to_max, keep_short;
    double mlm_probability, wwm_probability, train_size, test_size, val_pct;
    /* made by prepare */
    lmt_dataset chunks, train, eval, eval_masked;
    lmt_mlm_collator tc, ec;
    lmt_train_data td, ed;
    lmt_mlm_task *task;
} mlm_opts;

static const char header[] =
    "usage: lmtune train --task mlm (--model_name_or_path DIR | --config_name FILE --tokenizer_name DIR)\n"
    "                    --train_file F [--validation_file F | --validation_split_percentage P |\n"
    "                    --train_size N --test_size M] [--<TrainingArguments name> VALUE ...]\n\n"
    "Chunks of --max_seq_length tokens (group_texts, remainder dropped per 1000 examples) unless\n"
    "--line_by_line. --train_size/--test_size downsample the chunks with train_test_split(seed).\n"
    "--eval_mask_seed masks the evaluation set once, so perplexity is repeatable. ELI5: --text_column_name\n"
    "answers.text joins the answers with spaces; --keep_short_block keeps a batch shorter than one block.\n";

/* Tokenized examples -> dataset with input_ids, special_tokens_mask, word_ids;
 * grouped into chunks unless line_by_line. */
static lmt_status build(const lmt_tokenizer *tok, const char *path, const char *column, const mlm_opts *o, lmt_dataset *out) {
    char **lines;
    size_t *lens, n;
    LMT_TRY(lmt_examples_load(path, column, &lines, &lens, &n));
    lmt_encoding *enc = calloc(n, sizeof *enc);
    lmt_encode_opts eo = lmt_encode_opts_default();
    if (o->line_by_line) { eo.truncation = LMT_TRUNCATE_LONGEST_FIRST; eo.max_length = o->max_seq_length; }
    lmt_status s = enc ? lmt_tokenizer_encode_batch(tok, (const char *const *)lines, lens, NULL, NULL, n, &eo, enc)
                       : lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_dataset ds;
    lmt_ds_init(&ds);
    if (s == LMT_OK) {
        lmt_ds_column *ids = lmt_col_new("input_ids", LMT_DS_INTS), *sm = lmt_col_new("special_tokens_mask", LMT_DS_INTS),
                      *wi = lmt_col_new("word_ids", LMT_DS_INTS);
        for (size_t i = 0; i < n; i++) {
            /* run_mlm.py --line_by_line skips empty lines */
            if (o->line_by_line && lens[i] == 0) continue;
            lmt_col_push_ints(ids, enc[i].ids, enc[i].n);
            lmt_col_push_ints(sm, enc[i].special_tokens_mask, enc[i].n);
            lmt_col_push_ints(wi, enc[i].word_ids, enc[i].n);
        }
        s = lmt_ds_add_column(&ds, ids);
        if (s == LMT_OK) s = lmt_ds_add_column(&ds, sm);
        if (s == LMT_OK) s = lmt_ds_add_column(&ds, wi);
    }
    for (size_t i = 0; enc && i < n; i++) lmt_encoding_free(&enc[i]);
    free(enc);
    lmt_text_lines_free(lines, lens, n);
    if (s != LMT_OK) { lmt_ds_free(&ds); return s; }
    if (o->line_by_line) { *out = ds; return LMT_OK; }
    lmt_group_opts go = lmt_group_opts_default(o->max_seq_length);
    go.batch_size = o->map_batch;
    go.keep_short = o->keep_short;   /* the ELI5 notebook keeps a batch shorter than one block */
    s = lmt_ds_group_texts(&ds, &go, out);
    lmt_ds_free(&ds);
    if (s == LMT_OK && out->n_rows == 0) { lmt_ds_free(out); return lmt_fail(LMT_ERR_ARG, "%s: no chunk of %lld tokens (empty dataset)", path, (long long)o->max_seq_length); }
    return s;
}

static lmt_status check_model(void *ctx, const lmt_model *m) {
    mlm_opts *o = ctx;
    if (m->cfg.arch != LMT_ARCH_BERT && m->cfg.arch != LMT_ARCH_ROBERTA && m->cfg.arch != LMT_ARCH_DISTILBERT)
        return lmt_cli_usage_error(&o->c, "--task mlm needs a BERT, RoBERTa or DistilBERT model, not %s", lmt_arch_class_name(m->cfg.arch));
    return LMT_OK;
}

/* train / eval from the chunks: train_test_split, a validation file, or validation_split_percentage */
static lmt_status split(mlm_opts *o, const lmt_tokenizer *tok, uint64_t seed) {
    if (o->train_size > 0 || o->test_size > 0)   /* the IMDb notebook: train_test_split(train_size=10_000, test_size=1_000, seed=42) */
        return lmt_ds_train_test_split(&o->chunks, lmt_size_auto(o->test_size), lmt_size_auto(o->train_size), seed, &o->train, &o->eval);
    if (o->val_pct > 0 && !o->c.eval_file) {
        int64_t b = lmt_split_percent_boundary((int64_t)o->val_pct, o->chunks.n_rows);
        LMT_TRY(lmt_ds_select_range(&o->chunks, 0, b, &o->eval));
        return lmt_ds_select_range(&o->chunks, b, o->chunks.n_rows - b, &o->train);
    }
    o->train = o->chunks;
    lmt_ds_init(&o->chunks);
    return o->c.eval_file ? build(tok, o->c.eval_file, o->text_column, o, &o->eval) : LMT_OK;
}

static lmt_status prepare(void *ctx, lmt_model *m, const lmt_tokenizer *tok, const lmt_training_args *args, lmt_finetune_data *out) {
    mlm_opts *o = ctx;
    if (lmt_tokenizer_special_ids(tok).mask < 0) return lmt_fail(LMT_ERR_ARG, "%s: the tokenizer has no mask token", o->c.tok_dir);
    int64_t max_pos = m->cfg.max_positions - (m->cfg.arch == LMT_ARCH_ROBERTA ? m->cfg.pad_token_id + 1 : 0);
    if (o->max_seq_length > max_pos)
        return lmt_cli_usage_error(&o->c, "--max_seq_length %lld exceeds the model's %lld positions", (long long)o->max_seq_length,
                                   (long long)max_pos);
    if (o->c.train_file) {
        LMT_TRY(build(tok, o->c.train_file, o->text_column, o, &o->chunks));
        fprintf(stderr, "lmtune: %s: %lld %s of %lld tokens\n", o->c.train_file, (long long)o->chunks.n_rows,
                o->line_by_line ? "lines" : "chunks", (long long)o->max_seq_length);
        LMT_TRY(split(o, tok, (uint64_t)args->seed));
    } else {   /* lmtune eval --task mlm */
        LMT_TRY(build(tok, o->c.eval_file, o->text_column, o, &o->eval));
    }
    lmt_mlm_opts mo = lmt_mlm_opts_default();
    mo.mode = o->whole_word ? LMT_MLM_WHOLE_WORD : LMT_MLM_TOKENS;
    mo.mlm_probability = o->mlm_probability;
    mo.wwm_probability = o->wwm_probability;
    mo.seed = (uint64_t)args->seed;
    if (o->pad_to_max) mo.pad_to_multiple_of = (int)o->max_seq_length;
    lmt_status s = o->c.train_file ? lmt_mlm_collator_init(&o->tc, &o->train, tok, &mo) : LMT_OK;
    if (s != LMT_OK) return lmt_fail_wrap(s, "collator");
    const lmt_dataset *eval_ds = &o->eval;
    lmt_mlm_opts eo = mo;
    eo.seed = (uint64_t)args->seed + 1;
    if (o->eval.n_rows > 0 && o->eval_mask_seed >= 0) {
        /* the custom-loop variant: the evaluation set is masked once */
        eo.seed = (uint64_t)o->eval_mask_seed;
        if ((s = lmt_mlm_mask_dataset(&o->eval, tok, &eo, &o->eval_masked)) != LMT_OK) return lmt_fail_wrap(s, "masking the evaluation set");
        eo.mode = LMT_MLM_PREMASKED;
        eval_ds = &o->eval_masked;
    }
    if (o->eval.n_rows > 0 && (s = lmt_mlm_collator_init(&o->ec, eval_ds, tok, &eo)) != LMT_OK) return lmt_fail_wrap(s, "collator");
    if (o->c.train_file) o->td = lmt_mlm_train_data(&o->tc);
    if (o->eval.n_rows > 0) o->ed = lmt_mlm_train_data(&o->ec);
    if (lmt_dist_rank() == 0)   /* once, not once per rank under mpirun */
        fprintf(stderr, "lmtune: %s (%zu parameters); train %lld, eval %lld examples\n", lmt_arch_class_name(m->cfg.arch),
                lmt_model_num_params(m), (long long)o->train.n_rows, (long long)o->eval.n_rows);
    LMT_TRY(lmt_mlm_task_create(m, lmt_finetune_max_batch(args), (int)o->max_seq_length, &o->task));
    out->model = &o->task->base;
    out->train = o->c.train_file ? &o->td : NULL;
    out->eval = o->eval.n_rows > 0 ? &o->ed : NULL;
    return LMT_OK;
}

static void release(void *ctx) {
    mlm_opts *o = ctx;
    lmt_mlm_task_free(o->task);
    lmt_ds_free(&o->chunks); lmt_ds_free(&o->train); lmt_ds_free(&o->eval); lmt_ds_free(&o->eval_masked);
}

int lmt_cmd_train_mlm(int argc, char **argv) {
    mlm_opts o = {.max_seq_length = 128, .map_batch = 1000, .mlm_probability = 0.15, .wwm_probability = 0.2, .eval_mask_seed = -1,
                  .val_pct = 5};   /* run_mlm.py's 5% */
    lmt_ds_init(&o.chunks); lmt_ds_init(&o.train); lmt_ds_init(&o.eval); lmt_ds_init(&o.eval_masked);
    const lmt_flag flags[] = {
        LMT_CLI_TRAIN_FLAGS(o.c),
        {"text_column_name", LMT_FLAG_STRING, &o.text_column, LMT_FLAG_ANY, NULL, "JSON Lines: the text field (default text)", NULL},
        {"max_seq_length|chunk_size|block_size", LMT_FLAG_INT, &o.max_seq_length, LMT_FLAG_MIN(2), NULL, "tokens per chunk (128)", NULL},
        {"preprocessing_batch_size", LMT_FLAG_INT, &o.map_batch, LMT_FLAG_MIN(1), NULL, "examples per group_texts batch", NULL},
        {"line_by_line", LMT_FLAG_BOOL, &o.line_by_line, LMT_FLAG_ANY, NULL, "one example per line, truncated, not grouped", NULL},
        {"keep_short_block", LMT_FLAG_BOOL, &o.keep_short, LMT_FLAG_ANY, NULL, "keep a batch shorter than one block as one chunk", NULL},
        {"pad_to_max_length", LMT_FLAG_BOOL, &o.pad_to_max, LMT_FLAG_ANY, NULL, "pad every batch to --max_seq_length", NULL},
        {"whole_word_mask", LMT_FLAG_BOOL, &o.whole_word, LMT_FLAG_ANY, NULL, "mask whole words (--wwm_probability)", NULL},
        {"mlm_probability", LMT_FLAG_FLOAT, &o.mlm_probability, 0, 1, LMT_FLAG_LO_OPEN | LMT_FLAG_HI_OPEN, NULL, "share of tokens masked (0.15)", NULL},
        {"wwm_probability", LMT_FLAG_FLOAT, &o.wwm_probability, 0, 1, LMT_FLAG_LO_OPEN | LMT_FLAG_HI_OPEN, NULL, "share of words masked (0.2)", NULL},
        {"train_size", LMT_FLAG_SIZE, &o.train_size, LMT_FLAG_ANY, NULL, "train_test_split's train_size over the chunks", NULL},
        {"test_size", LMT_FLAG_SIZE, &o.test_size, LMT_FLAG_ANY, NULL, "train_test_split's test_size (the evaluation set)", NULL},
        {"eval_mask_seed", LMT_FLAG_INT, &o.eval_mask_seed, LMT_FLAG_MIN(0), NULL, "mask the evaluation set once with this seed", NULL},
        {"validation_split_percentage", LMT_FLAG_FLOAT, &o.val_pct, 0, 100, LMT_FLAG_HI_OPEN, NULL,
         "without --validation_file: validation = the first P% of the chunks (default 5, as run_mlm.py)", NULL},
    };
    int rc = lmt_cli_train_parse(argc, argv, &o.c, flags, sizeof flags / sizeof flags[0], header);
    if (rc) return rc < 0 ? 0 : rc;
    if (!o.c.train_file && !o.c.eval_file) { fprintf(stderr, "lmtune: error: --train_file and/or --validation_file is required\n"); return 2; }
    if (!o.c.train_file) o.c.args.do_train = false; else if (!o.c.args.do_eval) o.c.args.do_train = true;
    bool have_eval_source = o.c.eval_file || o.test_size > 0 || o.val_pct > 0;
    if ((rc = lmt_cli_need_eval_source(&o.c, have_eval_source, "--validation_file, --test_size or --validation_split_percentage"))) return rc;
    const char *files[] = {o.c.train_file, o.c.eval_file, o.c.config};
    if ((rc = lmt_cli_files_exist(files, 3))) return rc;
    lmt_finetune_task task = {.ctx = &o, .check_model = check_model, .prepare = prepare, .release = release};
    return lmt_cli_train_run(&o.c, task, true, false, lmt_cli_print_perplexity);
}
