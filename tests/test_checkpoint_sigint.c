/* SIGINT (Ctrl-C) during `lmtune train` (issue 18 item 5): the run saves a
 * checkpoint of the step it was at, says where, and exits with status 130
 * (the shell's for SIGINT) without an error; --resume_from_checkpoint latest
 * then goes on from there, and ends with the weights of a run that was never
 * interrupted (constant learning rate: the straight run to the same step). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "model_files.h"
#include "cli_run.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/util.h"

#define TOKS LMT_SHARED_DATA "/tokenizers/"
#define GPT2_TINY "{\"model_type\": \"gpt2\", \"vocab_size\": 50257, \"n_positions\": 32, \"n_embd\": 16, \"n_layer\": 1, " \
                  "\"n_head\": 2, \"bos_token_id\": 50256, \"eos_token_id\": 50256}\n"

static char common[2000];

static int64_t global_step(const char *state_path) {
    lmt_json *j = NULL;
    int64_t step = -1;
    if (lmt_json_parse_file(state_path, &j) == LMT_OK) lmt_json_get_int(j, "global_step", -1, state_path, &step);
    lmt_json_free(j);
    return step;
}

int main(void) {
    char tmp[] = "/tmp/lmt-ckpt-sigint-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    char path[1000], dir[1000], log[1000];
    snprintf(path, sizeof path, "%s/train.txt", tmp);
    FILE *f = fopen(path, "w");
    for (int i = 0; f && i < 60; i++) fprintf(f, "Line %d of a small text about interrupted runs and their checkpoints .\n", i);
    if (f) fclose(f);
    snprintf(path, sizeof path, "%s/tiny.json", tmp);
    f = fopen(path, "w");
    if (f) { fputs(GPT2_TINY, f); fclose(f); }
    snprintf(common, sizeof common, "train --task clm --config_name %s/tiny.json --tokenizer_name " TOKS "gpt2 --block_size 16 "
             "--per_device_train_batch_size 2 --learning_rate 1e-3 --lr_scheduler_type constant --logging_steps 1 "
             "--save_strategy no --validation_split_percentage 0 --train_file %s/train.txt", tmp, tmp);
    /* a long run, interrupted once it has logged step 3 */
    snprintf(dir, sizeof dir, "%s/run", tmp);
    snprintf(log, sizeof log, "%s/run.log", tmp);
    char cmd[6000];
    snprintf(cmd, sizeof cmd, "exec '%s' %s --max_steps 100000 --output_dir %s > %s 2>&1", LMT_CLI_PATH, common, dir, log);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    bool seen = false;
    for (int k = 0; k < 3000 && !seen; k++) {   /* up to 60 s */
        char *text = NULL;
        size_t n = 0;
        if (lmt_read_file(log, &text, &n) == LMT_OK) seen = strstr(text, "\"step\": 3}") != NULL;
        free(text);
        if (!seen) usleep(20000);
    }
    CHECK_MSG(seen, "the run did not reach step 3");
    kill(pid, SIGINT);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    char *text = NULL;
    size_t n = 0;
    lmt_read_file(log, &text, &n);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 130, "status %d after SIGINT:\n%s", st, text ? text : "");
    const char *said = text ? strstr(text, "interrupted after step ") : NULL;
    CHECK_MSG(said && !strstr(text, "error"), "no clean stop message:\n%s", text ? text : "");
    long long step = said ? atoll(said + strlen("interrupted after step ")) : 0;
    printf("SIGINT: %s", said ? said : "(nothing)\n");
    free(text);
    char ck[1200];
    snprintf(ck, sizeof ck, "%s/checkpoint-%lld/trainer_state.json", dir, step);
    CHECK_MSG(step >= 3 && global_step(ck) == step, "no checkpoint-%lld with its trainer_state.json", step);
    /* resume a few steps further, and the straight run to the same step */
    long long end = step + 5;
    CHECK_MSG(runf("%s --max_steps %lld --output_dir %s --resume_from_checkpoint latest", common, end, dir) == 0, "%s", out);
    char straight[1000];
    snprintf(straight, sizeof straight, "%s/straight", tmp);
    CHECK_MSG(runf("%s --max_steps %lld --output_dir %s", common, end, straight) == 0, "%s", out);
    char a[1200], b[1200];
    snprintf(a, sizeof a, "%s/trainer_state.json", dir);
    CHECK(global_step(a) == end);
    snprintf(a, sizeof a, "%s/model.safetensors", dir);
    snprintf(b, sizeof b, "%s/model.safetensors", straight);
    CHECK_MSG(files_equal(a, b), "the resumed run's weights differ from the uninterrupted run's");
    lmt_rm_rf(tmp);
    return lmt_test_finish();
}
