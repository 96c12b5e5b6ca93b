/* What the three `lmtune train` commands (clm, mlm, translation) print and
 * write the same way: errors, JSON log lines, the progress line, results
 * files, and run_*.py's refusal of a non-empty output_dir. */
#ifndef LMT_CLI_TRAIN_COMMON_H
#define LMT_CLI_TRAIN_COMMON_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lmtune/lmtune.h"

/* Prints "lmtune: error: [what: ]<last library error>"; returns 1. */
int lmt_cli_fail(const char *what);
/* Trainer callbacks: a log entry as one JSON line on stdout; a progress line
 * on stderr when it is a terminal. */
void lmt_cli_print_log(void *user, const char *json);
void lmt_cli_print_progress(void *user, int64_t step, int64_t max_steps, double epoch, double loss, double tps,
                            double left);
bool lmt_cli_dir_has_entries(const char *dir);
/* dir/name as save_metrics writes it: {key: value, ...}, keys sorted, indent
 * 4; the metrics are also merged into dir/all_results.json (combined=True). */
lmt_status lmt_cli_write_results(const char *dir, const char *name, const char *const *keys, const double *vals,
                                 size_t n);
#endif
