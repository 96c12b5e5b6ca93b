/* One cache, two libraries. (1) The cache huggingface_hub 2.4.0 and
 * transformers 5.23.0 filled from the Hub stand-in
 * (tests/fixtures/hub/hf_filled_cache, tools/reference/make_hub_fixtures.py
 * interop) is read by lmtune with the network off. (2) lmtune fills a fresh
 * cache from the same stand-in with the same requests, and its tree must
 * hold every entry of huggingface_hub's (hf_cache_listing.txt) byte for
 * byte: blobs (size, sha256), snapshot links (targets), refs, .no_exist
 * markers, locks. lmtune may add .no_exist markers and locks (it asks for
 * more tokenizer files than AutoTokenizer does for GPT-2); it must not add
 * or change anything else. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/util.h"
#include "harness.h"
#include "hub/digest.h"
#include "hub_stand_in.h"
#include "lmtune/hub.h"
#include "lmtune/tokenizer.h"

#define MAIN "5632ccbbae4f90811b88d41e8c26af8711709b70"
#define V1 "06de167fe8eea1c55a3028cc804c8d4b955b40bf"
#define REPO "lmtune-test/tiny-gpt2"

typedef struct { char **lines; size_t n, cap; } listing;

static void add(listing *l, const char *line) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->lines = realloc(l->lines, l->cap * sizeof *l->lines);
    }
    l->lines[l->n++] = lmt_strdup(line);
}

/* the format of make_hub_fixtures.py: path, kind (d|f|l), then the link
 * target, "lock" for lock files, or "size sha256" */
static void walk(listing *l, const char *root, const char *rel) {
    char dir[2048];
    snprintf(dir, sizeof dir, "%s%s%s", root, *rel ? "/" : "", rel);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char r[2048], full[4096], line[4096];
        snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        snprintf(full, sizeof full, "%s/%s", root, r);
        struct stat st;
        if (lstat(full, &st) != 0) continue;
        if (S_ISLNK(st.st_mode)) {
            char target[1024];
            ssize_t k = readlink(full, target, sizeof target - 1);
            target[k > 0 ? k : 0] = '\0';
            snprintf(line, sizeof line, "%s\tl\t%s", r, target);
        } else if (S_ISDIR(st.st_mode)) {
            snprintf(line, sizeof line, "%s\td\t", r);
            add(l, line);
            walk(l, root, r);
            continue;
        } else if (!strncmp(r, ".locks/", 7)) {
            snprintf(line, sizeof line, "%s\tf\tlock", r);
        } else {
            char hex[65] = "";
            lmt_sha256_file(full, hex);
            snprintf(line, sizeof line, "%s\tf\t%lld %s", r, (long long)st.st_size, hex);
        }
        add(l, line);
    }
    closedir(d);
}

static bool has(const listing *l, const char *line) {
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->lines[i], line)) return true;
    return false;
}

static void free_listing(listing *l) {
    for (size_t i = 0; i < l->n; i++) free(l->lines[i]);
    free(l->lines);
}

static void load_and_check(const char *folder) {
    lmt_model *m = NULL;
    lmt_tokenizer *t = NULL;
    CHECK_OK(lmt_model_load(folder, &m));
    CHECK_OK(lmt_tokenizer_load(folder, &t));
    lmt_model_free(m);
    lmt_tokenizer_free(t);
}

