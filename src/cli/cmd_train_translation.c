/* lmtune train --task translation: run_translation.py and the course's
 * Marian / KDE4 notebook (SPEC §3) in one command: load the pairs (HF
 * translation JSON Lines or two parallel text files), optionally
 * train_test_split(train_size, seed) into train / validation, tokenize as
 * MarianTokenizer (source.spm inputs, target.spm labels, truncation),
 * DataCollatorForSeq2Seq, the Trainer on MarianMTModel, and Seq2SeqTrainer's
 * evaluation: eval_loss and, with --predict_with_generate, generation (beam
 * search) + sacreBLEU (eval_bleu) + eval_gen_len, before and after training. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/commands.h"
#include "cli/train_common.h"
#include "cli/flags.h"
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "data/dataset.h"
#include "data/seq2seq_collator.h"
#include "data/translation_data.h"
#include "lmtune/tokenizer.h"
#include "models/model.h"
#include "train/seq2seq_metrics.h"
#include "train/task_seq2seq.h"

typedef struct {
    const char *model_dir, *config, *tok_dir;
    const char *train_file, *train_target_file, *eval_file, *eval_target_file;
    const char *source_lang, *target_lang, *source_prefix;
    int64_t max_source_length, max_target_length, val_max_target_length;
    bool pad_to_max_length;
    int num_beams;                 /* -1: unset */
    double train_size, test_size;  /* fractions (< 1) or counts (>= 1); 0: unset */
    int64_t split_seed;
    int64_t max_train, max_eval;
    const char *predictions_file;  /* --eval_predictions_file: write the last evaluation's generations */
} tr_opts;

static void usage(FILE *f) {
    fprintf(f,
            "usage: lmtune train --task translation (--model_name_or_path DIR | --config_name FILE --tokenizer_name DIR)\n"
            "                    --train_file F [--train_target_file F] [--validation_file F [--validation_target_file F]]\n"
            "                    [--train_size 0.9 | --test_size N] [--split_seed 20] --source_lang en --target_lang fr\n"
            "                    [--source_prefix TEXT] [--max_source_length 128] [--max_target_length 128]\n"
            "                    [--val_max_target_length N] [--pad_to_max_length] [--num_beams N]\n"
            "                    [--max_train_samples N] [--max_eval_samples N] [--eval_predictions_file F]\n"
            "                    [--predict_with_generate] [--generation_max_length N] [--generation_num_beams N]\n"
            "                    [--<TrainingArguments name> VALUE ...]\n\n"
            "Pairs: JSON Lines {\"translation\": {\"en\": ..., \"fr\": ...}} (HF kde4), or parallel text files (one\n"
            "sentence per line: --train_file = source side, --train_target_file = target side). Without a\n"
            "validation file, --train_size / --test_size split the training file as\n"
            "train_test_split(train_size=0.9, seed=20) does (the test split is the validation split).\n"
            "Evaluation: eval_loss; with --predict_with_generate also eval_bleu (sacreBLEU) and eval_gen_len\n"
            "from beam search (--num_beams, else --generation_num_beams, else the model's generation_config;\n"
            "max length --generation_max_length, else --val_max_target_length, else --max_target_length).\n"
            "Logs are JSON lines on stdout.\n");
}

/* "en, fr" from the translation.* columns of ds */
static void list_langs(const lmt_dataset *ds, char *buf, size_t cap) {
    buf[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < ds->n_cols; i++) {
        const char *n = ds->cols[i]->name;
        if (strncmp(n, "translation.", 12)) continue;
        int w = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", n + 12);
        if (w < 0 || (size_t)w >= cap - used) break;
        used += (size_t)w;
    }
    if (!used) snprintf(buf, cap, "none: no \"translation\" object");
}

/* Loads the pairs of path (JSON Lines, or path + target_path parallel text),
 * checks that both languages exist and that every pair has both sides and a
 * non-empty source, and adds the source prefix. */
