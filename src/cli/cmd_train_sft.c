/* lmtune train --task sft: TRL's SFTTrainer (trl/scripts/sft.py) in one
 * command: conversational, prompt-completion or text JSON Lines prepared as
 * SFTTrainer prepares them (data/sft_data.h), a causal LM (GPT-2 or the
 * Llama family) trained by the Trainer with SFTConfig's defaults (learning
 * rate 2e-5, logging every 10 steps, bf16 unless fp16), --use_peft for LoRA.
 * The run is train/finetune.c's; this file holds the flags and the data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "cli/train_common.h"
#include "core/error.h"
#include "core/util.h"
#include "data/sft_data.h"
#include "jinja/jinja.h"
#include "lmtune/tokenizer.h"
#include "models/model.h"
#include "train/task_clm.h"
#include "train/dist.h"

typedef struct {
    lmt_cli_train c;
    const char *text_field, *truncation_mode, *strategy, *completion_only, *chat_template_path, *eos_token, *eval_packing;
    const char *formatting_path;
    int64_t max_length;
    bool packing, assistant_only, shuffle;
    /* made by prepare */
    lmt_chat_tmpl *tmpl;
    lmt_jinja_template *formatting;
    lmt_sft_data train, eval;
    lmt_sft_collator tc, ec;
    lmt_clm_task *task;
} sft_opts;

static const char header[] =
    "usage: lmtune train --task sft (--model_name_or_path DIR | --config_name FILE --tokenizer_name DIR)\n"
    "                    --train_file F.jsonl [--validation_file F.jsonl] [--<SFTConfig / TrainingArguments name> VALUE ...]\n\n"
    "Supervised fine-tuning as TRL's SFTTrainer does it. Rows: {\"messages\": [...]} (rendered with the\n"
    "chat template), {\"prompt\", \"completion\"} (strings or message lists; loss on the completion only\n"
    "unless --completion_only_loss false) or {\"text\": ...} (--dataset_text_field). EOS is appended to\n"
    "non-conversational rows. SFTConfig's defaults: learning_rate 2e-5, logging_steps 10, bf16 unless\n"
    "fp16, max_length 1024 (0: none). Logs are JSON lines on stdout (docs/SFT.md).\n";

static const char *const truncation_modes[] = {"keep_start", "keep_end", NULL};
static const char *const strategies[] = {"bfd", "bfd_split", "bfd-requeue", "wrapped", NULL};
static const char *const tristate[] = {"true", "false", "none", "True", "False", "None", NULL};
static bool fp16_given;
static void sft_defaults(lmt_training_args *a) {
    a->learning_rate = 2e-5;
    a->logging_steps = 10;
    a->bf16 = !fp16_given;   /* SFTConfig: bf16 = not fp16 when unset */
}

static lmt_status parse_bool(const char *flag, const char *v, int *out) {
    if (!v) { *out = -1; return LMT_OK; }
    if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "1")) *out = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "0")) *out = 0;
    else if (!strcmp(v, "none") || !strcmp(v, "None")) *out = -1;
    else return lmt_fail(LMT_ERR_ARG, "--%s expects true, false or none, got \"%s\"", flag, v);
    return LMT_OK;
}

static lmt_status prepare_file(sft_opts *o, const lmt_tokenizer *tok, const char *path, bool packing, lmt_sft_data *out) {
    lmt_sft_opts so;
    lmt_sft_opts_default(&so);
    so.text_field = o->text_field ? o->text_field : "text";
    so.max_length = o->max_length;
    so.packing = packing;
    so.assistant_only_loss = o->assistant_only;
    so.eos_token = o->eos_token;
    so.formatting = o->formatting;
    so.shuffle = o->shuffle;
    so.seed = (uint64_t)o->c.args.seed;
    LMT_TRY(parse_bool("completion_only_loss", o->completion_only, &so.completion_only_loss));
    if (o->strategy) LMT_TRY(lmt_pack_strategy_parse(o->strategy, &so.strategy));
    if (o->truncation_mode) {
        if (!strcmp(o->truncation_mode, "keep_end")) so.keep_end = true;
        else if (strcmp(o->truncation_mode, "keep_start"))
            return lmt_fail(LMT_ERR_ARG, "--truncation_mode must be keep_start or keep_end, got \"%s\"", o->truncation_mode);
    }
    return lmt_sft_prepare(tok, o->tmpl, path, &so, out);
}