/* (1) huggingface_hub's cache, offline */
static void read_hf_cache(const char *tmp) {
    char cache[512], cmd[1200];
    snprintf(cache, sizeof cache, "%s/hf-cache", tmp);
    snprintf(cmd, sizeof cmd, "cp -a '%s/tests/fixtures/hub/hf_filled_cache' '%s'", LMT_SOURCE_DIR, cache);
    CHECK(system(cmd) == 0);
    setenv("HF_HUB_OFFLINE", "1", 1);
    const char *revs[] = {"main", "v1.0", MAIN};
    const char *commits[] = {MAIN, V1, MAIN};
    for (int i = 0; i < 3; i++) {
        lmt_hub_options o = {.cache_dir = cache, .revision = revs[i]};
        char *folder = NULL;
        CHECK_OK(lmt_hub_resolve_model(REPO, &o, &folder, NULL));
        CHECK_MSG(folder && strstr(folder, commits[i]), "%s", revs[i]);
        if (folder) load_and_check(folder);
        free(folder);
    }
    lmt_hub_options o = {.cache_dir = cache};
    char *path = NULL;
    CHECK(lmt_hub_download(REPO, "nope.json", &o, &path) == LMT_ERR_NOT_FOUND);   /* its .no_exist */
    CHECK(strstr(lmt_last_error(), "no such file"));
    o.repo_type = LMT_REPO_DATASET;
    CHECK_OK(lmt_hub_download("lmtune-test/tiny-text", "train.jsonl", &o, &path));
    char want[1024];
    snprintf(want, sizeof want, "%s/tests/fixtures/hub/root/datasets--lmtune-test--tiny-text/commits/"
             "bdeedeca8e6c7a4a60f29b6afd2e4125f5b31db0/train.jsonl", LMT_SOURCE_DIR);
    char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    CHECK(path && lmt_read_file(path, &a, &na) == LMT_OK && lmt_read_file(want, &b, &nb) == LMT_OK && na == nb &&
          !memcmp(a, b, na));
    free(a);
    free(b);
    free(path);
    unsetenv("HF_HUB_OFFLINE");
}

/* (2) lmtune's cache against huggingface_hub's listing */
static void fill_like_hf(hub_stand_in *h) {
    const char *revs[] = {"main", "v1.0", MAIN};
    for (int i = 0; i < 3; i++) {
        lmt_hub_options o = {.revision = revs[i]};
        char *folder = NULL;
        CHECK_OK(lmt_hub_resolve_model(REPO, &o, &folder, NULL));
        free(folder);
    }
    char *path = NULL;
    CHECK(lmt_hub_download(REPO, "nope.json", NULL, &path) == LMT_ERR_NOT_FOUND);
    lmt_hub_options d = {.repo_type = LMT_REPO_DATASET};
    const char *files[] = {".gitattributes", "README.md", "train.jsonl", "validation.jsonl"};
    for (int i = 0; i < 4; i++) {
        CHECK_OK(lmt_hub_download("lmtune-test/tiny-text", files[i], &d, &path));
        free(path);
    }
    char cache[512];
    snprintf(cache, sizeof cache, "%s/cache", h->dir);
    listing ours = {0}, theirs = {0};
    walk(&ours, cache, "");
    char ref[1024];
    snprintf(ref, sizeof ref, "%s/tests/fixtures/hub/hf_cache_listing.txt", LMT_SOURCE_DIR);
    char *text = NULL;
    size_t len = 0;
    CHECK_OK(lmt_read_file(ref, &text, &len));
    for (char *line = text; text && *line;) {
        char *end = strchr(line, '\n');
        if (end) *end = '\0';
        if (*line) add(&theirs, line);
        line = end ? end + 1 : line + strlen(line);
    }
    free(text);
    CHECK(theirs.n > 50);
    for (size_t i = 0; i < theirs.n; i++) {
        const char *t = theirs.lines[i];
        /* trees/<commit>.json: huggingface_hub's cache of the repo listing (snapshot_download); not a file's bytes */
        if (strstr(t, "/trees")) continue;
        CHECK_MSG(has(&ours, t), "huggingface_hub has, lmtune lacks: %s", t);
    }
    for (size_t i = 0; i < ours.n; i++) {
        const char *o = ours.lines[i];
        if (has(&theirs, o)) continue;
        bool extra_ok = (strstr(o, "/.no_exist/") && strstr(o, "\tf\t0 ")) || strstr(o, "/.no_exist\t") ||
                        (strstr(o, "/.no_exist/") && strstr(o, "\td\t")) || !strncmp(o, ".locks/", 7);
        CHECK_MSG(extra_ok, "lmtune has, huggingface_hub lacks: %s", o);
    }
    free_listing(&ours);
    free_listing(&theirs);
}

int main(void) {
    hub_stand_in h;
    if (!hub_start(&h, "hubinterop")) { fprintf(stderr, "cannot start %s\n", LMT_HUB_SERVER); return 1; }
    read_hf_cache(h.dir);
    fill_like_hf(&h);
    hub_finish(&h);
    return lmt_test_finish();
}