static lmt_status load_pairs(const tr_opts *o, const char *path, const char *target_path, lmt_dataset *out) {
    lmt_ds_init(out);
    if (!lmt_file_exists(path)) return lmt_fail(LMT_ERR_NOT_FOUND, "%s: no such file", path);
    if (target_path && !lmt_file_exists(target_path)) return lmt_fail(LMT_ERR_NOT_FOUND, "%s: no such file", target_path);
    lmt_status s = target_path ? lmt_ds_load_parallel(path, target_path, o->source_lang, o->target_lang, out)
                               : lmt_ds_load_jsonl(path, out);
    if (s != LMT_OK) return s;
    char sc[128], tc[128], langs[256];
    snprintf(sc, sizeof sc, "translation.%s", o->source_lang);
    snprintf(tc, sizeof tc, "translation.%s", o->target_lang);
    const lmt_ds_column *src = lmt_ds_col(out, sc), *tgt = lmt_ds_col(out, tc);
    if (!src || !tgt) {
        list_langs(out, langs, sizeof langs);
        s = lmt_fail(LMT_ERR_ARG, "%s: no pairs in language \"%s\" (--%s_lang); the file has: %s", path,
                     !src ? o->source_lang : o->target_lang, !src ? "source" : "target", langs);
        goto bad;
    }
    if (src->type != LMT_DS_STR || tgt->type != LMT_DS_STR) {
        s = lmt_fail(LMT_ERR_FORMAT, "%s: translation.%s / translation.%s must be strings", path, o->source_lang, o->target_lang);
        goto bad;
    }
    for (int64_t r = 0; r < out->n_rows; r++) {
        const char *where = target_path && lmt_col_is_null(tgt, r) ? target_path : path;
        if (lmt_col_is_null(src, r) || lmt_col_is_null(tgt, r)) {
            s = lmt_fail(LMT_ERR_FORMAT, "%s: line %lld: the pair has no \"%s\" side", where, (long long)r + 1,
                         lmt_col_is_null(src, r) ? o->source_lang : o->target_lang);
            goto bad;
        }
        size_t n;
        lmt_col_str(src, r, &n);
        if (n == 0) {
            s = lmt_fail(LMT_ERR_FORMAT, "%s: line %lld: the source (\"%s\") is an empty string", path, (long long)r + 1, o->source_lang);
            goto bad;
        }
    }
    if (o->source_prefix && o->source_prefix[0]) {
        /* run_translation.py: inputs = [prefix + inp for inp in inputs] */
        lmt_ds_column *p = lmt_col_new(sc, LMT_DS_STR);
        if (!p) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory"); goto bad; }
        size_t pl = strlen(o->source_prefix);
        for (int64_t r = 0; r < out->n_rows; r++) {
            size_t n;
            const char *t = lmt_col_str(src, r, &n);
            char *b = malloc(pl + n + 1);
            if (!b) { lmt_col_free(p); s = lmt_fail(LMT_ERR_NOMEM, "out of memory"); goto bad; }
            memcpy(b, o->source_prefix, pl);
            memcpy(b + pl, t, n);
            lmt_col_push_str(p, b, pl + n);
            free(b);
        }
        const char *rm[] = {sc};
        if ((s = lmt_ds_remove_columns(out, rm, 1)) != LMT_OK || (s = lmt_ds_add_column(out, p)) != LMT_OK) goto bad;
    }
    return LMT_OK;
bad:
    lmt_ds_free(out);
    lmt_ds_init(out);
    return s;
}

static lmt_status tokenize(const tr_opts *o, const lmt_tokenizer *tok, const lmt_dataset *pairs, int64_t max_target,
                           lmt_dataset *out) {
    char sc[128], tc[128];
    snprintf(sc, sizeof sc, "translation.%s", o->source_lang);
    snprintf(tc, sizeof tc, "translation.%s", o->target_lang);
    return lmt_translation_tokenize(pairs, tok, sc, tc, o->max_source_length, max_target, out);
}

/* --pad_to_max_length: the tokenizer pads inputs to max_source_length and
 * labels to max_target_length, label padding as -100 (ignore_pad_token_for_loss) */
