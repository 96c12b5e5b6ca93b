/* lmtune upload REPO FOLDER [PATH_IN_REPO]: `hf upload` for a folder - the
 * repo is created when missing (create_repo exist_ok), then the folder is
 * committed as upload_folder does it (lmtune/hub.h). Prints the repo and
 * the commit as JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "cli/hub_flags.h"
#include "core/util.h"
#include "lmtune/hub.h"

#define MAX_PATTERNS 64

static const char usage[] =
    "usage: lmtune upload REPO FOLDER [PATH_IN_REPO] [--repo-type model|dataset] [--revision BRANCH] [--private]\n"
    "                     [--commit-message M] [--commit-description D] [--token T] [--include GLOB]... [--exclude GLOB]...\n"
    "  REPO            NAME (the token owner's namespace) or ORG/NAME; created when missing\n"
    "  FOLDER          the folder to upload (.git/ and .cache/huggingface/ are left out)\n"
    "  PATH_IN_REPO    where its files go in the repo (default: the root)\n"
    "  --include GLOB  only files matching (repeatable; '*' crosses '/', \"dir/\" means everything under dir)\n"
    "  --exclude GLOB  leave matching files out (repeatable)\n"
    "  --token T       default: HF_TOKEN, else the token file; the Hub: HF_ENDPOINT (default https://huggingface.co)\n";

static int bad(const char *fmt, const char *what) {
    fprintf(stderr, "lmtune: error: ");
    fprintf(stderr, fmt, what);
    fprintf(stderr, " (see lmtune upload --help)\n");
    return 2;
}

int lmt_cmd_upload(int argc, char **argv) {
    const char *pos[3] = {NULL, NULL, NULL}, *include[MAX_PATTERNS + 1] = {NULL}, *exclude[MAX_PATTERNS + 1] = {NULL};
    size_t n_pos = 0, n_inc = 0, n_exc = 0;
    const char *repo_type = "model", *message = NULL, *description = NULL;
    /* --token and --revision are the Hub flags main takes for every command (cli/hub_flags.h) */
    lmt_hub_options o = *lmt_cli_hub_options();
    o.on_progress = NULL;
    bool private_repo = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(usage, stdout); return 0; }
        if (strncmp(a, "--", 2)) {
            if (n_pos == 3) return bad("unexpected argument '%s': give REPO FOLDER [PATH_IN_REPO]", a);
            pos[n_pos++] = a;
            continue;
        }
        if (!strcmp(a, "--private")) { private_repo = true; continue; }
        /* --name value or --name=value */
        char name[64];
        const char *eq = strchr(a, '='), *v;
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        if (len >= sizeof name) return bad("unknown option '%s'", a);
        memcpy(name, a, len);
        name[len] = '\0';
        if (eq) v = eq + 1;
        else if (i + 1 < argc) v = argv[++i];
        else return bad("%s needs a value", a);
        if (!strcmp(name, "--repo-type") || !strcmp(name, "--repo_type")) {
            if (strcmp(v, "model") && strcmp(v, "dataset")) return bad("--repo-type must be model or dataset, got '%s'", v);
            repo_type = v;
        } else if (!strcmp(name, "--revision")) o.revision = v;
        else if (!strcmp(name, "--commit-message") || !strcmp(name, "--commit_message")) message = v;
        else if (!strcmp(name, "--commit-description") || !strcmp(name, "--commit_description")) description = v;
        else if (!strcmp(name, "--token")) {
            if (!*v) return bad("%s: the token is empty", "--token");
            o.token = v;
        } else if (!strcmp(name, "--include") || !strcmp(name, "--exclude")) {
            bool inc = name[2] == 'i';
            size_t *n = inc ? &n_inc : &n_exc;
            if (*n == MAX_PATTERNS) return bad("at most 64 %s patterns", name);
            (inc ? include : exclude)[(*n)++] = v;
        } else return bad("unknown option '%s'", name);
    }
    if (n_pos < 2) return bad("%s", n_pos ? "missing FOLDER: give REPO FOLDER [PATH_IN_REPO]" : "missing REPO and FOLDER");
    if (!lmt_hub_valid_repo_id(pos[0]))
        return bad("'%s' is not a valid repo id (NAME or ORG/NAME: letters, digits, '-', '_', '.')", pos[0]);
    if (!lmt_is_dir(pos[1])) {
        fprintf(stderr, "lmtune: error: %s: %s\n", pos[1], lmt_file_exists(pos[1]) ? "not a folder (lmtune upload takes a folder)"
                                                                                  : "no such folder");
        return lmt_file_exists(pos[1]) ? 2 : 1;
    }
    o.repo_type = !strcmp(repo_type, "dataset") ? LMT_REPO_DATASET : LMT_REPO_MODEL;
    char *repo = NULL, *commit = NULL;
    if (lmt_hub_create_repo(pos[0], private_repo, true, &o, &repo) != LMT_OK) {
        fprintf(stderr, "lmtune: error: %s\n", lmt_last_error());
        return 1;
    }
    lmt_hub_upload_options u = {.path_in_repo = pos[2], .commit_message = message, .commit_description = description,
                                .allow_patterns = n_inc ? include : NULL, .ignore_patterns = exclude};
    int rc = 0;
    if (lmt_hub_upload_folder(repo, pos[1], &u, &o, &commit) != LMT_OK) {
        fprintf(stderr, "lmtune: error: %s: %s\n", pos[1], lmt_last_error());
        rc = 1;
    } else {
        printf("{\"repo\": \"%s\", \"repo_type\": \"%s\", \"commit\": \"%s\"}\n", repo, repo_type, commit);
    }
    free(repo);
    free(commit);
    return rc;
}
