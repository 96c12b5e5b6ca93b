/* The lmtune command-line tool end to end: inspect and convert on the
 * fixtures, exit codes and error messages on bad input. */
#include <stdio.h>
#include <stdlib.h>
#include "harness.h"

static char out[1 << 16];

static int run(const char *args) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", LMT_CLI_PATH, args);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int rc = pclose(p);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

int main(void) {
    CHECK(run("inspect " LMT_SOURCE_DIR "/tests/fixtures/models/gpt2") == 0);
    CHECK(strstr(out, "architecture:  GPT2LMHeadModel (model_type gpt2)") != NULL);
    CHECK(strstr(out, "parameters:    29568") != NULL);   /* num_parameters() in reference.json */
    CHECK(strstr(out, "transformer.h.0.attn.c_attn.weight") && strstr(out, "F32   [32, 96]"));
    CHECK(strstr(out, "lm_head.weight") && strstr(out, "tied to transformer.wte.weight"));
    CHECK(run("inspect " LMT_SOURCE_DIR "/tests/fixtures/models/bert-nohead") == 0);
    CHECK(strstr(out, "missing (newly initialized): 5") && strstr(out, "pooler.dense.weight") && strstr(out, "warning"));
    CHECK(run("inspect /nonexistent-model") == 1);
    CHECK(strstr(out, "lmtune: error: /nonexistent-model: not a directory") != NULL);
    CHECK(run("inspect") == 2);
    CHECK(run("frobnicate") == 2 && strstr(out, "unknown command 'frobnicate'"));
    CHECK(run("--help") == 0 && strstr(out, "inspect"));
    char tmp[] = "/tmp/lmt-cli-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    char args[512];
    snprintf(args, sizeof args, "convert %s/tests/fixtures/models/marian %s/m", LMT_SOURCE_DIR, tmp);
    CHECK(run(args) == 0 && strstr(out, "MarianMTModel"));
    snprintf(args, sizeof args, "inspect %s/m", tmp);
    CHECK(run(args) == 0 && strstr(out, "model.encoder.embed_positions.weight") && strstr(out, "(static)"));
    snprintf(args, sizeof args, "rm -rf %s", tmp);
    CHECK(system(args) == 0);
    return lmt_test_finish();
}