static lmt_status pad_columns(lmt_dataset *ds, int32_t pad, int64_t max_src, int64_t max_tgt) {
    static const char *const names[] = {"input_ids", "attention_mask", "labels"};
    for (int c = 0; c < 3; c++) {
        lmt_ds_column *col = lmt_ds_col(ds, names[c]);
        if (!col) return lmt_fail(LMT_ERR_ARG, "pad_to_max_length: no %s column", names[c]);
        int64_t len = c == 2 ? max_tgt : max_src;
        int32_t fill = c == 0 ? pad : c == 1 ? 0 : -100;
        lmt_ds_column *p = lmt_col_new(names[c], LMT_DS_INTS);
        int32_t *row = malloc((size_t)len * sizeof *row);
        if (!p || !row) { lmt_col_free(p); free(row); return lmt_fail(LMT_ERR_NOMEM, "out of memory"); }
        for (int64_t r = 0; r < ds->n_rows; r++) {
            size_t n;
            const int32_t *v = lmt_col_ints(col, r, &n);
            for (int64_t k = 0; k < len; k++) row[k] = k < (int64_t)n ? v[k] : fill;
            lmt_col_push_ints(p, row, (size_t)len);
        }
        free(row);
        const char *rm[] = {names[c]};
        LMT_TRY(lmt_ds_remove_columns(ds, rm, 1));
        LMT_TRY(lmt_ds_add_column(ds, p));
    }
    return LMT_OK;
}

static int64_t longest(const lmt_dataset *ds, const char *name) {
    const lmt_ds_column *c = lmt_ds_col(ds, name);
    int64_t m = 0;
    for (int64_t r = 0; c && r < ds->n_rows; r++) {
        size_t n;
        lmt_col_ints(c, r, &n);
        if ((int64_t)n > m) m = (int64_t)n;
    }
    return m;
}

static lmt_status truncate_rows(lmt_dataset *ds, int64_t max_rows) {
    if (max_rows <= 0 || ds->n_rows <= max_rows) return LMT_OK;
    int64_t *idx = malloc((size_t)max_rows * sizeof *idx);
    if (!idx) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < max_rows; i++) idx[i] = i;
    lmt_dataset sel;
    lmt_status s = lmt_ds_select(ds, idx, max_rows, &sel);
    free(idx);
    if (s != LMT_OK) return s;
    lmt_ds_free(ds);
    *ds = sel;
    return LMT_OK;
}

/* eval_results.json: the evaluation's metrics, epoch and eval_samples (save_metrics("eval")) */
static lmt_status write_eval_results(const char *dir, const lmt_eval_output *e, double epoch, int64_t n) {
    const char *k[8 + LMT_MAX_EVAL_METRICS];
    double v[8 + LMT_MAX_EVAL_METRICS];
    size_t c = 0;
    k[c] = "epoch"; v[c++] = epoch;
    k[c] = "eval_loss"; v[c++] = e->loss;
    for (int i = 0; i < e->n_metrics; i++) { k[c] = e->metric_keys[i]; v[c++] = e->metric_values[i]; }
    k[c] = "eval_runtime"; v[c++] = e->runtime;
    k[c] = "eval_samples"; v[c++] = (double)n;
    k[c] = "eval_samples_per_second"; v[c++] = e->samples_per_second;
    k[c] = "eval_steps_per_second"; v[c++] = e->steps_per_second;
    return lmt_cli_write_results(dir, "eval_results.json", k, v, c);
}

static void print_eval(const char *suffix, const lmt_eval_output *e) {
    printf("{\"eval_loss%s\": %.10g", suffix, e->loss);
    for (int i = 0; i < e->n_metrics; i++) printf(", \"%s%s\": %.10g", e->metric_keys[i], suffix, e->metric_values[i]);
    printf(", \"eval_runtime%s\": %.4f}\n", suffix, e->runtime);
    fflush(stdout);
}

