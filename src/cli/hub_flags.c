/* The Hub flags every command takes, and names resolved through the Hub
 * (cli/hub_flags.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/hub_flags.h"

const char lmt_cli_hub_help[] =
    "  MODEL and TOKENIZER: a folder, or a Hub repo id (distilgpt2, ORG/NAME) fetched into the HF cache as from_pretrained does\n"
    "  --revision R        branch, tag or commit of the repo (also --model_revision; default main)\n"
    "  --cache_dir D       the HF cache folder (default HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub)\n"
    "  --token T           Hub token for private or gated repos (default HF_TOKEN, then HF_HOME/token)\n"
    "  --local_files_only  the cache only, as HF_HUB_OFFLINE=1 (also when the Hub cannot be reached)\n"
    "  --force_download    fetch the files again\n";

static lmt_hub_options options;
static bool on_terminal;
static char **resolved;
static size_t n_resolved;

static void show_progress(void *user, const char *file, int64_t done, int64_t total) {
    (void)user;
    if (!on_terminal) return;
    if (total > 0)
        fprintf(stderr, "\r  %-40.40s %8.1f / %.1f MB  %3d%%", file, done / 1e6, total / 1e6, (int)(100.0 * done / total));
    else
        fprintf(stderr, "\r  %-40.40s %8.1f MB", file, done / 1e6);
    if (total > 0 && done >= total) fputc('\n', stderr);
}

int lmt_cli_hub_take_flags(int *argc, char **argv) {
    on_terminal = isatty(STDERR_FILENO);
    options.on_progress = show_progress;
    int kept = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        if (!strcmp(a, "--revision") || !strcmp(a, "--model_revision")) dst = &options.revision;
        else if (!strcmp(a, "--cache_dir")) dst = &options.cache_dir;
        else if (!strcmp(a, "--token")) dst = &options.token;
        else if (!strcmp(a, "--local_files_only")) { options.local_files_only = true; continue; }
        else if (!strcmp(a, "--force_download")) { options.force_download = true; continue; }
        if (!dst) { argv[kept++] = argv[i]; continue; }
        if (i + 1 >= *argc || !argv[i + 1][0]) {
            fprintf(stderr, "lmtune: error: %s needs a value\n", a);
            return 2;
        }
        *dst = argv[++i];
    }
    *argc = kept;
    argv[kept] = NULL;
    return 0;
}

const lmt_hub_options *lmt_cli_hub_options(void) { return &options; }

static void free_resolved(void) {
    for (size_t i = 0; i < n_resolved; i++) free(resolved[i]);
    free(resolved);
}

const char *lmt_cli_keep(char *s) {
    char **grown = s ? realloc(resolved, (n_resolved + 1) * sizeof *grown) : NULL;
    if (!grown) { free(s); return NULL; }
    if (!resolved) atexit(free_resolved);
    resolved = grown;
    resolved[n_resolved++] = s;
    return s;
}

const char *lmt_cli_resolve(const char *name, bool weights) {
    if (!name) return NULL;
    char *folder = NULL;
    bool from_hub = false;
    lmt_status st = weights ? lmt_hub_resolve_model(name, &options, &folder, &from_hub)
                            : lmt_hub_resolve_tokenizer(name, &options, &folder, &from_hub);
    if (st != LMT_OK) {
        fprintf(stderr, "lmtune: error: %s\n", lmt_last_error());
        return NULL;
    }
    const char *kept = lmt_cli_keep(folder);
    if (!kept) fprintf(stderr, "lmtune: error: out of memory\n");
    return kept;
}
