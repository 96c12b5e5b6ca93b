/* The live progress line on a terminal (issue 18): lmtune run on a
 * pseudo-terminal shows training steps, evaluation batches (also with
 * generation) and translated texts; every log line starts on a clean line
 * (the progress line is cleared first); --disable_tqdm and a pipe show none. */
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"
#include "cli_run.h"
#include "small_marian.h"

static char term[1 << 20];
static size_t term_len;

/* Runs lmtune ARGS with stdout and stderr on a pseudo-terminal; the bytes
 * it wrote go to term. Returns the exit status. */
static int run_tty(const char *args) {
    int fd;
    pid_t pid = forkpty(&fd, NULL, NULL, NULL);
    if (pid < 0) return -1;
    if (pid == 0) {
        char cmd[8192];
        snprintf(cmd, sizeof cmd, "exec '%s' %s", LMT_CLI_PATH, args);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    term_len = 0;
    for (;;) {
        ssize_t k = read(fd, term + term_len, sizeof term - 1 - term_len);
        if (k <= 0) break;   /* EIO once the child has gone */
        term_len += (size_t)k;
        if (term_len == sizeof term - 1) break;
    }
    term[term_len] = '\0';
    close(fd);
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Every JSON log line starts at the start of a line or right after the
 * erase-line sequence that cleared the progress line. */
static bool logs_on_clean_lines(const char *t) {
    for (const char *p = strstr(t, "{\""); p; p = strstr(p + 1, "{\"")) {
        if (p == t || p[-1] == '\n') continue;
        if (p - t >= 3 && !strncmp(p - 3, "\033[K", 3)) continue;
        if (p[-1] == '[' || p[-1] == ' ') continue;   /* inside a JSON line: [{"generated_text"...}, {"..."}] */
        fprintf(stderr, "a log line after other text: ...%.60s\n", p - (p - t > 40 ? 40 : p - t));
        return false;
    }
    return true;
}

int main(void) {
    char tmp[] = "/tmp/lmt-progress-XXXXXX", args[4096];
    CHECK(mkdtemp(tmp) != NULL);
#define DEMO "--task clm --config_name " LMT_SOURCE_DIR "/examples/gpt2-demo/config.json --tokenizer_name " LMT_SHARED_DATA "/tokenizers/gpt2 "
#define WIKI LMT_SHARED_DATA "/wikitext-2-raw-v1/"
#define TRAIN "train " DEMO "--train_file " WIKI "wiki.valid.raw --validation_file " WIKI "wiki.test.raw --block_size 32 " \
    "--per_device_train_batch_size 2 --per_device_eval_batch_size 2 --max_steps 4 --logging_steps 1 --max_train_samples 16 " \
    "--max_eval_samples 6 --eval_strategy steps --eval_steps 2 --save_strategy no --overwrite_output_dir "
    snprintf(args, sizeof args, TRAIN "--output_dir %s/run", tmp);
    CHECK(run_tty(args) == 0);
    CHECK_MSG(strstr(term, "step 4/4"), "no training progress on the terminal:\n%s", term);
    CHECK_MSG(strstr(term, "evaluation: batch 3/3"), "no evaluation progress on the terminal:\n%s", term);
    CHECK_MSG(strstr(term, "\"eval_loss\": ") && strstr(term, "\"loss\": "), "no log lines:\n%s", term);
    CHECK(logs_on_clean_lines(term));
    /* --disable_tqdm: no progress line */
    snprintf(args, sizeof args, TRAIN "--output_dir %s/run --disable_tqdm true", tmp);
    CHECK(run_tty(args) == 0 && strstr(term, "\"eval_loss\": "));
    CHECK_MSG(!strstr(term, "step 4/4") && !strstr(term, "evaluation: batch"), "--disable_tqdm shows progress:\n%s", term);
    /* a pipe: none either */
    snprintf(args, sizeof args, TRAIN "--output_dir %s/run", tmp);
    CHECK(run(args) == 0 && strstr(out, "\"eval_loss\": ") && !strstr(out, "evaluation: batch") && !strstr(out, "\033["));
    /* translate: one line per text on a terminal, cleared before the output */
    {
        char mdir[600];
        snprintf(mdir, sizeof mdir, "%s/marian", tmp);
        make_small_marian(mdir);
        snprintf(args, sizeof args, "translate --model %s --max_new_tokens 4 \"a b\" \"c d\" \"e\"", mdir);
    }
    CHECK(run_tty(args) == 0);
    CHECK_MSG(strstr(term, "generation: text 3/3") && strstr(term, "\033[K[{\"translation_text\""),
              "translate: no progress, or the output not on a clean line:\n%s", term);
    CHECK(logs_on_clean_lines(term));
    char rm[600];
    snprintf(rm, sizeof rm, "rm -rf %s", tmp);
    CHECK(system(rm) == 0);
    return lmt_test_finish();
}