static lmt_status write_predictions(const char *path, const lmt_seq2seq_metrics *sm) {
    lmt_strbuf b;
    lmt_sb_init(&b);
    for (size_t i = 0; i < sm->n_texts; i++) {
        lmt_sb_puts(&b, sm->predictions[i]);
        lmt_sb_putc(&b, '\n');
    }
    lmt_status s = b.oom ? lmt_fail(LMT_ERR_NOMEM, "out of memory") : lmt_write_file_atomic(path, b.data ? b.data : "", b.len);
    lmt_sb_free(&b);
    return s;
}

static bool parse_int_flag(const char *name, const char *val, int64_t lo, int64_t *out) {
    char *end;
    long long v = strtoll(val, &end, 10);
    if (!*val || *end || v < lo) {
        fprintf(stderr, "lmtune: error: --%s %s: expected an integer >= %lld\n", name, val, (long long)lo);
        return false;
    }
    *out = v;
    return true;
}

int lmt_cmd_train_translation(int argc, char **argv) {
    tr_opts o = {0};
    o.max_source_length = -1;   /* unset: 128 (the course), at most the model's positions */
    o.max_target_length = -1;
    o.val_max_target_length = -1;
    o.num_beams = -1;
    o.split_seed = 20;
    o.max_train = o.max_eval = -1;
    lmt_training_args args;
    lmt_training_args_default(&args);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(stdout); return 0; }
        char name[128];
        const char *val;
        if (lmt_cli_flag(argc, argv, &i, name, sizeof name, &val)) return 2;
        bool on = !strcmp(val, "true") || !strcmp(val, "1");
        int64_t iv;
        if (!strcmp(name, "task")) continue;
        else if (!strcmp(name, "model_name_or_path") || !strcmp(name, "model")) o.model_dir = val;
        else if (!strcmp(name, "config_name")) o.config = val;
        else if (!strcmp(name, "tokenizer_name") || !strcmp(name, "tokenizer")) o.tok_dir = val;
        else if (!strcmp(name, "train_file")) o.train_file = val;
        else if (!strcmp(name, "train_target_file")) o.train_target_file = val;
        else if (!strcmp(name, "validation_file")) o.eval_file = val;
        else if (!strcmp(name, "validation_target_file")) o.eval_target_file = val;
        else if (!strcmp(name, "source_lang")) o.source_lang = val;
        else if (!strcmp(name, "target_lang")) o.target_lang = val;
        else if (!strcmp(name, "source_prefix")) o.source_prefix = val;
        else if (!strcmp(name, "pad_to_max_length")) o.pad_to_max_length = on;
        else if (!strcmp(name, "eval_predictions_file")) o.predictions_file = val;
        else if (!strcmp(name, "max_source_length")) { if (!parse_int_flag(name, val, 1, &o.max_source_length)) return 2; }
        else if (!strcmp(name, "max_target_length")) { if (!parse_int_flag(name, val, 1, &o.max_target_length)) return 2; }
        else if (!strcmp(name, "val_max_target_length")) { if (!parse_int_flag(name, val, 1, &o.val_max_target_length)) return 2; }
        else if (!strcmp(name, "num_beams")) {
            if (!parse_int_flag(name, val, -1000000, &iv)) return 2;
            if (iv < 1) { fprintf(stderr, "lmtune: error: --num_beams %s: must be at least 1\n", val); return 2; }
            o.num_beams = (int)iv;
        }
        else if (!strcmp(name, "split_seed")) { if (!parse_int_flag(name, val, 0, &o.split_seed)) return 2; }
        else if (!strcmp(name, "max_train_samples")) { if (!parse_int_flag(name, val, 1, &o.max_train)) return 2; }
        else if (!strcmp(name, "max_eval_samples")) { if (!parse_int_flag(name, val, 1, &o.max_eval)) return 2; }
        else if (!strcmp(name, "train_size") || !strcmp(name, "test_size")) {
            char *end;
            double v = strtod(val, &end);
            if (!*val || *end || !(v > 0) || (v >= 1 && v != floor(v))) {
                fprintf(stderr, "lmtune: error: --%s %s: expected a fraction in (0, 1) or a whole number of pairs\n", name, val);
                return 2;
            }
            if (name[1] == 'r') o.train_size = v; else o.test_size = v;
        }
        else if (!strcmp(name, "args_json") || !strcmp(name, "config")) { if (lmt_training_args_load_json(&args, val) != LMT_OK) return lmt_cli_fail(NULL); }
        else if (lmt_training_args_set(&args, name, val, "command line") != LMT_OK) return lmt_cli_fail(NULL);
    }
    if ((!o.model_dir) == (!o.config)) { fprintf(stderr, "lmtune: error: give exactly one of --model_name_or_path and --config_name\n"); usage(stderr); return 2; }
    if (!o.train_file && !o.eval_file) { fprintf(stderr, "lmtune: error: --train_file and/or --validation_file is required\n"); return 2; }
    if (!o.source_lang || !o.target_lang) { fprintf(stderr, "lmtune: error: --source_lang and --target_lang are required (e.g. en, fr)\n"); return 2; }
    if (!strcmp(o.source_lang, o.target_lang)) { fprintf(stderr, "lmtune: error: --source_lang and --target_lang are both \"%s\"\n", o.source_lang); return 2; }
    if (strlen(o.source_lang) > 64 || strlen(o.target_lang) > 64) { fprintf(stderr, "lmtune: error: --source_lang / --target_lang too long\n"); return 2; }
    if (o.train_target_file && !o.train_file) { fprintf(stderr, "lmtune: error: --train_target_file needs --train_file (the source side)\n"); return 2; }
    if (o.eval_target_file && !o.eval_file) { fprintf(stderr, "lmtune: error: --validation_target_file needs --validation_file (the source side)\n"); return 2; }
    bool split = o.train_size > 0 || o.test_size > 0;
    if (split && o.eval_file) { fprintf(stderr, "lmtune: error: --train_size / --test_size split the training file; not with --validation_file\n"); return 2; }
    if (split && !o.train_file) { fprintf(stderr, "lmtune: error: --train_size / --test_size need --train_file\n"); return 2; }
    if (!o.tok_dir) o.tok_dir = o.model_dir;
    if (!o.tok_dir) { fprintf(stderr, "lmtune: error: --config_name needs --tokenizer_name\n"); return 2; }
    if (!o.train_file) args.do_train = false; else if (!args.do_eval) args.do_train = true;
    if (lmt_training_args_validate(&args) != LMT_OK) return lmt_cli_fail("training arguments");
    if (lmt_training_args_precision_note(&args)) fprintf(stderr, "lmtune: note: %s\n", lmt_training_args_precision_note(&args));
    if (args.generation_num_beams < 0) { fprintf(stderr, "lmtune: error: --generation_num_beams %lld: must be at least 1\n", (long long)args.generation_num_beams); return 2; }
    {
        const char *mb = args.metric_for_best_model;
        if (!strncmp(mb, "eval_", 5)) mb += 5;
        if ((!strcmp(mb, "bleu") || !strcmp(mb, "gen_len")) && !args.predict_with_generate) {
            fprintf(stderr, "lmtune: error: metric_for_best_model %s needs --predict_with_generate\n", args.metric_for_best_model);
            return 2;
        }
    }
    bool have_eval_source = o.eval_file || split;
    if (args.eval_strategy != LMT_STRATEGY_NO && !have_eval_source) {
        fprintf(stderr, "lmtune: error: eval_strategy %s needs --validation_file or --train_size / --test_size\n",
                args.eval_strategy == LMT_STRATEGY_EPOCH ? "epoch" : "steps");
        return 2;
    }
    if (args.load_best_model_at_end && !have_eval_source) { fprintf(stderr, "lmtune: error: load_best_model_at_end needs an evaluation split\n"); return 2; }
    const char *files[] = {o.train_file, o.train_target_file, o.eval_file, o.eval_target_file, o.config};
    for (int k = 0; k < 5; k++)
        if (files[k] && !lmt_file_exists(files[k])) { fprintf(stderr, "lmtune: error: %s: no such file\n", files[k]); return 1; }
    if (o.train_file && !args.overwrite_output_dir && !args.resume_from_checkpoint[0] && lmt_cli_dir_has_entries(args.output_dir)) {
        fprintf(stderr, "lmtune: error: %s: output directory already exists and is not empty; use --overwrite_output_dir "
                        "or --resume_from_checkpoint\n", args.output_dir);
        return 1;
    }

    lmt_model *m = NULL;
    lmt_tokenizer *tok = NULL;
    lmt_dataset raw, train, eval, rtr, rte;
    lmt_ds_init(&raw); lmt_ds_init(&train); lmt_ds_init(&eval); lmt_ds_init(&rtr); lmt_ds_init(&rte);
    lmt_seq2seq_task *task = NULL;
    lmt_seq2seq_metrics sm;
    memset(&sm, 0, sizeof sm);
    bool trainer_ready = false;
    lmt_trainer t;
    int rc = 0;
    if (o.model_dir) { if (lmt_model_load(o.model_dir, &m) != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; } }
    else {
        lmt_config cfg;
        if (lmt_config_load(o.config, &cfg) != LMT_OK || lmt_model_init(&cfg, (uint64_t)args.seed, &m) != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; }
    }
    if (m->cfg.arch != LMT_ARCH_MARIAN) {
        fprintf(stderr, "lmtune: error: --task translation needs a MarianMTModel, not %s\n", lmt_arch_class_name(m->cfg.arch));
        rc = 2;
        goto done;
    }
    int64_t max_pos = m->cfg.max_positions;
    if (o.max_source_length < 0) o.max_source_length = max_pos > 0 && max_pos < 128 ? max_pos : 128;
    if (o.max_target_length < 0) o.max_target_length = max_pos > 0 && max_pos < 128 ? max_pos : 128;
    if (o.val_max_target_length < 0) o.val_max_target_length = o.max_target_length;
    /* run_translation.py: max_length = generation_max_length, else val_max_target_length */
    int64_t gen_max = args.generation_max_length > 0 ? args.generation_max_length : o.val_max_target_length;
    struct { const char *flag; int64_t v; } lens[] = {{"--max_source_length", o.max_source_length}, {"--max_target_length", o.max_target_length},
                                                      {"--val_max_target_length", o.val_max_target_length},
                                                      {args.generation_max_length > 0 ? "--generation_max_length" : "--val_max_target_length", gen_max}};
    for (int k = 0; k < 4; k++)
        if (max_pos > 0 && lens[k].v > max_pos) {
            fprintf(stderr, "lmtune: error: %s %lld is beyond the model's max_position_embeddings (%lld)\n", lens[k].flag, (long long)lens[k].v,
                    (long long)max_pos);
            rc = 2;
            goto done;
        }
    if (lmt_tokenizer_load(o.tok_dir, &tok) != LMT_OK) { rc = lmt_cli_fail("tokenizer"); goto done; }
    if ((size_t)m->cfg.vocab_size < lmt_tokenizer_vocab_size(tok)) {
        fprintf(stderr, "lmtune: error: the tokenizer in %s has %zu tokens but the model's vocabulary holds %lld\n", o.tok_dir,
                lmt_tokenizer_vocab_size(tok), (long long)m->cfg.vocab_size);
        rc = 1;
        goto done;
    }
    if (o.train_file) {
        if (load_pairs(&o, o.train_file, o.train_target_file, &raw) != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; }
        if (split) {
            /* the course: raw_datasets["train"].train_test_split(train_size=0.9, seed=20) */
            lmt_split_size trs = o.train_size <= 0 ? lmt_size_none() : o.train_size < 1 ? lmt_size_fraction(o.train_size) : lmt_size_count((int64_t)o.train_size);
            lmt_split_size tes = o.test_size <= 0 ? lmt_size_none() : o.test_size < 1 ? lmt_size_fraction(o.test_size) : lmt_size_count((int64_t)o.test_size);
            if (lmt_ds_train_test_split(&raw, tes, trs, (uint64_t)o.split_seed, &rtr, &rte) != LMT_OK) { rc = lmt_cli_fail(o.train_file); goto done; }
            lmt_ds_free(&raw);
            lmt_ds_init(&raw);
        } else {
            rtr = raw;
            lmt_ds_init(&raw);
        }
        /* run_translation.py selects max_train_samples before tokenizing */
        if (truncate_rows(&rtr, o.max_train) != LMT_OK || tokenize(&o, tok, &rtr, o.max_target_length, &train) != LMT_OK) { rc = lmt_cli_fail(o.train_file); goto done; }
    }
    if (o.eval_file && load_pairs(&o, o.eval_file, o.eval_target_file, &rte) != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; }
    if (rte.n_rows > 0) {
        const char *src = o.eval_file ? o.eval_file : o.train_file;
        if (truncate_rows(&rte, o.max_eval) != LMT_OK || tokenize(&o, tok, &rte, o.val_max_target_length, &eval) != LMT_OK) { rc = lmt_cli_fail(src); goto done; }
    }
    int32_t pad = lmt_tokenizer_special_ids(tok).pad;
    if (pad < 0) pad = (int32_t)m->cfg.pad_token_id;
    if (o.pad_to_max_length) {
        if ((train.n_rows && pad_columns(&train, pad, o.max_source_length, o.max_target_length) != LMT_OK) ||
            (eval.n_rows && pad_columns(&eval, pad, o.max_source_length, o.val_max_target_length) != LMT_OK)) { rc = lmt_cli_fail(NULL); goto done; }
    }
    fprintf(stderr, "lmtune: %s (%zu parameters); train %lld pairs, validation %lld pairs (%s -> %s)\n", lmt_arch_class_name(m->cfg.arch),
            lmt_model_num_params(m), (long long)train.n_rows, (long long)eval.n_rows, o.source_lang, o.target_lang);

    lmt_seq2seq_collator_opts co = lmt_seq2seq_collator_opts_default();
    co.pad_id = pad;
    co.model_pad_id = (int32_t)m->cfg.pad_token_id;
    co.decoder_start_token_id = (int32_t)m->cfg.decoder_start_token_id;
    lmt_seq2seq_collator tc, ec;
    if (train.n_rows && lmt_seq2seq_collator_init(&tc, &train, &co) != LMT_OK) { rc = lmt_cli_fail("collator"); goto done; }
    if (eval.n_rows && lmt_seq2seq_collator_init(&ec, &eval, &co) != LMT_OK) { rc = lmt_cli_fail("collator"); goto done; }
    lmt_train_data td = {0}, ed = {0};
    if (train.n_rows) td = lmt_seq2seq_train_data(&tc);
    if (eval.n_rows) ed = lmt_seq2seq_train_data(&ec);
    int64_t ts = longest(&train, "input_ids"), te = longest(&eval, "input_ids");
    int64_t ls = longest(&train, "labels"), le = longest(&eval, "labels");
    int max_B = (int)(args.per_device_train_batch_size > args.per_device_eval_batch_size ? args.per_device_train_batch_size : args.per_device_eval_batch_size);
    if (lmt_seq2seq_task_create(m, max_B, (int)(ts > te ? ts : te), (int)(ls > le ? ls : le), &task) != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; }
    if (lmt_trainer_init(&t, &args, &task->base, o.train_file ? &td : NULL, eval.n_rows ? &ed : NULL) != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; }
    trainer_ready = true;
    t.tokenizer_dir = o.tok_dir;
    t.on_log = lmt_cli_print_log;
    t.on_progress = lmt_cli_print_progress;
    if (args.predict_with_generate && eval.n_rows) {
        /* num_beams = --num_beams, else generation_num_beams, else the generation config */
        int nb = o.num_beams > 0 ? o.num_beams : (int)args.generation_num_beams;
        if (lmt_seq2seq_metrics_init(&sm, m, tok, nb, (int)gen_max) != LMT_OK) { rc = lmt_cli_fail("generation"); goto done; }
        sm.clean_up_tokenization_spaces = lmt_tokenizer_dir_cleans_up(o.tok_dir);
        t.prediction_step = lmt_seq2seq_prediction_step;
        t.compute_metrics = lmt_seq2seq_compute_metrics;
        t.metrics_ctx = &sm;
        fprintf(stderr, "lmtune: evaluation generates with %d beam%s, max_length %d\n", sm.gen.num_beams, sm.gen.num_beams == 1 ? "" : "s",
                sm.gen.max_length);
    }
    lmt_eval_output e0 = {0};
    bool have_before = false;
    if (o.train_file && eval.n_rows) {
        /* the notebook's trainer.evaluate() before training (BLEU before); train() starts a new log history */
        if (lmt_trainer_evaluate(&t, &e0) != LMT_OK) { rc = lmt_cli_fail("evaluation"); goto done; }
        print_eval("_before", &e0);
        have_before = true;
    }
    if (o.train_file) {
        if (lmt_mkdirs(args.output_dir) != LMT_OK) { rc = lmt_cli_fail("output_dir"); goto done; }
        lmt_train_output to;
        if (lmt_trainer_train(&t, &to) != LMT_OK) { rc = lmt_cli_fail("training"); goto done; }
        if (lmt_model_save(m, args.output_dir) != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; }
        if (lmt_copy_tokenizer_files(o.tok_dir, args.output_dir) != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; }
        const char *k[] = {"epoch", "total_flos", "train_loss", "train_runtime", "train_samples", "train_samples_per_second", "train_steps_per_second"};
        double v[] = {to.epoch, to.total_flos, to.training_loss, to.train_runtime, (double)train.n_rows, to.train_samples_per_second, to.train_steps_per_second};
        if (lmt_cli_write_results(args.output_dir, "train_results.json", k, v, 7) != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; }
    }
    if (eval.n_rows) {
        lmt_eval_output e;
        if (lmt_trainer_evaluate(&t, &e) != LMT_OK) { rc = lmt_cli_fail("evaluation"); goto done; }
        /* trainer.evaluate() logs its metrics (log history, on_log) */
        lmt_trainer_log_eval(&t, &e);
        print_eval("", &e);
        double b0, b1;
        if (have_before && lmt_eval_metric(&e0, "bleu", &b0) && lmt_eval_metric(&e, "bleu", &b1))
            fprintf(stderr, "lmtune: BLEU %.2f before training, %.2f after (eval_loss %.4f -> %.4f)\n", b0, b1, e0.loss, e.loss);
        else if (have_before)
            fprintf(stderr, "lmtune: eval_loss %.4f before training, %.4f after\n", e0.loss, e.loss);
        if (lmt_mkdirs(args.output_dir) != LMT_OK || write_eval_results(args.output_dir, &e, t.state.epoch, eval.n_rows) != LMT_OK) {
            rc = lmt_cli_fail(NULL);
            goto done;
        }
        if (o.predictions_file && sm.n_texts && write_predictions(o.predictions_file, &sm) != LMT_OK) { rc = lmt_cli_fail(NULL); goto done; }
    }
    if (o.train_file) {
        char *sp = lmt_path_join(args.output_dir, "trainer_state.json");
        if (!sp || lmt_trainer_state_save(&t.state, sp) != LMT_OK) { free(sp); rc = lmt_cli_fail(NULL); goto done; }
        free(sp);
        fprintf(stderr, "lmtune: saved the model and tokenizer to %s\n", args.output_dir);
    }
done:
    if (trainer_ready) lmt_trainer_free(&t);
    lmt_seq2seq_metrics_free(&sm);
    lmt_seq2seq_task_free(task);
    lmt_ds_free(&raw); lmt_ds_free(&train); lmt_ds_free(&eval); lmt_ds_free(&rtr); lmt_ds_free(&rte);
    lmt_tokenizer_free(tok);
    lmt_model_free(m);
    return rc;
}
