/* lmtune train --task translation: run_translation.py and the course's
 * Marian / KDE4 notebook (SPEC §3) in one command: load the pairs (HF
 * translation JSON Lines or two parallel text files), optionally
 * train_test_split(train_size, seed) into train / validation, tokenize as
 * MarianTokenizer (source.spm inputs, target.spm labels, truncation),
 * DataCollatorForSeq2Seq, the Trainer on MarianMTModel, and Seq2SeqTrainer's
 * evaluation: eval_loss and, with --predict_with_generate, generation (beam
 * search) + sacreBLEU (eval_bleu) + eval_gen_len, before and after training.
 * The run is train/finetune.c's; this file holds the flags and the
 * translation data preparation. */
#include <stdio.h>
#include <string.h>
#include "cli/commands.h"
#include "cli/train_common.h"
#include "core/error.h"
#include "data/dataset.h"
#include "data/seq2seq_collator.h"
#include "data/translation_data.h"
#include "lmtune/tokenizer.h"
#include "models/model.h"
#include "train/seq2seq_metrics.h"
#include "train/task_seq2seq.h"
#include "train/dist.h"

typedef struct {
    lmt_cli_train c;
    const char *train_target_file, *eval_target_file;
    const char *source_lang, *target_lang, *source_prefix;
    int64_t max_source_length, max_target_length, val_max_target_length;   /* 0: unset */
    bool pad_to_max_length;
    int64_t num_beams;             /* 0: unset */
    double train_size, test_size;  /* fractions (< 1) or counts (>= 1); 0: unset */
    int64_t split_seed;
    int64_t max_train, max_eval;
    const char *predictions_file;  /* --eval_predictions_file: write the last evaluation's generations */
    int64_t gen_max;
    /* made by prepare / setup_trainer */
    lmt_dataset train, eval;
    lmt_seq2seq_collator tc, ec;
    lmt_train_data td, ed;
    lmt_seq2seq_task *task;
    lmt_seq2seq_metrics sm;
} tr_opts;

static const char header[] =
    "usage: lmtune train --task translation (--model_name_or_path DIR | --config_name FILE --tokenizer_name DIR)\n"
    "                    --train_file F [--train_target_file F] [--validation_file F [--validation_target_file F]]\n"
    "                    [--train_size 0.9 | --test_size N] [--split_seed 20] --source_lang en --target_lang fr\n"
    "                    [--predict_with_generate] [--generation_max_length N] [--generation_num_beams N]\n"
    "                    [--<TrainingArguments name> VALUE ...]\n\n"
    "Pairs: JSON Lines {\"translation\": {\"en\": ..., \"fr\": ...}} (HF kde4), or parallel text files (one\n"
    "sentence per line: --train_file = source side, --train_target_file = target side). Without a\n"
    "validation file, --train_size / --test_size split the training file as\n"
    "train_test_split(train_size=0.9, seed=20) does (the test split is the validation split).\n"
    "Evaluation: eval_loss; with --predict_with_generate also eval_bleu (sacreBLEU) and eval_gen_len\n"
    "from beam search (--num_beams, else --generation_num_beams, else the model's generation_config;\n"
    "max length --generation_max_length, else --val_max_target_length, else --max_target_length).\n"
    "Logs are JSON lines on stdout.\n";

static lmt_status check_model(void *ctx, const lmt_model *m) {
    tr_opts *o = ctx;
    if (m->cfg.arch != LMT_ARCH_MARIAN)
        return lmt_cli_usage_error(&o->c, "--task translation needs a MarianMTModel, not %s", lmt_arch_class_name(m->cfg.arch));
    int64_t max_pos = m->cfg.max_positions, dflt = max_pos > 0 && max_pos < 128 ? max_pos : 128;
    if (!o->max_source_length) o->max_source_length = dflt;   /* the course's 128, at most the model's positions */
    if (!o->max_target_length) o->max_target_length = dflt;
    if (!o->val_max_target_length) o->val_max_target_length = o->max_target_length;
    /* run_translation.py: max_length = generation_max_length, else val_max_target_length */
    int64_t gml = o->c.args.generation_max_length;
    o->gen_max = gml > 0 ? gml : o->val_max_target_length;
    struct { const char *flag; int64_t v; } lens[] = {{"--max_source_length", o->max_source_length}, {"--max_target_length", o->max_target_length},
                                                      {"--val_max_target_length", o->val_max_target_length},
                                                      {gml > 0 ? "--generation_max_length" : "--val_max_target_length", o->gen_max}};
    for (int k = 0; k < 4; k++)
        if (max_pos > 0 && lens[k].v > max_pos)
            return lmt_cli_usage_error(&o->c, "%s %lld is beyond the model's max_position_embeddings (%lld)", lens[k].flag, (long long)lens[k].v,
                                       (long long)max_pos);
    return LMT_OK;
}

