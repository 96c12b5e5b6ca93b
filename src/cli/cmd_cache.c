/* lmtune cache ls | scan | rm: `hf cache ls` and `hf cache rm` - the
 * repos of the Hugging Face cache (scan_cache_dir) as a table, and their
 * deletion by cache id (model/ORG/NAME, dataset/ORG/NAME) or repo id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/hub_flags.h"
#include "cli/train_common.h"
#include "core/error.h"
#include "hub/cache.h"
#include "hub/cache_scan.h"
#include "lmtune/hub.h"

static const char header[] =
    "usage: lmtune cache ls [--cache_dir C] [--revisions] [--show_warnings]\n"
    "       lmtune cache rm TARGET... [--repo_type model|dataset] [--cache_dir C] [--dry_run] [-y]\n\n"
    "As `hf cache ls` / `hf cache rm` (`cache scan` is `cache ls`). A TARGET is a cache id as ls\n"
    "prints it (model/ORG/NAME, dataset/ORG/NAME), a repo id (ORG/NAME, of --repo_type) or a\n"
    "revision's commit hash. rm deletes the repo's folder and its .locks folder (a commit: that\n"
    "snapshot and the blobs no other snapshot uses) and prints the space freed; no prompt is shown.\n"
    "The cache: --cache_dir, else HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub.\n";

static const char *const repo_types[] = {"model", "dataset", NULL};

/* "a, b" of the names */
static void join(const lmt_hub_names *l, char *buf, size_t cap) {
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < l->n && used < cap; i++) used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", l->v[i]);
}

typedef struct { char *cells[6]; } row;

/* utils/_terminal.py tabulate: columns padded to the widest cell, one space apart, a dash rule */
static void print_table(const char *const *headers, int ncol, const row *rows, size_t n, int right_col) {
    size_t w[6];
    for (int c = 0; c < ncol; c++) {
        w[c] = strlen(headers[c]);
        for (size_t r = 0; r < n; r++) if (strlen(rows[r].cells[c]) > w[c]) w[c] = strlen(rows[r].cells[c]);
    }
    for (size_t r = 0; r < n + 2; r++) {
        for (int c = 0; c < ncol; c++) {
            char dash[256];
            size_t k = w[c] < sizeof dash - 1 ? w[c] : sizeof dash - 1;
            memset(dash, '-', k);
            dash[k] = '\0';
            const char *cell = r == 0 ? headers[c] : r == 1 ? dash : rows[r - 2].cells[c];
            printf(c == right_col ? "%*s" : c + 1 < ncol ? "%-*s" : "%-*s", (int)w[c], cell);
            if (c + 1 < ncol) putchar(' ');
        }
        putchar('\n');
    }
}

