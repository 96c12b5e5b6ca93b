/* The train commands' flag tables (src/cli/flags.c) end to end: a malformed
 * number, a number out of range, an unknown choice, an unknown flag or a
 * missing value is refused with the flag named, exit status 2 (1 for
 * TrainingArguments names, as lmt_training_args_set / _validate refuse them),
 * before any file is read - the training file given here does not exist, so
 * a refusal that came later would name it instead - and without creating the
 * output folder. generate, fill-mask, translate, tokenize and data check
 * their numbers the same way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "harness.h"
#include "cli_run.h"

static char tmp[] = "/tmp/lmt-flags-XXXXXX";

/* runs "train --task TASK --train_file <absent> --output_dir <tmp>/out FLAGS" */
static void refused(const char *task, const char *flags, int rc, const char *needle) {
    char out_dir[1100];
    snprintf(out_dir, sizeof out_dir, "%s/out", tmp);
    const char *langs = strcmp(task, "translation") ? "" : "--source_lang en --target_lang fr";
    int got = runf("train --task %s --model_name_or_path %s/model --train_file %s/absent.txt %s --output_dir %s %s", task, tmp, tmp,
                   langs, out_dir, flags);
    CHECK_MSG(got == rc && strstr(out, needle) && !strstr(out, "absent.txt"), "%s %s: rc %d (want %d), output: %s", task, flags, got,
              rc, out);
    struct stat st;
    CHECK_MSG(stat(out_dir, &st) != 0, "%s %s: created the output folder", task, flags);
}