static lmt_status prepare(void *ctx, lmt_model *m, const lmt_tokenizer *tok, const lmt_training_args *args, lmt_finetune_data *out) {
    sft_opts *o = ctx;
    lmt_status s = lmt_chat_tmpl_load(o->c.tok_dir, &o->tmpl);
    if (s == LMT_ERR_NOT_FOUND) { o->tmpl = NULL; s = LMT_OK; }   /* text rows need none */
    LMT_TRY(s);
    if (o->chat_template_path) {
        if (!o->tmpl) return lmt_fail(LMT_ERR_ARG, "--chat_template_path: %s has no tokenizer_config.json template to replace", o->c.tok_dir);
        LMT_TRY(lmt_chat_tmpl_use_file(o->tmpl, o->chat_template_path));
    }
    if (o->formatting_path) {   /* formatting_func as a template over each row's fields */
        char *text;
        size_t len;
        LMT_TRY(lmt_read_file(o->formatting_path, &text, &len));
        s = lmt_jinja_compile(text, len, o->formatting_path, &o->formatting);
        free(text);
        LMT_TRY(s);
    }
    if (o->eos_token && lmt_tokenizer_token_to_id(tok, o->eos_token) < 0)   /* as SFTTrainer */
        return lmt_fail(LMT_ERR_ARG, "--eos_token \"%s\" is not in the vocabulary of the tokenizer in %s", o->eos_token, o->c.tok_dir);
    int eval_packing = -1;
    LMT_TRY(parse_bool("eval_packing", o->eval_packing, &eval_packing));
    if (o->c.train_file) LMT_TRY(prepare_file(o, tok, o->c.train_file, o->packing, &o->train));
    if (o->c.eval_file) LMT_TRY(prepare_file(o, tok, o->c.eval_file, eval_packing < 0 ? o->packing : eval_packing == 1, &o->eval));
    /* the pad token: the tokenizer's, else its EOS (SFTTrainer) */
    lmt_special_ids sp = lmt_tokenizer_special_ids(tok);
    int32_t pad = sp.pad >= 0 ? sp.pad : sp.eos;
    if (pad < 0) return lmt_fail(LMT_ERR_ARG, "%s: the tokenizer has neither a pad_token nor an eos_token to pad with", o->c.tok_dir);
    /* packed sequences: the Llama family reads position_ids; other models get a row per sequence */
    bool per_seq = !lmt_arch_is_llama(m->cfg.arch);
    lmt_sft_collator_init(&o->tc, &o->train, pad, per_seq);
    lmt_sft_collator_init(&o->ec, &o->eval, pad, per_seq);
    int B = 1, T = 1, b, t;
    int bs = lmt_finetune_max_batch(args);
    if (o->c.train_file) { lmt_sft_max_batch(&o->tc, bs, &b, &t); B = b > B ? b : B; T = t > T ? t : T; }
    if (o->c.eval_file) { lmt_sft_max_batch(&o->ec, bs, &b, &t); B = b > B ? b : B; T = t > T ? t : T; }
    if (T > m->cfg.max_positions)
        return lmt_fail(LMT_ERR_ARG, "examples of %d tokens exceed the model's %lld positions (lower --max_length)", T, (long long)m->cfg.max_positions);
    if (lmt_dist_rank() == 0)   /* once, not once per rank under mpirun */
        fprintf(stderr, "lmtune: %s (%zu parameters); train %lld examples from %lld rows%s, eval %lld examples\n", lmt_arch_class_name(m->cfg.arch),
                lmt_model_num_params(m), (long long)o->train.n, (long long)o->train.n_rows, o->train.padding_free ? " (packed)" : "",
                (long long)o->eval.n);
    LMT_TRY(o->c.train_file ? lmt_clm_task_create(m, B, T, &o->task) : lmt_clm_task_create_eval(m, B, T, &o->task));
    lmt_clm_task_log_metrics(o->task);   /* SFTTrainer's entropy, mean_token_accuracy, num_tokens */
    out->model = &o->task->base;
    out->train = o->c.train_file ? &o->tc.base : NULL;
    out->eval = &o->ec.base;
    return LMT_OK;
}