static int cache_ls(const char *cache, bool revisions, bool show_warnings) {
    lmt_hub_cache_info info;
    if (lmt_hub_scan_cache(cache, &info) != LMT_OK) return lmt_cli_fail(NULL);
    size_t n_rows = 0, n_revs = 0;
    for (size_t i = 0; i < info.n_repos; i++) n_revs += info.repos[i].n_revisions;
    row *rows = calloc((revisions ? n_revs : info.n_repos) + 1, sizeof *rows);
    int64_t total = 0;
    for (size_t i = 0; rows && i < info.n_repos; i++) {
        const lmt_hub_cached_repo *r = &info.repos[i];
        char size[32], acc[64], mod[64], refs[1024];
        if (!revisions) {
            lmt_hub_names all = {0};
            for (size_t k = 0; k < r->n_revisions; k++)
                for (size_t q = 0; q < r->revisions[k].refs.n; q++) lmt_hub_names_push(&all, r->revisions[k].refs.v[q]);
            lmt_hub_names_sort(&all);
            join(&all, refs, sizeof refs);
            lmt_hub_names_free(&all);
            lmt_hub_format_size(r->size_on_disk, size, sizeof size);
            lmt_hub_format_timesince(r->last_accessed, acc, sizeof acc);
            lmt_hub_format_timesince(r->last_modified, mod, sizeof mod);
            const char *cells[] = {r->cache_id, size, acc, mod, refs};
            for (int c = 0; c < 5; c++) rows[n_rows].cells[c] = strdup(cells[c]);
            n_rows++;
            continue;
        }
        for (size_t k = 0; k < r->n_revisions; k++) {
            const lmt_hub_cached_revision *v = &r->revisions[k];
            join(&v->refs, refs, sizeof refs);
            lmt_hub_format_size(v->size_on_disk, size, sizeof size);
            lmt_hub_format_timesince(v->last_modified, mod, sizeof mod);
            const char *cells[] = {r->cache_id, v->commit, size, mod, refs};
            for (int c = 0; c < 5; c++) rows[n_rows].cells[c] = strdup(cells[c]);
            n_rows++;
            total += v->size_on_disk;
        }
    }
    if (!n_rows) printf("No results found.\n");
    else if (revisions) print_table((const char *[]){"ID", "REVISION", "SIZE", "LAST_MODIFIED", "REFS"}, 5, rows, n_rows, 2);
    else print_table((const char *[]){"ID", "SIZE", "LAST_ACCESSED", "LAST_MODIFIED", "REFS"}, 5, rows, n_rows, 1);
    if (n_rows) {
        char size[32];
        lmt_hub_format_size(revisions ? total : info.size_on_disk, size, sizeof size);
        printf("\nFound %zu repo(s) for a total of %zu revision(s) and %s on disk.\n", info.n_repos, n_revs, size);
    }
    if (info.warnings.n) {
        if (show_warnings)
            for (size_t i = 0; i < info.warnings.n; i++) {
                size_t k = strlen(info.warnings.v[i]);
                fprintf(stderr, "Warning: %.*s. Repo ignored.\n", (int)(k && info.warnings.v[i][k - 1] == '.' ? k - 1 : k), info.warnings.v[i]);
            }
        else
            fprintf(stderr, "Warning: Found %zu cache inconsistencies. Re-run with `--show_warnings` to display them.\n", info.warnings.n);
    }
    for (size_t r = 0; rows && r < n_rows; r++) for (int c = 0; c < 5; c++) free(rows[r].cells[c]);
    free(rows);
    lmt_hub_cache_info_free(&info);
    return 0;
}

/* the blobs of the revision no other revision of the repo links to: their bytes */
static int64_t revision_freed(const lmt_hub_cached_repo *r, size_t k, lmt_hub_names *only) {
    lmt_hub_names mine = {0}, others = {0};
    for (size_t i = 0; i < r->n_revisions; i++) {
        lmt_hub_names files = {0};
        lmt_hub_walk_files(r->revisions[i].snapshot_path, &files);
        for (size_t f = 0; f < files.n; f++) {
            char *p = lmt_path_join(r->revisions[i].snapshot_path, files.v[f]);
            char *real = p ? realpath(p, NULL) : NULL;
            if (real) lmt_hub_names_push(i == k ? &mine : &others, real);
            free(p);
            free(real);
        }
        lmt_hub_names_free(&files);
    }
    int64_t freed = 0;
    for (size_t i = 0; i < mine.n; i++) {
        bool shared = false, dup = false;
        for (size_t j = 0; j < others.n && !shared; j++) shared = !strcmp(mine.v[i], others.v[j]);
        for (size_t j = 0; j < only->n && !dup; j++) dup = !strcmp(mine.v[i], only->v[j]);
        if (shared || dup) continue;
        struct stat sb;
        if (stat(mine.v[i], &sb) == 0) freed += sb.st_size;
        lmt_hub_names_push(only, mine.v[i]);
    }
    lmt_hub_names_free(&mine);
    lmt_hub_names_free(&others);
    return freed;
}