int main(void) {
    CHECK(mkdtemp(tmp) != NULL);
    /* malformed numbers */
    refused("clm", "--num_train_epochs abc", 1, "num_train_epochs expects a number, got \"abc\"");
    refused("clm", "--per_device_train_batch_size 8x", 1, "per_device_train_batch_size expects an integer, got \"8x\"");
    refused("clm", "--block_size 12abc", 2, "--block_size 12abc: expected an integer");
    refused("clm", "--block_size ''", 2, "--block_size : expected an integer");
    refused("clm", "--preprocessing_batch_size 1e3", 2, "--preprocessing_batch_size 1e3: expected an integer");
    refused("clm", "--max_train_samples 99999999999999999999", 2, "--max_train_samples 99999999999999999999: expected an integer");
    refused("mlm", "--mlm_probability 0.1.5", 2, "--mlm_probability 0.1.5: expected a number");
    refused("mlm", "--mlm_probability nan", 2, "--mlm_probability nan: expected a number");
    refused("translation", "--num_beams two", 2, "--num_beams two: expected an integer");
    /* out of range */
    refused("clm", "--per_device_train_batch_size -8", 1, "per_device_train_batch_size -8");
    refused("clm", "--learning_rate -1e-5", 1, "learning_rate must be >= 0");
    refused("clm", "--warmup_ratio 1.5", 1, "warmup_ratio must lie in [0, 1]");
    refused("clm", "--block_size 0", 2, "--block_size 0: must be at least 1");
    refused("clm", "--max_eval_samples -1", 2, "--max_eval_samples -1: must be at least 1");
    refused("clm", "--validation_split_percentage 100", 2, "--validation_split_percentage 100: must lie in [0, 100)");
    refused("mlm", "--mlm_probability 0", 2, "--mlm_probability 0: must lie in (0, 1)");
    refused("mlm", "--wwm_probability 1", 2, "--wwm_probability 1: must lie in (0, 1)");
    refused("mlm", "--max_seq_length 1", 2, "--max_seq_length 1: must be at least 2");
    refused("mlm", "--eval_mask_seed -3", 2, "--eval_mask_seed -3: must be at least 0");
    refused("mlm", "--train_size 2.5", 2, "--train_size 2.5: expected a fraction in (0, 1) or a whole number");
    refused("translation", "--test_size 0", 2, "--test_size 0: expected a fraction in (0, 1) or a whole number");
    refused("translation", "--train_size 1e30", 2, "--train_size 1e30: expected a fraction in (0, 1) or a whole number");
    refused("translation", "--max_source_length 0", 2, "--max_source_length 0: must be at least 1");
    refused("translation", "--split_seed -1", 2, "--split_seed -1: must be at least 0");
    /* unknown choices */
    refused("clm", "--eval_strategy sometimes", 1, "eval_strategy must be no, steps or epoch, got \"sometimes\"");
    refused("mlm", "--lr_scheduler_type warm", 1, "lr_scheduler_type \"warm\" is not supported");
    refused("translation", "--save_strategy often", 1, "save_strategy must be no, steps or epoch");
    refused("clm", "--overwrite_output_dir maybe", 1, "overwrite_output_dir expects true or false, got \"maybe\"");
    refused("mlm", "--line_by_line perhaps", 2, "--line_by_line perhaps: expected true or false");
    refused("translation", "--pad_to_max_length 2", 2, "--pad_to_max_length 2: expected true or false");
    int rc = runf("train --task summarization --train_file %s/absent.txt --output_dir %s/out", tmp, tmp);
    CHECK_MSG(rc == 2 && strstr(out, "--task summarization: must be one of clm, mlm, translation"), "rc %d: %s", rc, out);
    /* unknown flags, missing values, stray arguments */
    refused("clm", "--learning_rat 1", 1, "unknown training argument \"learning_rat\"");
    refused("translation", "--beams 4", 1, "unknown training argument \"beams\"");
    refused("mlm", "--text_column_name", 2, "--text_column_name: missing value");
    refused("clm", "--block_size --max_steps 1", 2, "--block_size: missing value");
    refused("translation", "--eval_predictions_file=", 2, "--eval_predictions_file \"\": expected a path");
    refused("clm", "stray", 2, "unexpected argument 'stray'");
    /* --help lists each command's table with its ranges; aliases resolve */
    CHECK(run("train --task mlm --help") == 0 && strstr(out, "--mlm_probability X") && strstr(out, "must lie in (0, 1)") &&
          strstr(out, "--max_seq_length N") && strstr(out, "also --chunk_size, --block_size"));
    CHECK(run("train --task clm --help") == 0 && strstr(out, "--block_size N") && strstr(out, "--task clm|mlm|translation"));
    refused("mlm", "--chunk_size 1", 2, "--chunk_size 1: must be at least 2");
    /* the commands that parse their own arguments check their numbers the same way */
    CHECK(runf("generate --model %s/none --prompt x --temperature hot", tmp) == 2 && strstr(out, "--temperature hot: expected a number"));
    CHECK(runf("generate --model %s/none --prompt x --top_p 1.5", tmp) == 2 && strstr(out, "--top_p 1.5: must lie in (0, 1]"));
    CHECK(runf("generate --model %s/none --prompt x --seed 7up", tmp) == 2 && strstr(out, "--seed 7up: expected an integer"));
    CHECK(runf("fill-mask --model %s/none --top_k 3x \"a [MASK]\"", tmp) == 2 && strstr(out, "--top_k 3x: expected an integer"));
    CHECK(runf("fill-mask --model %s/none --top_k 0 \"a [MASK]\"", tmp) == 2 && strstr(out, "--top_k 0: must lie in [1, 2147483647]"));
    CHECK(runf("translate --model %s/none --length_penalty long x", tmp) == 2 && strstr(out, "--length_penalty long: expected a number"));
    CHECK(runf("tokenize --tokenizer %s/none --text a --max-length 0", tmp) == 2 && strstr(out, "--max-length 0: must be at least 1"));
    CHECK(runf("data show %s/none.txt -n 99999999999999999999999", tmp) == 1 && strstr(out, "-n needs a non-negative integer"));

    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    CHECK(system(cmd) == 0);
    return lmt_test_finish();
}
