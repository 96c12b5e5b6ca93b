/* lmtune arguments: the TrainingArguments registry (train/args_table.c) as
 * text, or as docs/ARGUMENTS.md's tables (--markdown). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "cli/flags.h"
#include "train/args.h"

int lmt_cmd_arguments(int argc, char **argv) {
    bool markdown = false;
    const lmt_flag flags[] = {
        {"markdown", LMT_FLAG_BOOL, &markdown, LMT_FLAG_ANY, NULL, "print docs/ARGUMENTS.md's tables", NULL},
    };
    int rc = lmt_cli_parse_flags(argc, argv, flags, 1, NULL, NULL,
                                 "usage: lmtune arguments [--markdown]\n\n"
                                 "Every TrainingArguments / Seq2SeqTrainingArguments name (transformers 5.23, and the transformers 4\n"
                                 "names) and the run_*.py flags the train commands take through it, by group: implemented, accepted\n"
                                 "with no effect on a CPU (and why), or refused unless given the default (and why).\n",
                                 NULL);
    if (rc) return rc < 0 ? 0 : rc;
    char *text = lmt_training_args_describe(markdown);
    if (!text) return lmt_cli_error("out of memory");
    fputs(markdown ? text + 1 : text, stdout);   /* the leading blank line */
    free(text);
    return 0;
}