static int cache_rm(const char *cache, char **targets, int n, const char *repo_type, bool dry_run) {
    lmt_hub_cache_info info;
    if (lmt_hub_scan_cache(cache, &info) != LMT_OK) return lmt_cli_fail(NULL);
    const lmt_hub_cached_repo **repos = calloc((size_t)n + 1, sizeof *repos);
    struct { const lmt_hub_cached_repo *repo; size_t k; } *revs = calloc((size_t)n + 1, sizeof *revs);
    size_t n_repos = 0, n_revs = 0, n_missing = 0;
    for (int t = 0; repos && revs && t < n; t++) {
        const char *target = targets[t];
        const lmt_hub_cached_repo *hit = lmt_hub_cache_find(&info, target);
        char id[512];
        if (!hit && lmt_hub_is_commit(target)) {
            for (size_t i = 0; i < info.n_repos; i++)
                for (size_t k = 0; k < info.repos[i].n_revisions; k++)
                    if (!strcasecmp(info.repos[i].revisions[k].commit, target)) { revs[n_revs].repo = &info.repos[i]; revs[n_revs++].k = k; }
            if (n_revs) continue;
        }
        if (!hit) {   /* a repo id of --repo_type */
            snprintf(id, sizeof id, "%s/%s", repo_type, target);
            hit = lmt_hub_cache_find(&info, id);
        }
        if (!hit) {
            if (!n_missing++) fprintf(stderr, "Warning: Could not find in cache:\n");
            fprintf(stderr, "  - %s\n", target);
            continue;
        }
        bool seen = false;
        for (size_t i = 0; i < n_repos && !seen; i++) seen = repos[i] == hit;
        if (!seen) repos[n_repos++] = hit;
    }
    int64_t freed = 0;
    size_t total_revs = 0;
    for (size_t i = 0; i < n_repos; i++) { freed += repos[i]->size_on_disk; total_revs += repos[i]->n_revisions; }
    lmt_hub_names counted = {0};
    for (size_t i = 0; i < n_revs; i++) freed += revision_freed(revs[i].repo, revs[i].k, &counted);
    lmt_hub_names_free(&counted);
    total_revs += n_revs;
    int rc = 0;
    char size[32];
    lmt_hub_format_size(freed, size, sizeof size);
    if (!n_repos && !n_revs) printf("Nothing to delete.\n");
    else {
        printf("About to delete ");
        if (n_repos) printf("%zu repo(s)%s", n_repos, n_revs ? " and " : "");
        if (n_revs) printf("%zu revision(s)", n_revs);
        printf(" totalling %s.\n", size);
        for (size_t i = 0; i < n_repos; i++) printf("  - %s (%zu revision(s))\n", repos[i]->cache_id, repos[i]->n_revisions);
        for (size_t i = 0; i < n_revs; i++) printf("  - %s: %s\n", revs[i].repo->cache_id, revs[i].repo->revisions[revs[i].k].commit);
        if (dry_run) printf("Dry run: no files were deleted.\n");
        else {
            lmt_status st = LMT_OK;
            for (size_t i = 0; st == LMT_OK && i < n_repos; i++) st = lmt_hub_cache_delete_repo(cache, repos[i]);
            /* a revision: its snapshot, then the blobs no snapshot links to any more, and the refs naming it */
            for (size_t i = 0; st == LMT_OK && i < n_revs; i++) {
                const lmt_hub_cached_repo *r = revs[i].repo;
                const lmt_hub_cached_revision *v = &r->revisions[revs[i].k];
                lmt_hub_names dead = {0};
                revision_freed(r, revs[i].k, &dead);
                lmt_hub_cached_repo one = {.repo_path = v->snapshot_path};
                st = lmt_hub_cache_delete_repo(cache, &one) == LMT_OK ? LMT_OK : LMT_ERR_IO;
                for (size_t b = 0; b < dead.n; b++) remove(dead.v[b]);
                for (size_t q = 0; q < v->refs.n; q++) {
                    char *refs = lmt_path_join(r->repo_path, "refs"), *p = refs ? lmt_path_join(refs, v->refs.v[q]) : NULL;
                    if (p) remove(p);
                    free(refs);
                    free(p);
                }
                lmt_hub_names_free(&dead);
            }
            if (st != LMT_OK) rc = lmt_cli_fail("cache rm");
            else printf("Deleted %zu repo(s) and %zu revision(s); freed %s.\n", n_repos, total_revs, size);
        }
    }
    free(repos);
    free(revs);
    lmt_hub_cache_info_free(&info);
    return rc;
}

