/* lmtune train --task clm: run_clm.py / the course notebook in one command.
 * Model from --model_name_or_path (an HF folder) or --config_name (a
 * config.json, fresh weights); every TrainingArguments name is accepted as
 * --name value. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/commands.h"
#include "cli/train_common.h"
#include "cli/flags.h"
#include "core/json.h"
#include "core/util.h"
#include "data/dataset.h"
#include "lmtune/tokenizer.h"
#include "models/model.h"
#include "train/clm_data.h"
#include "train/task_clm.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: lmtune train --task clm (--model_name_or_path DIR | --config_name FILE) --train_file F\n"
            "                    [--validation_file F | --validation_split_percentage P] [--text_column_name C]\n"
            "                    [--tokenizer_name DIR] [--block_size N]\n"
            "                    [--preprocessing_batch_size N] [--max_train_samples N] [--max_eval_samples N]\n"
            "                    [--args_json FILE] [--<TrainingArguments name> VALUE ...]\n\n"
            "Fine-tunes as transformers' Trainer does: e.g. --output_dir distilgpt2-finetuned-wikitext2\n"
            "--eval_strategy epoch --learning_rate 2e-5 --weight_decay 0.01. Text files give one example\n"
            "per line (trailing newline kept); JSON Lines (.jsonl) give the string at --text_column_name\n"
            "(default text; dotted paths and lists of strings joined by spaces). group_texts cuts block_size chunks and drops the remainder\n"
            "per map batch of --preprocessing_batch_size (1000) lines. Logs are JSON lines on stdout.\n");
}

int lmt_cmd_eval(int argc, char **argv) {
    /* lmtune eval = lmtune train without --train_file: evaluation only */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--train_file")) { fprintf(stderr, "lmtune: error: eval takes --validation_file, not --train_file\n"); return 2; }
    return lmt_cmd_train(argc, argv);
}

