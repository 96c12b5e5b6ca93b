/* Running the built lmtune binary from a test: run("ARGS") returns its exit
 * status and leaves stdout and stderr together in out (valid until the next
 * run; grown as needed, freed at exit). run_bin runs another program (an
 * example) the same way. */
#ifndef LMT_TESTS_CLI_RUN_H
#define LMT_TESTS_CLI_RUN_H
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

static char *out;

static void run_free_out(void) { free(out); }

static int run_bin(const char *bin, const char *args) {
    static size_t cap;
    if (!out) {
        cap = 1 << 16;
        out = malloc(cap);
        if (!out) return -1;
        atexit(run_free_out);
    }
    out[0] = '\0';
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", bin, args);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = 0, k;
    while ((k = fread(out + n, 1, cap - n - 1, p)) > 0) {
        n += k;
        if (n + 1 >= cap) {
            char *grown = realloc(out, cap * 2);
            if (!grown) break;
            out = grown;
            cap *= 2;
        }
    }
    out[n] = '\0';
    int rc = pclose(p);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}
static __attribute__((unused)) int run(const char *args) { return run_bin(LMT_CLI_PATH, args); }
static int vrun_bin(const char *bin, const char *fmt, va_list ap) {
    char args[4096];
    vsnprintf(args, sizeof args, fmt, ap);
    return run_bin(bin, args);
}
/* run() with printf-style arguments. */
__attribute__((format(printf, 1, 2), unused)) static int runf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = vrun_bin(LMT_CLI_PATH, fmt, ap);
    va_end(ap);
    return rc;
}
/* run_bin() with printf-style arguments. */
__attribute__((format(printf, 2, 3), unused)) static int runf_bin(const char *bin, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = vrun_bin(bin, fmt, ap);
    va_end(ap);
    return rc;
}
#endif