static void release(void *ctx) {
    sft_opts *o = ctx;
    lmt_clm_task_free(o->task);
    lmt_sft_data_free(&o->train);
    lmt_sft_data_free(&o->eval);
    lmt_chat_tmpl_free(o->tmpl);
    lmt_jinja_free(o->formatting);
}

int lmt_cmd_train_sft(int argc, char **argv) {
    sft_opts o = {.max_length = 1024};
    fp16_given = false;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--fp16") || !strncmp(argv[i], "--fp16=", 7) || !strcmp(argv[i], "--bf16") || !strncmp(argv[i], "--bf16=", 7))
            fp16_given = true;   /* either set: no SFTConfig bf16 default */
    o.c.defaults = sft_defaults;
    const lmt_flag flags[] = {
        LMT_CLI_TRAIN_FLAGS(o.c),
        {"dataset_text_field", LMT_FLAG_STRING, &o.text_field, LMT_FLAG_ANY, NULL, "text rows: the field (default text)", NULL},
        {"max_length", LMT_FLAG_INT, &o.max_length, LMT_FLAG_MIN(0), NULL, "truncate (or pack) to N tokens (default 1024; 0: none)", NULL},
        {"truncation_mode", LMT_FLAG_ENUM, &o.truncation_mode, LMT_FLAG_ANY, truncation_modes, "keep_start (default) or keep_end", NULL},
        {"packing", LMT_FLAG_BOOL, &o.packing, LMT_FLAG_ANY, NULL, "pack examples into max_length rows", NULL},
        {"packing_strategy", LMT_FLAG_ENUM, &o.strategy, LMT_FLAG_ANY, strategies, "bfd (default), bfd_split or wrapped", NULL},
        {"eval_packing", LMT_FLAG_ENUM, &o.eval_packing, LMT_FLAG_ANY, tristate, "pack the evaluation set (default none: as --packing)", NULL},
        {"completion_only_loss", LMT_FLAG_ENUM, &o.completion_only, LMT_FLAG_ANY, tristate,
         "default none: on for prompt-completion rows", NULL},
        {"assistant_only_loss", LMT_FLAG_BOOL, &o.assistant_only, LMT_FLAG_ANY, NULL,
         "loss on the template's {% generation %} blocks only (conversational rows)", NULL},
        {"chat_template_path", LMT_FLAG_PATH, &o.chat_template_path, LMT_FLAG_ANY, NULL, "a .jinja file to use as the chat template", NULL},
        {"formatting_template", LMT_FLAG_PATH, &o.formatting_path, LMT_FLAG_ANY, NULL,
         "SFTTrainer's formatting_func as a Jinja file: each row's fields in, its text out", NULL},
        {"shuffle_dataset", LMT_FLAG_BOOL, &o.shuffle, LMT_FLAG_ANY, NULL, "shuffle the prepared dataset with --seed (Dataset.shuffle)", NULL},
        {"eos_token", LMT_FLAG_STRING, &o.eos_token, LMT_FLAG_ANY, NULL, "the EOS appended to text rows (default: the tokenizer's)", NULL},
    };
    int rc = lmt_cli_train_parse(argc, argv, &o.c, flags, sizeof flags / sizeof flags[0], header);
    if (rc) return rc < 0 ? 0 : rc;
    if (!o.c.train_file && !o.c.eval_file) { fprintf(stderr, "lmtune: error: --train_file and/or --validation_file is required\n"); return 2; }
    if (!o.c.train_file) o.c.args.do_train = false; else if (!o.c.args.do_eval) o.c.args.do_train = true;
    if ((rc = lmt_cli_need_eval_source(&o.c, o.c.eval_file != NULL, "--validation_file"))) return rc;
    if (o.packing && o.max_length == 0) { fprintf(stderr, "lmtune: error: --packing needs a --max_length (the packed row length)\n"); return 2; }
    const char *files[] = {o.c.train_file, o.c.eval_file, o.c.config, o.chat_template_path, o.formatting_path};
    if ((rc = lmt_cli_files_exist(files, 5))) return rc;
    lmt_finetune_task task = {.ctx = &o, .prepare = prepare, .release = release};
    return lmt_cli_train_run(&o.c, task, false, false, lmt_cli_print_metrics);
}
