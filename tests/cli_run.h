/* Running the built lmtune binary from a test: run("ARGS") returns its exit
 * status and leaves stdout and stderr together in out. */
#ifndef LMT_TESTS_CLI_RUN_H
#define LMT_TESTS_CLI_RUN_H
#include <stdio.h>
#include <sys/wait.h>

static char out[1 << 16];

static int run(const char *args) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", LMT_CLI_PATH, args);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int rc = pclose(p);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}
#endif
