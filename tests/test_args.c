/* TrainingArguments: HF defaults, parsing, validation messages. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "harness.h"
#include "core/util.h"
#include "train/args.h"

static void expect_err(lmt_training_args *a, const char *name, const char *value, const char *needle) {
    lmt_status s = lmt_training_args_set(a, name, value, "command line");
    CHECK_MSG(s != LMT_OK && strstr(lmt_last_error(), needle), "%s=%s: %s", name, value, lmt_last_error());
}

/* every name of a fixture list is in the registry */
static void all_known(const char *file) {
    char path[1024], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, LMT_SOURCE_DIR "/tests/fixtures/train/args/%s", file);
    CHECK_OK(lmt_read_file(path, &text, &len));
    int n = 0;
    for (char *line = text, *nl; line && *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        if (*line && *line != '#') {
            CHECK_MSG(lmt_training_args_known(line), "%s: \"%s\" is not in the registry", file, line);
            n++;
        }
        if (!nl) break;
    }
    CHECK_MSG(n > 30, "%s: %d names", file, n);
    free(text);
}

int main(void) {
    lmt_training_args a;
    lmt_training_args_default(&a);
    /* transformers.TrainingArguments defaults (SPEC §1 step 5) */
    CHECK(a.num_train_epochs == 3.0 && a.per_device_train_batch_size == 8 && a.per_device_eval_batch_size == 8);
    CHECK(a.learning_rate == 5e-5 && a.adam_beta1 == 0.9 && a.adam_beta2 == 0.999 && a.adam_epsilon == 1e-8);
    CHECK(a.max_grad_norm == 1.0 && a.seed == 42 && a.logging_steps == 500 && a.save_steps == 500);
    CHECK(a.max_steps == -1 && a.weight_decay == 0 && !strcmp(a.lr_scheduler_type, "linear"));

    CHECK_OK(lmt_training_args_set(&a, "evaluation_strategy", "epoch", "cli"));
    CHECK(a.eval_strategy == LMT_STRATEGY_EPOCH);
    CHECK_OK(lmt_training_args_set(&a, "learning_rate", "2e-5", "cli"));
    CHECK_OK(lmt_training_args_set(&a, "weight_decay", "0.01", "cli"));
    CHECK_OK(lmt_training_args_set(&a, "output_dir", "distilgpt2-finetuned-wikitext2", "cli"));
    CHECK(a.learning_rate == 2e-5 && a.weight_decay == 0.01);
    CHECK_OK(lmt_training_args_validate(&a));
    CHECK_STREQ(a.run_name, "distilgpt2-finetuned-wikitext2");

    expect_err(&a, "learning_rat", "1", "unknown training argument \"learning_rat\" (did you mean learning_rate?)");
    CHECK(lmt_training_args_set(&a, "learning_rat", "1", "cli") == LMT_ERR_ARG);
    expect_err(&a, "per_device_train_batch_size", "8.5", "--per_device_train_batch_size: expected an integer >= 1, got \"8.5\"");
    expect_err(&a, "per_device_train_batch_size", "0", "--per_device_train_batch_size: expected an integer >= 1, got 0");
    expect_err(&a, "learning_rate", "fast", "--learning_rate: expected a number >= 0, got \"fast\"");
    expect_err(&a, "eval_strategy", "sometimes", "expected one of no, steps, epoch, got \"sometimes\"");
    expect_err(&a, "fp16", "maybe", "--fp16: expected true or false, got \"maybe\"");
    expect_err(&a, "lr_scheduler_type", "warm", "--lr_scheduler_type: expected one of linear,");
    /* the registry: every transformers 5.23 field and the transformers 4 names */
    all_known("names_5.txt");
    all_known("names_4.txt");
    CHECK(lmt_training_args_known("evaluation-strategy") && lmt_training_args_known("no_cuda") && lmt_training_args_known("torch_dtype"));
    {   /* each row is whole: a group, a help, a note where it is not implemented, storage that fits its type */
        size_t n;
        const lmt_arg_spec *t = lmt_training_args_specs(&n);
        for (size_t i = 0; i < n; i++) {
            CHECK_MSG(t[i].group && t[i].help && t[i].dflt, "%s: incomplete row", t[i].name);
            CHECK_MSG(t[i].status == LMT_ARG_IMPLEMENTED || t[i].note, "%s: no reason given", t[i].name);
            if (t[i].size && t[i].type == LMT_ARG_BOOL) CHECK_MSG(t[i].size == sizeof(bool), "%s", t[i].name);
            if (t[i].size && t[i].type == LMT_ARG_INT) CHECK_MSG(t[i].size == sizeof(int64_t), "%s", t[i].name);
            if (t[i].size && t[i].type == LMT_ARG_FLOAT) CHECK_MSG(t[i].size == sizeof(double), "%s", t[i].name);
            for (size_t j = 0; j < i; j++) CHECK_MSG(strcmp(t[i].name, t[j].name), "%s twice", t[i].name);
        }
    }
    /* transformers 4 names as 4.44 took them, with their 5 meaning */
    lmt_training_args_default(&a);
    CHECK_OK(lmt_training_args_set(&a, "fp16_opt_level", "O2", "cli"));   /* seed 004's: apex only, no effect */
    CHECK_OK(lmt_training_args_set(&a, "overwrite_output_dir", "True", "cli"));
    CHECK(a.overwrite_output_dir);
    CHECK_OK(lmt_training_args_set(&a, "logging_dir", "runs/x", "cli"));
    CHECK_STREQ(a.logging_dir, "runs/x");
    CHECK_OK(lmt_training_args_set(&a, "no_cuda", "true", "cli"));
    CHECK_OK(lmt_training_args_set(&a, "per_gpu_train_batch_size", "4", "cli"));
    CHECK(a.per_device_train_batch_size == 4);
    CHECK_OK(lmt_training_args_set(&a, "group_by_length", "false", "cli"));
    CHECK_OK(lmt_training_args_set(&a, "group_by_length", "true", "cli"));   /* LengthGroupedSampler (trainer_features) */
    CHECK(a.group_by_length);
    CHECK_OK(lmt_training_args_set(&a, "group_by_length", "false", "cli"));
    CHECK_OK(lmt_training_args_set(&a, "warmup_steps", "0.1", "cli"));   /* transformers 5: a ratio below 1 */
    CHECK(a.warmup_ratio == 0.1 && a.warmup_steps == 0);
    CHECK_OK(lmt_training_args_set(&a, "warmup-steps", "20", "cli"));
    CHECK(a.warmup_steps == 20);
    expect_err(&a, "warmup_steps", "2.5", "whole number of steps or a ratio");
    /* report_to: none, tensorboard, all (= tensorboard); the rest refused with the reason */
    CHECK_OK(lmt_training_args_set(&a, "report_to", "all", "cli"));
    CHECK_STREQ(a.report_to, "tensorboard");
    CHECK_OK(lmt_training_args_set(&a, "report_to", "[\"none\"]", "cli"));
    CHECK_STREQ(a.report_to, "none");
    expect_err(&a, "report_to", "bogus", "--report_to: unknown value \"bogus\"");
    expect_err(&a, "report_to", "wandb", "--report_to wandb is refused: lmtune has no wandb integration");
    /* refused unless the default, accepted with no effect */
    expect_err(&a, "deepspeed", "ds.json", "--deepspeed ds.json is refused: DeepSpeed");
    CHECK_OK(lmt_training_args_set(&a, "deepspeed", "None", "cli"));
    expect_err(&a, "tf32", "true", "NVIDIA Ampere");
    CHECK_OK(lmt_training_args_set(&a, "tf32", "false", "cli"));
    CHECK_OK(lmt_training_args_set(&a, "dataloader_num_workers", "4", "cli"));
    CHECK_OK(lmt_training_args_set(&a, "torch_compile", "true", "cli"));
    expect_err(&a, "optim", "adamw_bnb_8bit", "bitsandbytes");
    expect_err(&a, "optim", "sgdd", "expected one of adamw_torch,");
    CHECK_OK(lmt_training_args_set(&a, "optim", "adamw_torch", "cli"));
    CHECK_STREQ(a.optim, "adamw_torch");
    expect_err(&a, "lr_scheduler_kwargs", "{\"num_cycles\": 2}", "is refused");
    CHECK_OK(lmt_training_args_set(&a, "lr_scheduler_kwargs", "{}", "cli"));
    expect_err(&a, "torch_dtype", "bfloat16", "fp32 master weights");
    expect_err(&a, "save_strategy", "best", "not implemented");
    CHECK_OK(lmt_training_args_set(&a, "save_strategy", "epoch", "cli"));
    CHECK(a.save_strategy == LMT_STRATEGY_EPOCH);
    {   /* the help and the docs come from the table */
        char *h = lmt_training_args_describe(false), *md = lmt_training_args_describe(true);
        CHECK(h && strstr(h, "Optimizer:\n") && strstr(h, "--eval_strategy, --evaluation_strategy") && strstr(h, "[no effect: "));
        CHECK(md && strstr(md, "### DeepSpeed") && strstr(md, "| `deepspeed` | string | `None` | refused unless default |"));
        /* docs/ARGUMENTS.md holds the tables as the registry prints them (lmtune arguments --markdown) */
        char *doc = NULL;
        size_t dl = 0;
        CHECK_OK(lmt_read_file(LMT_SOURCE_DIR "/docs/ARGUMENTS.md", &doc, &dl));
        CHECK_MSG(doc && md && strstr(doc, md + 1), "docs/ARGUMENTS.md is not current: regenerate its tables with lmtune arguments --markdown");
        free(doc);
        free(h);
        free(md);
    }
    {   /* to_json_string() of transformers 5.23's defaults loads whole */
        lmt_training_args_default(&a);
        lmt_status st = lmt_training_args_load_json(&a, LMT_SOURCE_DIR "/tests/fixtures/train/args/training_args_5.json");
        CHECK_MSG(st == LMT_OK, "%s", lmt_last_error());
        CHECK_STREQ(a.output_dir, "out");
    }

    lmt_training_args_default(&a);
    a.per_device_train_batch_size = 0;
    CHECK(lmt_training_args_validate(&a) == LMT_ERR_ARG && strstr(lmt_last_error(), "batch sizes"));
    lmt_training_args_default(&a);
    a.fp16 = a.bf16 = true;
    CHECK(lmt_training_args_validate(&a) == LMT_ERR_ARG);
    lmt_training_args_default(&a);
    a.load_best_model_at_end = true;
    a.eval_strategy = LMT_STRATEGY_EPOCH;
    CHECK(lmt_training_args_validate(&a) == LMT_ERR_ARG && strstr(lmt_last_error(), "match"));
    a.save_strategy = LMT_STRATEGY_EPOCH;
    CHECK_OK(lmt_training_args_validate(&a));
    CHECK_STREQ(a.metric_for_best_model, "loss");
    CHECK(!a.greater_is_better);
    lmt_training_args_default(&a);
    a.eval_strategy = LMT_STRATEGY_STEPS;
    CHECK_OK(lmt_training_args_validate(&a));
    CHECK(a.eval_steps == 500);  /* falls back to logging_steps */

    /* JSON file: unknown keys and wrong types name the file */
    char path[] = "/tmp/lmt-args-XXXXXX";
    int fd = mkstemp(path);
    const char *txt = "{\"learning_rate\": 0.001, \"seed\": 7, \"fp16\": true, \"logging_dir\": null, \"bogus\": 1}";
    CHECK(write(fd, txt, strlen(txt)) == (ssize_t)strlen(txt));
    close(fd);
    lmt_training_args_default(&a);
    CHECK(lmt_training_args_load_json(&a, path) == LMT_ERR_ARG);
    CHECK(strstr(lmt_last_error(), path) && strstr(lmt_last_error(), "\"bogus\""));
    CHECK(a.learning_rate == 0.001 && a.seed == 7 && a.fp16);
    unlink(path);

    char *json = lmt_training_args_to_json(&a);
    CHECK(json && strstr(json, "\"learning_rate\": 0.001,") && strstr(json, "\"eval_strategy\": \"no\""));
    free(json);
    return lmt_test_finish();
}