/* max_*_samples rows of pairs, tokenized with labels up to max_target */
static lmt_status tokenize(const tr_opts *o, const lmt_tokenizer *tok, lmt_dataset *pairs, int64_t max_rows, int64_t max_target,
                           const char *path, lmt_dataset *out) {
    char sc[128], tc[128];
    snprintf(sc, sizeof sc, "translation.%s", o->source_lang);
    snprintf(tc, sizeof tc, "translation.%s", o->target_lang);
    /* run_translation.py selects max_train_samples before tokenizing */
    lmt_status s = lmt_ds_truncate(pairs, max_rows);
    if (s == LMT_OK) s = lmt_translation_tokenize(pairs, tok, sc, tc, o->max_source_length, max_target, out);
    return s == LMT_OK ? LMT_OK : lmt_fail_wrap(s, "%s", path);
}

/* the raw train and validation pairs: the files, or the course's
 * raw_datasets["train"].train_test_split(train_size=0.9, seed=20) */
static lmt_status load(const tr_opts *o, lmt_dataset *rtr, lmt_dataset *rte) {
    const char *src = o->c.train_file;
    if (src) {
        LMT_TRY(lmt_translation_load_pairs(src, o->train_target_file, o->source_lang, o->target_lang, o->source_prefix, rtr));
        if (o->train_size > 0 || o->test_size > 0) {
            lmt_dataset raw = *rtr;
            lmt_status s = lmt_ds_train_test_split(&raw, lmt_size_auto(o->test_size), lmt_size_auto(o->train_size), (uint64_t)o->split_seed, rtr, rte);
            lmt_ds_free(&raw);
            if (s != LMT_OK) return lmt_fail_wrap(s, "%s", src);
        }
    }
    if (o->c.eval_file)
        LMT_TRY(lmt_translation_load_pairs(o->c.eval_file, o->eval_target_file, o->source_lang, o->target_lang, o->source_prefix, rte));
    return LMT_OK;
}

static lmt_status prepare_data(tr_opts *o, const lmt_tokenizer *tok, int32_t pad) {
    lmt_dataset rtr, rte;
    lmt_ds_init(&rtr);
    lmt_ds_init(&rte);
    lmt_status s = load(o, &rtr, &rte);
    if (s == LMT_OK && o->c.train_file) s = tokenize(o, tok, &rtr, o->max_train, o->max_target_length, o->c.train_file, &o->train);
    if (s == LMT_OK && rte.n_rows > 0)
        s = tokenize(o, tok, &rte, o->max_eval, o->val_max_target_length, o->c.eval_file ? o->c.eval_file : o->c.train_file, &o->eval);
    lmt_ds_free(&rtr);
    lmt_ds_free(&rte);
    if (s == LMT_OK && o->pad_to_max_length && o->train.n_rows) s = lmt_translation_pad(&o->train, pad, o->max_source_length, o->max_target_length);
    if (s == LMT_OK && o->pad_to_max_length && o->eval.n_rows) s = lmt_translation_pad(&o->eval, pad, o->max_source_length, o->val_max_target_length);
    return s;
}

