/* run_*.py-style flags: "--name value", "--name=value", or a bare "--name"
 * (a boolean switch, value "true"). */
#ifndef LMT_CLI_FLAGS_H
#define LMT_CLI_FLAGS_H
#include <stdio.h>
#include <string.h>

/* Reads the flag at argv[*i] into name/value, advancing *i past a separate
 * value. Returns 0, or -1 (after printing why) for a non-flag argument. */
static inline int lmt_cli_flag(int argc, char **argv, int *i, char *name, size_t name_cap, const char **val) {
    const char *a = argv[*i];
    if (strncmp(a, "--", 2)) { fprintf(stderr, "lmtune: error: unexpected argument '%s'\n", a); return -1; }
    const char *eq = strchr(a, '=');
    if (eq) {
        snprintf(name, name_cap, "%.*s", (int)(eq - a - 2), a + 2);
        *val = eq + 1;
    } else {
        snprintf(name, name_cap, "%s", a + 2);
        *val = (*i + 1 < argc && strncmp(argv[*i + 1], "--", 2)) ? argv[++*i] : "true";
    }
    return 0;
}
#endif
