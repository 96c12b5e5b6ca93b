/* TrainingArguments: HF defaults, parsing, validation messages. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "harness.h"
#include "train/args.h"

static void expect_err(lmt_training_args *a, const char *name, const char *value, const char *needle) {
    lmt_status s = lmt_training_args_set(a, name, value, "command line");
    CHECK_MSG(s == LMT_ERR_ARG && strstr(lmt_last_error(), needle), "%s=%s: %s", name, value, lmt_last_error());
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

    expect_err(&a, "learning_rat", "1", "unknown training argument \"learning_rat\"");
    expect_err(&a, "per_device_train_batch_size", "8.5", "expects an integer");
    expect_err(&a, "learning_rate", "fast", "expects a number");
    expect_err(&a, "eval_strategy", "sometimes", "must be no, steps or epoch");
    expect_err(&a, "fp16", "maybe", "true or false");

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