static lmt_status prepare(void *ctx, lmt_model *m, const lmt_tokenizer *tok, const lmt_training_args *args, lmt_finetune_data *out) {
    tr_opts *o = ctx;
    int32_t pad = lmt_tokenizer_special_ids(tok).pad;
    if (pad < 0) pad = (int32_t)m->cfg.pad_token_id;
    LMT_TRY(prepare_data(o, tok, pad));
    if (lmt_dist_rank() == 0)   /* once, not once per rank under mpirun */
        fprintf(stderr, "lmtune: %s (%zu parameters); train %lld pairs, validation %lld pairs (%s -> %s)\n", lmt_arch_class_name(m->cfg.arch),
                lmt_model_num_params(m), (long long)o->train.n_rows, (long long)o->eval.n_rows, o->source_lang, o->target_lang);
    lmt_seq2seq_collator_opts co = lmt_seq2seq_collator_opts_default();
    co.pad_id = pad;
    co.model_pad_id = (int32_t)m->cfg.pad_token_id;
    co.decoder_start_token_id = (int32_t)m->cfg.decoder_start_token_id;
    lmt_status s = LMT_OK;
    if (o->train.n_rows && (s = lmt_seq2seq_collator_init(&o->tc, &o->train, &co)) != LMT_OK) return lmt_fail_wrap(s, "collator");
    if (o->eval.n_rows && (s = lmt_seq2seq_collator_init(&o->ec, &o->eval, &co)) != LMT_OK) return lmt_fail_wrap(s, "collator");
    if (o->train.n_rows) o->td = lmt_seq2seq_train_data(&o->tc);
    if (o->eval.n_rows) o->ed = lmt_seq2seq_train_data(&o->ec);
    int64_t ts = lmt_ds_longest(&o->train, "input_ids"), te = lmt_ds_longest(&o->eval, "input_ids");
    int64_t ls = lmt_ds_longest(&o->train, "labels"), le = lmt_ds_longest(&o->eval, "labels");
    LMT_TRY(lmt_seq2seq_task_create(m, lmt_finetune_max_batch(args), (int)(ts > te ? ts : te), (int)(ls > le ? ls : le), &o->task));
    out->model = &o->task->base;
    out->train = &o->td;
    out->eval = o->eval.n_rows ? &o->ed : NULL;
    return LMT_OK;
}

/* Seq2SeqTrainer with predict_with_generate: generation + sacreBLEU in the evaluation */
static lmt_status setup_trainer(void *ctx, lmt_trainer *t, lmt_model *m, const lmt_tokenizer *tok) {
    tr_opts *o = ctx;
    if (!t->args.predict_with_generate || !o->eval.n_rows) return LMT_OK;
    /* num_beams = --num_beams, else generation_num_beams, else the generation config */
    int nb = o->num_beams > 0 ? (int)o->num_beams : (int)t->args.generation_num_beams;
    lmt_status s = lmt_seq2seq_metrics_init(&o->sm, m, tok, nb, (int)o->gen_max);
    if (s != LMT_OK) return lmt_fail_wrap(s, "generation");
    o->sm.clean_up_tokenization_spaces = lmt_tokenizer_dir_cleans_up(o->c.tok_dir);
    t->prediction_step = lmt_seq2seq_prediction_step;
    t->compute_metrics = lmt_seq2seq_compute_metrics;
    t->metrics_ctx = &o->sm;
    if (lmt_dist_rank() == 0)
        fprintf(stderr, "lmtune: evaluation generates with %d beam%s, max_length %d\n", o->sm.gen.num_beams, o->sm.gen.num_beams == 1 ? "" : "s",
                o->sm.gen.max_length);
    return LMT_OK;
}

static lmt_status evaluated(void *ctx, const lmt_eval_output *e) {
    (void)e;
    tr_opts *o = ctx;
    /* every rank holds the whole set's generations (gathered); rank 0 writes them */
    return o->predictions_file && o->sm.n_texts && lmt_dist_rank() == 0 ? lmt_seq2seq_write_predictions(&o->sm, o->predictions_file) : LMT_OK;
}

static void release(void *ctx) {
    tr_opts *o = ctx;
    lmt_seq2seq_metrics_free(&o->sm);
    lmt_seq2seq_task_free(o->task);
    lmt_ds_free(&o->train);
    lmt_ds_free(&o->eval);
}

/* the combinations the table cannot see */
static int check_flags(const tr_opts *o) {
    const lmt_cli_train *c = &o->c;
    const char *e = NULL;
    bool split = o->train_size > 0 || o->test_size > 0;
    if (!c->train_file && !c->eval_file) e = "--train_file and/or --validation_file is required";
    else if (!o->source_lang || !o->target_lang) e = "--source_lang and --target_lang are required (e.g. en, fr)";
    else if (!strcmp(o->source_lang, o->target_lang)) {
        fprintf(stderr, "lmtune: error: --source_lang and --target_lang are both \"%s\"\n", o->source_lang);
        return 2;
    } else if (strlen(o->source_lang) > 64 || strlen(o->target_lang) > 64) e = "--source_lang / --target_lang too long";
    else if (o->train_target_file && !c->train_file) e = "--train_target_file needs --train_file (the source side)";
    else if (o->eval_target_file && !c->eval_file) e = "--validation_target_file needs --validation_file (the source side)";
    else if (split && c->eval_file) e = "--train_size / --test_size split the training file; not with --validation_file";
    else if (split && !c->train_file) e = "--train_size / --test_size need --train_file";
    if (e) { fprintf(stderr, "lmtune: error: %s\n", e); return 2; }
    if (c->args.generation_num_beams < 0) {
        fprintf(stderr, "lmtune: error: --generation_num_beams %lld: must be at least 1\n", (long long)c->args.generation_num_beams);
        return 2;
    }
    const char *mb = c->args.metric_for_best_model;
    if (!strncmp(mb, "eval_", 5)) mb += 5;
    if ((!strcmp(mb, "bleu") || !strcmp(mb, "gen_len")) && !c->args.predict_with_generate) {
        fprintf(stderr, "lmtune: error: metric_for_best_model %s needs --predict_with_generate\n", c->args.metric_for_best_model);
        return 2;
    }
    return lmt_cli_need_eval_source(c, c->eval_file || split, "--validation_file or --train_size / --test_size");
}