int lmt_cmd_train(int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--task") && !strcmp(argv[i + 1], "mlm")) return lmt_cmd_train_mlm(argc, argv);
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--task=mlm")) return lmt_cmd_train_mlm(argc, argv);
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--task") && !strcmp(argv[i + 1], "translation")) return lmt_cmd_train_translation(argc, argv);
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--task=translation")) return lmt_cmd_train_translation(argc, argv);
    const char *task = "clm", *model_dir = NULL, *config = NULL, *tok_dir = NULL, *train_file = NULL, *eval_file = NULL;
    const char *text_column = NULL;
    int block_size = 0, map_batch = 1000;
    double val_pct = 0;
    int64_t max_train = -1, max_eval = -1;
    lmt_training_args args;
    lmt_training_args_default(&args);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(stdout); return 0; }
        char name[128];
        const char *val;
        if (lmt_cli_flag(argc, argv, &i, name, sizeof name, &val)) return 2;
        if (!strcmp(name, "task")) task = val;
        else if (!strcmp(name, "model_name_or_path") || !strcmp(name, "model")) model_dir = val;
        else if (!strcmp(name, "config_name")) config = val;
        else if (!strcmp(name, "tokenizer_name") || !strcmp(name, "tokenizer")) tok_dir = val;
        else if (!strcmp(name, "train_file")) train_file = val;
        else if (!strcmp(name, "validation_file")) eval_file = val;
        else if (!strcmp(name, "block_size")) block_size = atoi(val);
        else if (!strcmp(name, "text_column_name")) text_column = val;
        else if (!strcmp(name, "validation_split_percentage")) {
            val_pct = atof(val);
            if (!(val_pct >= 0 && val_pct < 100)) { fprintf(stderr, "lmtune: error: --validation_split_percentage must lie in [0, 100)\n"); return 2; }
        }
        else if (!strcmp(name, "preprocessing_batch_size")) map_batch = atoi(val);
        else if (!strcmp(name, "max_train_samples")) max_train = atoll(val);
        else if (!strcmp(name, "max_eval_samples")) max_eval = atoll(val);
        else if (!strcmp(name, "args_json") || !strcmp(name, "config")) {
            if (lmt_training_args_load_json(&args, val) != LMT_OK) return lmt_cli_fail(NULL);
        } else if (lmt_training_args_set(&args, name, val, "command line") != LMT_OK) return lmt_cli_fail(NULL);
    }
    if (strcmp(task, "clm")) { fprintf(stderr, "lmtune: error: --task %s is not available yet (clm, mlm, translation)\n", task); return 2; }
    if ((!model_dir) == (!config)) { fprintf(stderr, "lmtune: error: give exactly one of --model_name_or_path and --config_name\n"); usage(stderr); return 2; }
    if (!train_file && !eval_file) { fprintf(stderr, "lmtune: error: --train_file and/or --validation_file is required\n"); return 2; }
    if (!tok_dir) tok_dir = model_dir;
    if (!tok_dir) { fprintf(stderr, "lmtune: error: --config_name needs --tokenizer_name\n"); return 2; }
    if (!train_file) args.do_train = false; else if (!args.do_eval) args.do_train = true;
    if (lmt_training_args_validate(&args) != LMT_OK) return lmt_cli_fail("training arguments");
    if (lmt_training_args_precision_note(&args)) fprintf(stderr, "lmtune: note: %s\n", lmt_training_args_precision_note(&args));
    /* everything that can be checked before any work is done */
    if (args.eval_strategy != LMT_STRATEGY_NO && !eval_file && val_pct <= 0) {
        fprintf(stderr, "lmtune: error: eval_strategy %s needs --validation_file\n", args.eval_strategy == LMT_STRATEGY_EPOCH ? "epoch" : "steps");
        return 2;
    }
    if (args.load_best_model_at_end && !eval_file && val_pct <= 0) { fprintf(stderr, "lmtune: error: load_best_model_at_end needs --validation_file\n"); return 2; }
    const char *files[] = {train_file, eval_file, config};
    for (int k = 0; k < 3; k++)
        if (files[k] && !lmt_file_exists(files[k])) { fprintf(stderr, "lmtune: error: %s: no such file\n", files[k]); return 1; }
    if (train_file && !args.overwrite_output_dir && !args.resume_from_checkpoint[0] && lmt_cli_dir_has_entries(args.output_dir)) {
        fprintf(stderr, "lmtune: error: %s: output directory already exists and is not empty; use --overwrite_output_dir "
                        "or --resume_from_checkpoint\n", args.output_dir);
        return 1;
    }
    if (train_file) {
        if (lmt_mkdirs(args.output_dir) != LMT_OK) return lmt_cli_fail("output_dir");
        char *probe = lmt_path_join(args.output_dir, ".lmtune-write-test");
        if (!probe || lmt_write_file_atomic(probe, "", 0) != LMT_OK) { free(probe); return lmt_cli_fail("output_dir is not writable"); }
        unlink(probe);
        free(probe);
    }

    lmt_model *m = NULL;
    if (model_dir) { if (lmt_model_load(model_dir, &m) != LMT_OK) return lmt_cli_fail(NULL); }
    else {
        lmt_config cfg;
        if (lmt_config_load(config, &cfg) != LMT_OK || lmt_model_init(&cfg, (uint64_t)args.seed, &m) != LMT_OK) return lmt_cli_fail(NULL);
    }
    lmt_tokenizer *tok = NULL;
    if (lmt_tokenizer_load(tok_dir, &tok) != LMT_OK) { lmt_model_free(m); return lmt_cli_fail(NULL); }
    lmt_clm_blocks train = {0}, eval = {0};
    int rc = 0;
    if ((size_t)m->cfg.vocab_size < lmt_tokenizer_vocab_size(tok)) {
        fprintf(stderr, "lmtune: error: the tokenizer in %s has %zu tokens but the model's vocabulary holds %lld\n", tok_dir,
                lmt_tokenizer_vocab_size(tok), (long long)m->cfg.vocab_size);
        rc = 1;
        goto done;
    }
    if (block_size <= 0) block_size = m->cfg.max_positions < 1024 ? (int)m->cfg.max_positions : 1024;
    if (block_size > m->cfg.max_positions) {
        fprintf(stderr, "lmtune: error: block_size %d exceeds the model's %lld positions\n", block_size, (long long)m->cfg.max_positions);
        rc = 2;
        goto done;
    }
    if (train_file) {
        char **lines;
        size_t *lens, n;
        if (lmt_examples_load(train_file, text_column, &lines, &lens, &n) != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; }
        /* run_clm.py without a validation file: validation = train[:pct%], train = train[pct%:] */
        size_t n_val = (!eval_file && val_pct > 0) ? (size_t)lmt_split_percent_boundary((int64_t)val_pct, (int64_t)n) : 0;
        lmt_status ps = lmt_clm_prepare_examples(tok, lines + n_val, lens + n_val, n - n_val, train_file, block_size, map_batch, &train);
        if (ps == LMT_OK && n_val)
            ps = lmt_clm_prepare_examples(tok, lines, lens, n_val, train_file, block_size, map_batch, &eval);
        lmt_text_lines_free(lines, lens, n);
        if (ps != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; }
    }
    if (eval_file) {
        char **lines;
        size_t *lens, n;
        if (lmt_examples_load(eval_file, text_column, &lines, &lens, &n) != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; }
        lmt_status ps = lmt_clm_prepare_examples(tok, lines, lens, n, eval_file, block_size, map_batch, &eval);
        lmt_text_lines_free(lines, lens, n);
        if (ps != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; }
    }
    bool have_eval = eval.n_blocks > 0;
    if (max_train > 0 && train.n_blocks > max_train) train.n_blocks = max_train;
    if (max_eval > 0 && eval.n_blocks > max_eval) eval.n_blocks = max_eval;
    fprintf(stderr, "lmtune: %s (%zu parameters); train %lld blocks of %d, eval %lld blocks\n", lmt_arch_class_name(m->cfg.arch),
            lmt_model_num_params(m), (long long)train.n_blocks, block_size, (long long)eval.n_blocks);

    int max_B = (int)(args.per_device_train_batch_size > args.per_device_eval_batch_size ? args.per_device_train_batch_size : args.per_device_eval_batch_size);
    lmt_clm_task *ctask = NULL;
    lmt_status cs = train_file ? lmt_clm_task_create(m, max_B, block_size, &ctask)
                               : lmt_clm_task_create_eval(m, max_B, block_size, &ctask);   // no gradient buffers
    if (cs != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; }
    lmt_block_data td, ed;
    lmt_block_data_init(&td, train.ids, train.n_blocks, block_size);
    lmt_block_data_init(&ed, eval.ids, eval.n_blocks, block_size);
    lmt_trainer t;
    if (lmt_trainer_init(&t, &args, &ctask->base, train_file ? &td.base : NULL, have_eval ? &ed.base : NULL) != LMT_OK) {
        lmt_clm_task_free(ctask);
        rc = lmt_cli_fail(NULL);
        goto done;
    }
    t.tokenizer_dir = tok_dir;
    t.on_log = lmt_cli_print_log;
    t.on_progress = lmt_cli_print_progress;
    double ppl_before = NAN;
    if (train_file && have_eval) {
        /* the notebook's "perplexity before fine-tuning" */
        lmt_eval_output e0;
        if (lmt_trainer_evaluate(&t, &e0) != LMT_OK) { rc = lmt_cli_fail("evaluation"); goto out; }
        ppl_before = e0.loss < 700 ? exp(e0.loss) : INFINITY;
        printf("{\"eval_loss_before\": %.10g, \"perplexity_before\": %.10g}\n", e0.loss, ppl_before);
    }
    if (train_file) {
        lmt_train_output o;
        if (lmt_trainer_train(&t, &o) != LMT_OK) { rc = lmt_cli_fail("training"); goto out; }
        if (lmt_model_save(m, args.output_dir) != LMT_OK) { rc = lmt_cli_fail(NULL); goto out; }
        char *sp = lmt_path_join(args.output_dir, "trainer_state.json");
        if (!sp || lmt_trainer_state_save(&t.state, sp) != LMT_OK) { free(sp); rc = lmt_cli_fail(NULL); goto out; }
        free(sp);
        const char *k[] = {"epoch", "total_flos", "train_loss", "train_runtime", "train_samples", "train_samples_per_second", "train_steps_per_second"};
        double v[] = {o.epoch, o.total_flos, o.training_loss, o.train_runtime, (double)train.n_blocks, o.train_samples_per_second, o.train_steps_per_second};
        lmt_cli_write_results(args.output_dir, "train_results.json", k, v, 7);
    }
    if (have_eval) {
        lmt_eval_output e;
        if (lmt_trainer_evaluate(&t, &e) != LMT_OK) { rc = lmt_cli_fail("evaluation"); goto out; }
        /* run_clm.py: perplexity = exp(eval_loss) */
        double ppl = e.loss < 700 ? exp(e.loss) : INFINITY;
        if (!isnan(ppl_before)) fprintf(stderr, "lmtune: perplexity %.2f before training, %.2f after\n", ppl_before, ppl);
        const char *k[] = {"epoch", "eval_loss", "eval_runtime", "eval_samples", "eval_samples_per_second", "eval_steps_per_second", "perplexity"};
        double v[] = {t.state.epoch, e.loss, e.runtime, (double)eval.n_blocks, e.samples_per_second, e.steps_per_second, ppl};
        printf("{\"eval_loss\": %.10g, \"perplexity\": %.10g, \"eval_runtime\": %.4f, \"eval_samples_per_second\": %.3f}\n", e.loss, ppl, e.runtime, e.samples_per_second);
        if (lmt_mkdirs(args.output_dir) == LMT_OK) lmt_cli_write_results(args.output_dir, "eval_results.json", k, v, 7);
    }
    if (train_file) {
        /* the tokenizer goes with the model, as trainer.save_model does */
        if (lmt_copy_tokenizer_files(tok_dir, args.output_dir) != LMT_OK) { rc = lmt_cli_fail(NULL); goto out; }
        fprintf(stderr, "lmtune: saved the model and tokenizer to %s\n", args.output_dir);
    }
out:
    lmt_trainer_free(&t);
    lmt_clm_task_free(ctask);
done:
    lmt_clm_blocks_free(&train);
    lmt_clm_blocks_free(&eval);
    lmt_tokenizer_free(tok);
    lmt_model_free(m);
    return rc;
}
