/* The train commands' flag tables (src/cli/flags.c) end to end: a malformed
 * number, a number out of range, an unknown choice, an unknown flag or a
 * missing value is refused with the flag named, exit status 2 (TrainingArguments
 * names too: the registry of train/args_table.c checks them),
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
    /* malformed numbers: "--NAME: expected WHAT, got "VALUE"", exit status 2 (a usage error) for every flag */
    refused("clm", "--num_train_epochs abc", 2, "--num_train_epochs: expected a number > 0, got \"abc\"");
    refused("clm", "--per_device_train_batch_size 8x", 2, "--per_device_train_batch_size: expected an integer >= 1, got \"8x\"");
    refused("clm", "--block_size abc", 2, "--block_size: expected a positive integer, got \"abc\"");
    refused("clm", "--block_size 12abc", 2, "--block_size: expected a positive integer, got \"12abc\"");
    refused("clm", "--block_size ''", 2, "--block_size: expected a positive integer, got \"\"");
    refused("clm", "--block_size=-5", 2, "--block_size: expected a positive integer, got \"-5\"");
    refused("clm", "--preprocessing_batch_size 1e3", 2, "--preprocessing_batch_size: expected a positive integer, got \"1e3\"");
    refused("clm", "--max_train_samples 99999999999999999999", 2, "--max_train_samples: expected a positive integer, got \"99999999999999999999\"");
    refused("clm", "--max_train_samples abc", 2, "--max_train_samples: expected a positive integer, got \"abc\"");
    refused("mlm", "--mlm_probability 0.1.5", 2, "--mlm_probability: expected a number in (0, 1), got \"0.1.5\"");
    refused("mlm", "--mlm_probability nan", 2, "--mlm_probability: expected a number in (0, 1), got \"nan\"");
    refused("translation", "--num_beams two", 2, "--num_beams: expected a positive integer, got \"two\"");
    /* out of range */
    refused("clm", "--per_device_train_batch_size -8", 2, "--per_device_train_batch_size: expected an integer >= 1, got -8");
    refused("clm", "--learning_rate -1e-5", 2, "--learning_rate: expected a number >= 0, got -1e-5");
    refused("clm", "--warmup_ratio 1.5", 2, "--warmup_ratio: expected a number in [0, 1], got 1.5");
    refused("clm", "--block_size 0", 2, "--block_size: expected a positive integer, got \"0\"");
    refused("clm", "--max_train_samples 0", 2, "--max_train_samples: expected a positive integer, got \"0\"");
    refused("clm", "--max_train_samples -3", 2, "--max_train_samples: expected a positive integer, got \"-3\"");
    refused("clm", "--max_eval_samples -1", 2, "--max_eval_samples: expected a positive integer, got \"-1\"");
    refused("clm", "--validation_split_percentage 100", 2, "--validation_split_percentage: expected a number in [0, 100), got \"100\"");
    refused("clm", "--gradient_accumulation_steps 0", 2, "--gradient_accumulation_steps: expected an integer >= 1, got 0");
    refused("mlm", "--mlm_probability 0", 2, "--mlm_probability: expected a number in (0, 1), got \"0\"");
    refused("mlm", "--wwm_probability 1", 2, "--wwm_probability: expected a number in (0, 1), got \"1\"");
    refused("mlm", "--max_seq_length 1", 2, "--max_seq_length: expected an integer >= 2, got \"1\"");
    refused("mlm", "--eval_mask_seed -3", 2, "--eval_mask_seed: expected a non-negative integer, got \"-3\"");
    refused("mlm", "--train_size 2.5", 2, "--train_size: expected a fraction in (0, 1) or a whole number, got \"2.5\"");
    refused("translation", "--test_size 0", 2, "--test_size: expected a fraction in (0, 1) or a whole number, got \"0\"");
    refused("translation", "--train_size 1e30", 2, "--train_size: expected a fraction in (0, 1) or a whole number, got \"1e30\"");
    refused("translation", "--max_source_length 0", 2, "--max_source_length: expected a positive integer, got \"0\"");
    refused("translation", "--split_seed -1", 2, "--split_seed: expected a non-negative integer, got \"-1\"");
    /* unknown choices: refused while parsing, the scheduler too */
    refused("clm", "--eval_strategy sometimes", 2, "--eval_strategy: expected one of no, steps, epoch, got \"sometimes\"");
    refused("clm", "--evaluation_strategy=sometimes", 2, "--eval_strategy: expected one of no, steps, epoch, got \"sometimes\"");
    refused("mlm", "--lr_scheduler_type warm", 2, "--lr_scheduler_type: expected one of linear, cosine,");
    refused("mlm", "--lr_scheduler_type greedy", 2, "--lr_scheduler_type greedy is refused: not implemented");
    refused("translation", "--save_strategy often", 2, "--save_strategy: expected one of no, steps, epoch, best, got \"often\"");
    refused("clm", "--overwrite_output_dir maybe", 2, "--overwrite_output_dir: expected true or false, got \"maybe\"");
    refused("clm", "--fp16 maybe", 2, "--fp16: expected true or false, got \"maybe\"");
    refused("mlm", "--line_by_line perhaps", 2, "--line_by_line: expected true or false, got \"perhaps\"");
    refused("translation", "--pad_to_max_length 2", 2, "--pad_to_max_length: expected true or false, got \"2\"");
    /* report_to: tensorboard, all and none; the other integrations and unknown names refused */
    refused("clm", "--report_to bogus", 2, "--report_to: unknown value \"bogus\"");
    refused("clm", "--report_to tensorbord", 2, "--report_to: unknown value \"tensorbord\" (did you mean tensorboard?)");
    refused("clm", "--report_to wandb", 2, "--report_to wandb is refused: lmtune has no wandb integration");
    /* the registry: refused with the reason, accepted with no effect (a note), transformers 4 names */
    refused("clm", "--deepspeed ds.json", 2, "--deepspeed ds.json is refused: DeepSpeed");
    refused("clm", "--tf32 true", 2, "--tf32 true is refused: TF32 needs an NVIDIA Ampere GPU");
    refused("clm", "--optim adamw_bnb_8bit", 2, "--optim adamw_bnb_8bit is refused: it needs bitsandbytes");
    refused("clm", "--fp16_opt_level O2 --bogus_flag 1", 2, "--fp16_opt_level O2 is accepted but has no effect: NVIDIA apex");
    refused("clm", "--dataloader-num-workers=4 --bogus_flag 1", 2, "--dataloader_num_workers 4 is accepted but has no effect");
    refused("clm", "--save_safetensors false", 2, "--save_safetensors false is refused");
    int rc = runf("train --task summarization --train_file %s/absent.txt --output_dir %s/out", tmp, tmp);
    CHECK_MSG(rc == 2 && strstr(out, "--task: expected one of clm, mlm, translation, sft, got \"summarization\""), "rc %d: %s", rc, out);
    /* unknown flags (with the closest name), missing values, stray arguments */
    refused("clm", "--learning_rat 1", 2, "unknown argument --learning_rat (did you mean --learning_rate?)");
    refused("clm", "--block_sise 8", 2, "unknown argument --block_sise (did you mean --block_size?)");
    refused("translation", "--beams 4", 2, "unknown argument --beams");
    refused("mlm", "--text_column_name", 2, "--text_column_name: missing value");
    refused("clm", "--block_size --max_steps 1", 2, "--block_size: missing value");
    refused("translation", "--eval_predictions_file=", 2, "--eval_predictions_file: expected a path, got \"\"");
    refused("clm", "stray", 2, "unexpected argument 'stray'");
    /* --help lists each command's table with its ranges and every TrainingArguments name by group; aliases resolve */
    CHECK(run("train --task mlm --help") == 0 && strstr(out, "--mlm_probability X") && strstr(out, "a number in (0, 1)") &&
          strstr(out, "--max_seq_length N") && strstr(out, "also --chunk_size, --block_size"));
    CHECK(run("train --task clm --help") == 0 && strstr(out, "--block_size N") && strstr(out, "--task clm|mlm|translation") &&
          strstr(out, "Optimizer:") && strstr(out, "--eval_strategy, --evaluation_strategy") && strstr(out, "--deepspeed") &&
          strstr(out, "DeepSpeed:"));
    CHECK(run("eval --help") == 0 && strstr(out, "usage: lmtune eval") && !strstr(out, "usage: lmtune train"));
    refused("mlm", "--chunk_size 1", 2, "--chunk_size: expected an integer >= 2, got \"1\"");
    /* the other commands check their numbers the same way */
    CHECK(runf("generate --model %s/none --prompt x --temperature hot", tmp) == 2 && strstr(out, "--temperature: expected a positive number, got \"hot\""));
    CHECK(runf("generate --model %s/none --prompt x --top_p 1.5", tmp) == 2 && strstr(out, "--top_p: expected a number in (0, 1], got \"1.5\""));
    CHECK(runf("generate --model %s/none --prompt x --seed 7up", tmp) == 2 && strstr(out, "--seed: expected a non-negative integer, got \"7up\""));
    CHECK(runf("generate --model %s/none x --max_new_tokens abc", tmp) == 2 && strstr(out, "--max_new_tokens: expected a non-negative integer, got \"abc\""));
    CHECK(runf("generate --model %s/none x --top_k -5", tmp) == 2 && strstr(out, "--top_k: expected a non-negative integer, got \"-5\""));
    CHECK(runf("generate --model %s/none x --max_new_tokns 5", tmp) == 2 && strstr(out, "did you mean --max_new_tokens?"));
    CHECK(runf("fill-mask --model %s/none --top_k 3x \"a [MASK]\"", tmp) == 2 && strstr(out, "--top_k: expected a positive integer, got \"3x\""));
    CHECK(runf("fill-mask --model %s/none --top_k 0 \"a [MASK]\"", tmp) == 2 && strstr(out, "--top_k: expected a positive integer, got \"0\""));
    CHECK(runf("translate --model %s/none --length_penalty long x", tmp) == 2 && strstr(out, "--length_penalty: expected a number, got \"long\""));
    CHECK(runf("tokenize --tokenizer %s/none --text a --max-length 0", tmp) == 2 && strstr(out, "--max_length: expected a positive integer, got \"0\""));
    CHECK(runf("data show %s/none.txt -n 99999999999999999999999", tmp) == 2 && strstr(out, "lmtune: error: -n needs a non-negative integer"));
    CHECK(runf("data show %s/none.txt --bogus", tmp) == 2 && strstr(out, "lmtune: error: data: unknown option '--bogus'"));

    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    CHECK(system(cmd) == 0);
    return lmt_test_finish();
}