int lmt_cmd_train_translation(int argc, char **argv) {
    tr_opts o = {.split_seed = 20, .max_train = -1, .max_eval = -1};
    lmt_ds_init(&o.train);
    lmt_ds_init(&o.eval);
    const lmt_flag flags[] = {
        LMT_CLI_TRAIN_FLAGS(o.c),
        {"train_target_file", LMT_FLAG_PATH, &o.train_target_file, LMT_FLAG_ANY, NULL, "parallel text: the target side of --train_file", NULL},
        {"validation_target_file", LMT_FLAG_PATH, &o.eval_target_file, LMT_FLAG_ANY, NULL, "parallel text: the target side of --validation_file", NULL},
        {"source_lang", LMT_FLAG_STRING, &o.source_lang, LMT_FLAG_ANY, NULL, "the source language (en)", NULL},
        {"target_lang", LMT_FLAG_STRING, &o.target_lang, LMT_FLAG_ANY, NULL, "the target language (fr)", NULL},
        {"source_prefix", LMT_FLAG_STRING, &o.source_prefix, LMT_FLAG_ANY, NULL, "text put before every source", NULL},
        {"max_source_length", LMT_FLAG_INT, &o.max_source_length, LMT_FLAG_MIN(1), NULL, "source tokens kept (128)", NULL},
        {"max_target_length", LMT_FLAG_INT, &o.max_target_length, LMT_FLAG_MIN(1), NULL, "target tokens kept in training (128)", NULL},
        {"val_max_target_length", LMT_FLAG_INT, &o.val_max_target_length, LMT_FLAG_MIN(1), NULL,
         "target tokens kept in evaluation (--max_target_length)", NULL},
        {"pad_to_max_length", LMT_FLAG_BOOL, &o.pad_to_max_length, LMT_FLAG_ANY, NULL, "pad every example to the maximum lengths", NULL},
        {"num_beams", LMT_FLAG_INT, &o.num_beams, LMT_FLAG_MIN(1), NULL, "beams when evaluating with generation", NULL},
        {"train_size", LMT_FLAG_SIZE, &o.train_size, LMT_FLAG_ANY, NULL, "split the training file: train_test_split's train_size", NULL},
        {"test_size", LMT_FLAG_SIZE, &o.test_size, LMT_FLAG_ANY, NULL, "split the training file: the validation part", NULL},
        {"split_seed", LMT_FLAG_INT, &o.split_seed, LMT_FLAG_MIN(0), NULL, "train_test_split's seed (20)", NULL},
        {"max_train_samples", LMT_FLAG_INT, &o.max_train, LMT_FLAG_MIN(1), NULL, "keep the first N training pairs", NULL},
        {"max_eval_samples", LMT_FLAG_INT, &o.max_eval, LMT_FLAG_MIN(1), NULL, "keep the first N validation pairs", NULL},
        {"eval_predictions_file", LMT_FLAG_PATH, &o.predictions_file, LMT_FLAG_ANY, NULL, "write the last evaluation's generations", NULL},
    };
    int rc = lmt_cli_train_parse(argc, argv, &o.c, flags, sizeof flags / sizeof flags[0], header);
    if (rc) return rc < 0 ? 0 : rc;
    if ((rc = check_flags(&o))) return rc;
    if (!o.c.train_file) o.c.args.do_train = false; else if (!o.c.args.do_eval) o.c.args.do_train = true;
    const char *files[] = {o.c.train_file, o.train_target_file, o.c.eval_file, o.eval_target_file, o.c.config};
    if ((rc = lmt_cli_files_exist(files, 5))) return rc;
    lmt_finetune_task task = {.ctx = &o, .check_model = check_model, .prepare = prepare, .setup_trainer = setup_trainer,
                              .evaluated = evaluated, .release = release};
    return lmt_cli_train_run(&o.c, task, false, true, lmt_cli_print_metrics);
}
