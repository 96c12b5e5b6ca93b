/* Model and tokenizer names on the command line: a folder, or a Hub repo id
 * resolved as from_pretrained resolves it (lmtune/hub.h). The flags that
 * steer it (--revision / --model_revision, --cache_dir, --token,
 * --local_files_only, --force_download) are read for every command, the way
 * --profile is, so each command takes them without listing them. */
#ifndef LMT_CLI_HUB_FLAGS_H
#define LMT_CLI_HUB_FLAGS_H
#include "lmtune/hub.h"

/* Removes the Hub flags from argv (argc updated); 0, or 2 after printing
 * what is wrong with one. */
int lmt_cli_hub_take_flags(int *argc, char **argv);
/* The options those flags gave (progress lines on a terminal). */
const lmt_hub_options *lmt_cli_hub_options(void);
/* A model (weights = true) or tokenizer name -> the folder to load, or NULL
 * after printing the error. The string lives until the process ends. */
const char *lmt_cli_resolve(const char *name, bool weights);
/* Keeps a malloc'd string until the process ends (NULL: out of memory). */
const char *lmt_cli_keep(char *s);
/* Help text for the flags above. */
extern const char lmt_cli_hub_help[];
#endif