int lmt_cmd_cache(int argc, char **argv) {
    const char *cache_dir = NULL, *repo_type = "model";
    bool revisions = false, show_warnings = false, dry_run = false, yes = false;
    const lmt_flag flags[] = {
        {"cache_dir|cache-dir", LMT_FLAG_PATH, &cache_dir, LMT_FLAG_ANY, NULL, "the Hugging Face cache folder", NULL},
        {"revisions", LMT_FLAG_BOOL, &revisions, LMT_FLAG_ANY, NULL, "ls: one row per revision", NULL},
        {"show_warnings|show-warnings", LMT_FLAG_BOOL, &show_warnings, LMT_FLAG_ANY, NULL, "ls: print the corrupted entries", NULL},
        {"repo_type|repo-type", LMT_FLAG_ENUM, &repo_type, LMT_FLAG_ANY, repo_types, "rm: the type of a bare repo id (default model)", NULL},
        {"dry_run|dry-run", LMT_FLAG_BOOL, &dry_run, LMT_FLAG_ANY, NULL, "rm: say what would be deleted, delete nothing", NULL},
        {"yes", LMT_FLAG_BOOL, &yes, LMT_FLAG_ANY, NULL, "rm: accepted for hf compatibility (no prompt is shown)", NULL},
    };
    size_t nf = sizeof flags / sizeof flags[0];
    for (int i = 1; i < argc; i++) if (!strcmp(argv[i], "-y")) argv[i] = "--yes";
    char **pos = calloc((size_t)argc + 1, sizeof *pos);
    int n_pos = 0;
    if (!pos) return lmt_cli_fail(NULL);
    argc = lmt_cli_split_positionals(argc, argv, flags, nf, pos, &n_pos);
    int rc = lmt_cli_parse_flags(argc, argv, flags, nf, NULL, NULL, header, NULL);
    if (!rc && n_pos < 1) { fprintf(stderr, "lmtune: error: cache needs a subcommand: ls, scan or rm\n"); rc = 2; }
    const char *sub = n_pos ? pos[0] : "";
    if (!rc && strcmp(sub, "ls") && strcmp(sub, "scan") && strcmp(sub, "rm")) {
        fprintf(stderr, "lmtune: error: cache: unknown subcommand '%s' (ls, scan or rm)\n", sub);
        rc = 2;
    }
    if (!rc && strcmp(sub, "rm") && n_pos > 1) { fprintf(stderr, "lmtune: error: cache %s: unexpected argument '%s'\n", sub, pos[1]); rc = 2; }
    if (!rc && !strcmp(sub, "rm") && n_pos < 2) { fprintf(stderr, "lmtune: error: cache rm needs a target (model/ORG/NAME, ORG/NAME or a commit)\n"); rc = 2; }
    if (rc) { free(pos); return rc < 0 ? 0 : rc; }
    lmt_hub_options o = *lmt_cli_hub_options();   /* main.c takes --cache_dir for every command */
    if (cache_dir) o.cache_dir = cache_dir;
    char *cache = lmt_hub_cache_dir(&o);
    if (!cache) { free(pos); return lmt_cli_fail(NULL); }
    rc = !strcmp(sub, "rm") ? cache_rm(cache, pos + 1, n_pos - 1, repo_type, dry_run) : cache_ls(cache, revisions, show_warnings);
    free(cache);
    free(pos);
    return rc;
}
