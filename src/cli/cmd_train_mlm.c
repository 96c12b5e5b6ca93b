/* lmtune train --task mlm: run_mlm.py and the course's MLM notebooks (IMDb
 * domain adaptation, ELI5): tokenize with word_ids, group_texts into
 * chunks (or --line_by_line), optional train_test_split downsampling, the
 * masking collator (15% tokens or whole words), the Trainer, perplexity. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/commands.h"
#include "cli/train_common.h"
#include "train/trainer_state.h"
#include "cli/flags.h"
#include "core/error.h"
#include "core/util.h"
#include "data/dataset.h"
#include "data/mlm_collator.h"
#include "lmtune/tokenizer.h"
#include "models/model.h"
#include "train/clm_data.h"
#include "train/task_mlm.h"

typedef struct {
    const char *model_dir, *config, *tok_dir, *train_file, *eval_file, *text_column;
    int max_seq_length, map_batch;
    bool line_by_line, whole_word, pad_to_max, keep_short;
    double mlm_probability, wwm_probability;
    int64_t train_size, test_size, eval_mask_seed;
    double val_pct;
} mlm_opts;

static void usage(FILE *f) {
    fprintf(f,
            "usage: lmtune train --task mlm (--model_name_or_path DIR | --config_name FILE --tokenizer_name DIR)\n"
            "                    --train_file F [--validation_file F | --validation_split_percentage P |\n"
            "                    --train_size N --test_size M] [--text_column_name C] [--max_seq_length 128]\n"
            "                    [--line_by_line] [--pad_to_max_length] [--mlm_probability 0.15]\n"
            "                    [--whole_word_mask] [--wwm_probability 0.2] [--eval_mask_seed S] [--keep_short_block]\n"
            "                    [--<TrainingArguments name> VALUE ...]\n\n"
            "Chunks of --max_seq_length tokens (group_texts, remainder dropped per 1000 examples) unless\n"
            "--line_by_line. --train_size/--test_size downsample the chunks with train_test_split(seed).\n"
            "--eval_mask_seed masks the evaluation set once, so perplexity is repeatable. ELI5: --text_column_name\n"
            "answers.text joins the answers with spaces; --keep_short_block keeps a batch shorter than one block.\n");
}

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
    if (s == LMT_OK && out->n_rows == 0) { lmt_ds_free(out); return lmt_fail(LMT_ERR_ARG, "%s: no chunk of %d tokens (empty dataset)", path, o->max_seq_length); }
    return s;
}

int lmt_cmd_train_mlm(int argc, char **argv) {
    mlm_opts o = {0};
    o.max_seq_length = 128;
    o.map_batch = 1000;
    o.mlm_probability = 0.15;
    o.wwm_probability = 0.2;
    o.train_size = o.test_size = o.eval_mask_seed = -1;
    lmt_training_args args;
    lmt_training_args_default(&args);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(stdout); return 0; }
        char name[128];
        const char *val;
        if (lmt_cli_flag(argc, argv, &i, name, sizeof name, &val)) return 2;
        bool on = !strcmp(val, "true") || !strcmp(val, "1");
        if (!strcmp(name, "task")) continue;
        else if (!strcmp(name, "model_name_or_path") || !strcmp(name, "model")) o.model_dir = val;
        else if (!strcmp(name, "config_name")) o.config = val;
        else if (!strcmp(name, "tokenizer_name") || !strcmp(name, "tokenizer")) o.tok_dir = val;
        else if (!strcmp(name, "train_file")) o.train_file = val;
        else if (!strcmp(name, "validation_file")) o.eval_file = val;
        else if (!strcmp(name, "text_column_name")) o.text_column = val;
        else if (!strcmp(name, "max_seq_length") || !strcmp(name, "chunk_size") || !strcmp(name, "block_size")) o.max_seq_length = atoi(val);
        else if (!strcmp(name, "preprocessing_batch_size")) o.map_batch = atoi(val);
        else if (!strcmp(name, "line_by_line")) o.line_by_line = on;
        else if (!strcmp(name, "keep_short_block")) o.keep_short = on;
        else if (!strcmp(name, "pad_to_max_length")) o.pad_to_max = on;
        else if (!strcmp(name, "whole_word_mask")) o.whole_word = on;
        else if (!strcmp(name, "mlm_probability")) o.mlm_probability = atof(val);
        else if (!strcmp(name, "wwm_probability")) o.wwm_probability = atof(val);
        else if (!strcmp(name, "train_size")) o.train_size = atoll(val);
        else if (!strcmp(name, "test_size")) o.test_size = atoll(val);
        else if (!strcmp(name, "eval_mask_seed")) o.eval_mask_seed = atoll(val);
        else if (!strcmp(name, "validation_split_percentage")) o.val_pct = atof(val);
        else if (!strcmp(name, "args_json") || !strcmp(name, "config")) { if (lmt_training_args_load_json(&args, val) != LMT_OK) return lmt_cli_fail(NULL); }
        else if (lmt_training_args_set(&args, name, val, "command line") != LMT_OK) return lmt_cli_fail(NULL);
    }
    if ((!o.model_dir) == (!o.config) || !o.train_file) { usage(stderr); return 2; }
    if (!(o.mlm_probability > 0 && o.mlm_probability < 1) || !(o.wwm_probability > 0 && o.wwm_probability < 1)) {
        fprintf(stderr, "lmtune: error: mlm_probability and wwm_probability must lie in (0, 1)\n");
        return 2;
    }
    if (o.max_seq_length < 2) { fprintf(stderr, "lmtune: error: --max_seq_length must be at least 2\n"); return 2; }
    if (!o.tok_dir) o.tok_dir = o.model_dir;
    if (!o.tok_dir) { fprintf(stderr, "lmtune: error: --config_name needs --tokenizer_name\n"); return 2; }
    if (lmt_training_args_validate(&args) != LMT_OK) return lmt_cli_fail("training arguments");
    if (lmt_training_args_precision_note(&args)) fprintf(stderr, "lmtune: note: %s\n", lmt_training_args_precision_note(&args));
    bool have_eval_source = o.eval_file || o.test_size > 0 || o.val_pct > 0;
    if (args.eval_strategy != LMT_STRATEGY_NO && !have_eval_source) {
        fprintf(stderr, "lmtune: error: eval_strategy needs --validation_file, --test_size or --validation_split_percentage\n");
        return 2;
    }
    if (!lmt_file_exists(o.train_file)) { fprintf(stderr, "lmtune: error: %s: no such file\n", o.train_file); return 1; }

    lmt_model *m = NULL;
    lmt_tokenizer *tok = NULL;
    lmt_dataset chunks, train, eval, eval_masked;
    lmt_ds_init(&chunks); lmt_ds_init(&train); lmt_ds_init(&eval); lmt_ds_init(&eval_masked);
    lmt_mlm_task *task = NULL;
    int rc = 0;
    if (o.model_dir) { if (lmt_model_load(o.model_dir, &m) != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; } }
    else {
        lmt_config cfg;
        if (lmt_config_load(o.config, &cfg) != LMT_OK || lmt_model_init(&cfg, (uint64_t)args.seed, &m) != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; }
    }
    if (m->cfg.arch != LMT_ARCH_BERT && m->cfg.arch != LMT_ARCH_ROBERTA && m->cfg.arch != LMT_ARCH_DISTILBERT) {
        fprintf(stderr, "lmtune: error: --task mlm needs a BERT, RoBERTa or DistilBERT model, not %s\n", lmt_arch_class_name(m->cfg.arch));
        rc = 2;
        goto done;
    }
    if (lmt_tokenizer_load(o.tok_dir, &tok) != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; }
    if ((size_t)m->cfg.vocab_size < lmt_tokenizer_vocab_size(tok)) {
        fprintf(stderr, "lmtune: error: the tokenizer in %s has %zu tokens but the model's vocabulary holds %lld\n", o.tok_dir,
                lmt_tokenizer_vocab_size(tok), (long long)m->cfg.vocab_size);
        rc = 1;
        goto done;
    }
    if (lmt_tokenizer_special_ids(tok).mask < 0) { fprintf(stderr, "lmtune: error: %s: the tokenizer has no mask token\n", o.tok_dir); rc = 1; goto done; }
    int64_t max_pos = m->cfg.max_positions - (m->cfg.arch == LMT_ARCH_ROBERTA ? m->cfg.pad_token_id + 1 : 0);
    if (o.max_seq_length > max_pos) {
        fprintf(stderr, "lmtune: error: --max_seq_length %d exceeds the model's %lld positions\n", o.max_seq_length, (long long)max_pos);
        rc = 2;
        goto done;
    }
    if (build(tok, o.train_file, o.text_column, &o, &chunks) != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; }
    fprintf(stderr, "lmtune: %s: %lld %s of %d tokens\n", o.train_file, (long long)chunks.n_rows, o.line_by_line ? "lines" : "chunks", o.max_seq_length);
    if (o.train_size > 0 || o.test_size > 0) {
        /* the IMDb notebook: train_test_split(train_size=10_000, test_size=1_000, seed=42) */
        lmt_split_size ts = o.test_size > 0 ? lmt_size_count(o.test_size) : lmt_size_none();
        lmt_split_size tr = o.train_size > 0 ? lmt_size_count(o.train_size) : lmt_size_none();
        if (lmt_ds_train_test_split(&chunks, ts, tr, (uint64_t)args.seed, &train, &eval) != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; }
    } else if (o.eval_file) {
        train = chunks;
        lmt_ds_init(&chunks);
        if (build(tok, o.eval_file, o.text_column, &o, &eval) != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; }
    } else if (o.val_pct > 0) {
        int64_t b = lmt_split_percent_boundary((int64_t)o.val_pct, chunks.n_rows);
        int64_t *idx = malloc((size_t)chunks.n_rows * sizeof *idx);
        for (int64_t i = 0; i < chunks.n_rows; i++) idx[i] = i;
        lmt_status s = lmt_ds_select(&chunks, idx, b, &eval);
        if (s == LMT_OK) s = lmt_ds_select(&chunks, idx + b, chunks.n_rows - b, &train);
        free(idx);
        if (s != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; }
    } else {
        train = chunks;
        lmt_ds_init(&chunks);
    }
    lmt_mlm_opts mo = lmt_mlm_opts_default();
    mo.mode = o.whole_word ? LMT_MLM_WHOLE_WORD : LMT_MLM_TOKENS;
    mo.mlm_probability = o.mlm_probability;
    mo.wwm_probability = o.wwm_probability;
    mo.seed = (uint64_t)args.seed;
    if (o.pad_to_max) mo.pad_to_multiple_of = o.max_seq_length;
    lmt_mlm_collator tc, ec;
    if (lmt_mlm_collator_init(&tc, &train, tok, &mo) != LMT_OK) { rc = lmt_cli_fail("collator"); goto done; }
    const lmt_dataset *eval_ds = &eval;
    lmt_mlm_opts eo = mo;
    eo.seed = (uint64_t)args.seed + 1;
    if (eval.n_rows > 0 && o.eval_mask_seed >= 0) {
        /* the custom-loop variant: the evaluation set is masked once */
        eo.seed = (uint64_t)o.eval_mask_seed;
        if (lmt_mlm_mask_dataset(&eval, tok, &eo, &eval_masked) != LMT_OK) { rc = lmt_cli_fail("masking the evaluation set"); goto done; }
        eo.mode = LMT_MLM_PREMASKED;
        eval_ds = &eval_masked;
    }
    if (eval.n_rows > 0 && lmt_mlm_collator_init(&ec, eval_ds, tok, &eo) != LMT_OK) { rc = lmt_cli_fail("collator"); goto done; }
    lmt_train_data td = lmt_mlm_train_data(&tc), ed;
    if (eval.n_rows > 0) ed = lmt_mlm_train_data(&ec);
    fprintf(stderr, "lmtune: %s (%zu parameters); train %lld, eval %lld examples\n", lmt_arch_class_name(m->cfg.arch),
            lmt_model_num_params(m), (long long)train.n_rows, (long long)eval.n_rows);
    int max_T = o.max_seq_length;
    if (o.line_by_line && mo.pad_to_multiple_of == 0) max_T = o.max_seq_length;
    int max_B = (int)(args.per_device_train_batch_size > args.per_device_eval_batch_size ? args.per_device_train_batch_size : args.per_device_eval_batch_size);
    if (lmt_mlm_task_create(m, max_B, max_T, &task) != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; }
    lmt_trainer t;
    if (lmt_trainer_init(&t, &args, &task->base, &td, eval.n_rows > 0 ? &ed : NULL) != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; }
    t.tokenizer_dir = o.tok_dir;
    t.on_log = lmt_cli_print_log;
    t.on_progress = lmt_cli_print_progress;
    double before = NAN;
    if (eval.n_rows > 0) {
        lmt_eval_output e0;
        if (lmt_trainer_evaluate(&t, &e0) != LMT_OK) { rc = lmt_cli_fail("evaluation"); goto out; }
        before = e0.loss < 700 ? exp(e0.loss) : INFINITY;
        printf("{\"eval_loss_before\": %.10g, \"perplexity_before\": %.10g}\n", e0.loss, before);
    }
    lmt_train_output to;
    if (lmt_trainer_train(&t, &to) != LMT_OK) { rc = lmt_cli_fail("training"); goto out; }
    if (lmt_model_save(m, args.output_dir) != LMT_OK) { rc = lmt_cli_fail(NULL); goto out; }
    {   /* as run_mlm.py: trainer.save_model (+ tokenizer), save_state, save_metrics("train") */
        char *sp = lmt_path_join(args.output_dir, "trainer_state.json");
        lmt_status ss = sp ? lmt_trainer_state_save(&t.state, sp) : LMT_ERR_NOMEM;
        free(sp);
        if (ss != LMT_OK || lmt_copy_tokenizer_files(o.tok_dir, args.output_dir) != LMT_OK) { rc = lmt_cli_fail(NULL); goto out; }
        const char *k[] = {"epoch", "total_flos", "train_loss", "train_runtime", "train_samples", "train_samples_per_second", "train_steps_per_second"};
        double v[] = {to.epoch, to.total_flos, to.training_loss, to.train_runtime, (double)train.n_rows, to.train_samples_per_second, to.train_steps_per_second};
        if (lmt_cli_write_results(args.output_dir, "train_results.json", k, v, 7) != LMT_OK) { rc = lmt_cli_fail(NULL); goto out; }
    }
    if (eval.n_rows > 0) {
        lmt_eval_output e;
        if (lmt_trainer_evaluate(&t, &e) != LMT_OK) { rc = lmt_cli_fail("evaluation"); goto out; }
        double ppl = e.loss < 700 ? exp(e.loss) : INFINITY;
        printf("{\"eval_loss\": %.10g, \"perplexity\": %.10g, \"eval_runtime\": %.4f, \"eval_samples_per_second\": %.3f}\n", e.loss, ppl,
               e.runtime, e.samples_per_second);
        fprintf(stderr, "lmtune: perplexity %.2f before training, %.2f after\n", before, ppl);
        const char *k[] = {"epoch", "eval_loss", "eval_runtime", "eval_samples", "eval_samples_per_second", "eval_steps_per_second", "perplexity"};
        double v[] = {t.state.epoch, e.loss, e.runtime, (double)eval.n_rows, e.samples_per_second, e.steps_per_second, ppl};
        if (lmt_cli_write_results(args.output_dir, "eval_results.json", k, v, 7) != LMT_OK) { rc = lmt_cli_fail(NULL); goto out; }
    }
    fprintf(stderr, "lmtune: saved the model and tokenizer to %s\n", args.output_dir);
out:
    lmt_trainer_free(&t);
done:
    lmt_mlm_task_free(task);
    lmt_ds_free(&chunks); lmt_ds_free(&train); lmt_ds_free(&eval); lmt_ds_free(&eval_masked);
    lmt_tokenizer_free(tok);
    lmt_model_free(m);
    return rc;
}
