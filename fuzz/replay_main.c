/* Replays inputs through a harness's lmt_fuzz_one without libFuzzer (any
 * compiler): each argument is a file, or a folder whose files are all run
 * (sorted by name). The regression tests (fuzz_replay_<name>) run the kept
 * findings of tests/fixtures/fuzz/<name>/ this way; a crash or a sanitizer
 * report fails them. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fuzz_common.h"
#include "core/error.h"

static int run_file(const char *path) {
    char *data = NULL;
    size_t len = 0;
    if (lmt_read_file(path, &data, &len) != LMT_OK) {
        fprintf(stderr, "%s: %s\n", path, lmt_last_error());
        return 1;
    }
    /* an exact-size copy, so that reading past the input shows up under ASan */
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) abort();
    memcpy(copy, data, len);
    free(data);
    lmt_clear_error();
    lmt_fuzz_one(copy, len);
    /* LMT_FUZZ_VERBOSE=1: what the library said about the input (the last error) */
    if (getenv("LMT_FUZZ_VERBOSE")) fprintf(stderr, "%s: %s\n", path, lmt_last_error()[0] ? lmt_last_error() : "accepted");
    free(copy);
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    int failed = 0, ran = 0;
    if (argc == 3 && !strcmp(argv[1], "--make-seeds")) {
        if (!lmt_fuzz_make_seeds) return 0;   /* this harness's seeds come from the fixtures */
        return lmt_fuzz_make_seeds(argv[2]);
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) continue;   /* no kept inputs yet */
        if (!S_ISDIR(st.st_mode)) { failed |= run_file(argv[i]); ran++; continue; }
        DIR *d = opendir(argv[i]);
        if (!d) { perror(argv[i]); return 1; }
        char **names = NULL;
        size_t n = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.' || !strcmp(e->d_name, "README.md")) continue;
            char **g = realloc(names, (n + 1) * sizeof *names);
            if (!g) abort();
            names = g;
            names[n] = malloc(strlen(argv[i]) + strlen(e->d_name) + 2);
            if (!names[n]) abort();
            sprintf(names[n++], "%s/%s", argv[i], e->d_name);
        }
        closedir(d);
        qsort(names, n, sizeof *names, by_name);
        for (size_t k = 0; k < n; k++) {
            failed |= run_file(names[k]);
            ran++;
            free(names[k]);
        }
        free(names);
    }
    printf("replayed %d inputs\n", ran);
    return failed;
}
