/* lmtune download: `hf download` - one file (hf_hub_download) or a repo,
 * whole or filtered by --include / --exclude (snapshot_download), into the
 * Hugging Face cache or copied into --local_dir; prints the path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/hub_flags.h"
#include "cli/train_common.h"
#include "core/error.h"
#include "core/util.h"
#include "hub/repo_files.h"
#include "lmtune/hub.h"

static const char header[] =
    "usage: lmtune download REPO [FILES...] [--repo_type model|dataset] [--revision R] [--include GLOB]...\n"
    "                       [--exclude GLOB]... [--local_dir D] [--cache_dir C] [--token T] [--force_download]\n\n"
    "As `hf download`: one FILE is fetched alone and its path printed; several FILES (or \"folder/\"\n"
    "for everything below it), or none, fetch one commit of the repo (every file, or those matching an\n"
    "--include and no --exclude: globs where '*' also crosses '/') and print the folder: the snapshot\n"
    "in the cache, or --local_dir, where the files are copied (with .cache/huggingface/download/*.metadata).\n"
    "The cache: --cache_dir, else HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub. HF_ENDPOINT,\n"
    "HF_TOKEN and HF_HUB_OFFLINE are read as huggingface_hub reads them.\n";

typedef struct { const char **v; size_t n; } glob_list;

static lmt_status push_glob(void *dst, const char *value) {
    glob_list *l = dst;
    const char **v = realloc(l->v, (l->n + 2) * sizeof *v);
    if (!v) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    v[l->n++] = value;
    v[l->n] = NULL;
    l->v = v;
    return LMT_OK;
}

static const char *const repo_types[] = {"model", "dataset", NULL};

int lmt_cmd_download(int argc, char **argv) {
    const char *repo_type = "model", *revision = NULL, *local_dir = NULL, *cache_dir = NULL, *token = NULL;
    bool force = false, quiet = false;
    glob_list include = {0}, exclude = {0};
    const lmt_flag flags[] = {
        {"repo_type|repo-type", LMT_FLAG_ENUM, &repo_type, LMT_FLAG_ANY, repo_types, "the repo's type (default model)", NULL},
        {"revision", LMT_FLAG_STRING, &revision, LMT_FLAG_ANY, NULL, "a branch, tag or commit (default main)", NULL},
        {"include", LMT_FLAG_STRING, &include, LMT_FLAG_ANY, NULL, "only files matching this glob (repeatable)", push_glob},
        {"exclude", LMT_FLAG_STRING, &exclude, LMT_FLAG_ANY, NULL, "no file matching this glob (repeatable)", push_glob},
        {"local_dir|local-dir", LMT_FLAG_PATH, &local_dir, LMT_FLAG_ANY, NULL, "copy the files into this folder", NULL},
        {"cache_dir|cache-dir", LMT_FLAG_PATH, &cache_dir, LMT_FLAG_ANY, NULL, "the Hugging Face cache folder", NULL},
        {"token", LMT_FLAG_STRING, &token, LMT_FLAG_ANY, NULL, "a Hub token (default HF_TOKEN or the token file)", NULL},
        {"force_download|force-download", LMT_FLAG_BOOL, &force, LMT_FLAG_ANY, NULL, "fetch again even when cached", NULL},
        {"quiet", LMT_FLAG_BOOL, &quiet, LMT_FLAG_ANY, NULL, "print nothing but the path", NULL},
    };
    size_t nf = sizeof flags / sizeof flags[0];
    char **pos = calloc((size_t)argc + 1, sizeof *pos);
    int n_pos = 0, rc;
    if (!pos) return lmt_cli_fail(NULL);
    argc = lmt_cli_split_positionals(argc, argv, flags, nf, pos, &n_pos);
    rc = lmt_cli_parse_flags(argc, argv, flags, nf, NULL, NULL, header, NULL);
    if (rc || n_pos < 1) {
        if (!rc) fprintf(stderr, "lmtune: error: download needs a repo id (lmtune download REPO [FILES...])\n");
        free(pos); free(include.v); free(exclude.v);
        return rc < 0 ? 0 : rc ? rc : 2;
    }
    /* main.c takes --revision, --cache_dir, --token, --local_files_only, --force_download for every command
     * (cli/hub_flags.h); the table still sees --name=value and the dashed spellings */
    lmt_hub_options o = *lmt_cli_hub_options();
    if (cache_dir) o.cache_dir = cache_dir;
    if (token) o.token = token;
    if (revision) o.revision = revision;
    if (force) o.force_download = true;
    o.repo_type = !strcmp(repo_type, "dataset") ? LMT_REPO_DATASET : LMT_REPO_MODEL;
    const char *repo = pos[0];
    const char **names = (const char **)pos + 1;
    int n_names = n_pos - 1, n_sub = 0;
    for (int i = 0; i < n_names; i++) n_sub += names[i][strlen(names[i]) ? strlen(names[i]) - 1 : 0] == '/';
    if (n_sub && (include.n || exclude.n)) {
        fprintf(stderr, "lmtune: error: cannot combine a folder argument ('%s') with --include / --exclude: use --include \"%s*\"\n",
                names[0], names[0]);
        free(pos); free(include.v); free(exclude.v);
        return 2;
    }
    if (n_names > n_sub && (include.n || exclude.n))
        fprintf(stderr, "lmtune: warning: ignoring --include / --exclude since file names were given\n");
    char *path = NULL;
    lmt_status st;
    if (n_names == 1 && !n_sub) {
        if (local_dir) {
            char *cached = NULL;
            st = lmt_hub_download(repo, names[0], &o, &cached);
            /* the commit is the snapshot folder's name: .../snapshots/<commit>/<file> */
            if (st == LMT_OK) {
                size_t cut = strlen(cached) - strlen(names[0]) - 1;
                char *commit = lmt_strndup(cached, cut);
                const char *c = commit && strrchr(commit, '/') ? strrchr(commit, '/') + 1 : "";
                st = lmt_hub_copy_to_local_dir(cached, local_dir, names[0], c);
                path = st == LMT_OK ? lmt_path_join(local_dir, names[0]) : NULL;
                free(commit);
            }
            free(cached);
        } else st = lmt_hub_download(repo, names[0], &o, &path);
    } else {
        /* several names: they are the allow patterns (a folder "dir/" as every file below it); none: --include / --exclude */
        const char **allow = NULL;
        if (n_names) {
            allow = calloc((size_t)n_names + 1, sizeof *allow);
            char **owned = calloc((size_t)n_names + 1, sizeof *owned);
            for (int i = 0; allow && owned && i < n_names; i++) {
                size_t k = strlen(names[i]);
                if (k && names[i][k - 1] == '/') {
                    owned[i] = malloc(k + 3);
                    if (owned[i]) { memcpy(owned[i], names[i], k - 1); strcpy(owned[i] + k - 1, "/**"); }
                    allow[i] = owned[i] ? owned[i] : names[i];
                } else allow[i] = names[i];
            }
            st = allow && owned ? lmt_hub_snapshot_download(repo, allow, NULL, local_dir, &o, &path) : lmt_fail(LMT_ERR_NOMEM, "out of memory");
            for (int i = 0; owned && i < n_names; i++) free(owned[i]);
            free(owned);
            free(allow);
        } else st = lmt_hub_snapshot_download(repo, include.v, exclude.v, local_dir, &o, &path);
    }
    free(pos);
    free(include.v);
    free(exclude.v);
    if (st != LMT_OK) return lmt_cli_fail(NULL);
    printf("%s\n", path);
    free(path);
    return 0;
}
