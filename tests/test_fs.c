/* core/fs: removing trees, copying and writing files, empty and writable folders, in
 * temporary folders under /tmp, failures included (the expected states come
 * from stat/readdir, not from lmtune). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/fs.h"
#include "core/util.h"
#include "harness.h"

static void put(const char *dir, const char *name, const char *text) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    if (f) { fputs(text, f); fclose(f); }
}

static bool exists(const char *dir, const char *name) {
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return lstat(p, &st) == 0;
}

int main(void) {
    char tmp[] = "/tmp/lmt-fs-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    char p[1024], q[1024];

    /* an empty folder has no entries; a missing one neither */
    CHECK(!lmt_dir_has_entries(tmp));
    snprintf(p, sizeof p, "%s/missing", tmp);
    CHECK(!lmt_dir_has_entries(p));
    put(tmp, "a.txt", "hello\n");
    CHECK(lmt_dir_has_entries(tmp));

    /* copy: byte-identical, including an empty file and a NUL byte */
    snprintf(p, sizeof p, "%s/a.txt", tmp);
    snprintf(q, sizeof q, "%s/b.txt", tmp);
    CHECK_OK(lmt_copy_file(p, q));
    char *d;
    size_t n;
    CHECK_OK(lmt_read_file(q, &d, &n));
    CHECK(n == 6 && !memcmp(d, "hello\n", 6));
    free(d);
    snprintf(p, sizeof p, "%s/nul.bin", tmp);
    FILE *f = fopen(p, "wb");
    fwrite("a\0b", 1, 3, f);
    fclose(f);
    snprintf(q, sizeof q, "%s/nul-copy.bin", tmp);
    CHECK_OK(lmt_copy_file(p, q));
    CHECK_OK(lmt_read_file(q, &d, &n));
    CHECK(n == 3 && !memcmp(d, "a\0b", 3));
    free(d);
    /* copy failures name the path */
    snprintf(p, sizeof p, "%s/none.txt", tmp);
    CHECK(lmt_copy_file(p, q) != LMT_OK && strstr(lmt_last_error(), "none.txt"));
    snprintf(p, sizeof p, "%s/a.txt", tmp);
    snprintf(q, sizeof q, "%s/no/such/dir/a.txt", tmp);
    CHECK(lmt_copy_file(p, q) != LMT_OK && strstr(lmt_last_error(), "no/such/dir"));

    /* dir/name written whole; a missing folder named */
    CHECK_OK(lmt_write_file_in(tmp, "w.json", "{}\n", 3));
    CHECK_OK(lmt_read_file(strcat(strcpy(p, tmp), "/w.json"), &d, &n));
    CHECK(n == 3 && !memcmp(d, "{}\n", 3));
    free(d);
    snprintf(p, sizeof p, "%s/absent", tmp);
    CHECK(lmt_write_file_in(p, "w.json", "x", 1) != LMT_OK && strstr(lmt_last_error(), "/absent/w.json"));

    /* rm -rf of a tree, with a symbolic link to a folder outside it that must survive */
    snprintf(p, sizeof p, "%s/keep", tmp);
    CHECK_OK(lmt_mkdirs(p));
    put(p, "precious.txt", "x");
    snprintf(p, sizeof p, "%s/tree/sub/deeper", tmp);
    CHECK_OK(lmt_mkdirs(p));
    snprintf(p, sizeof p, "%s/tree", tmp);
    put(p, "one.txt", "1");
    snprintf(p, sizeof p, "%s/tree/sub", tmp);
    put(p, "two.txt", "2");
    snprintf(p, sizeof p, "%s/keep", tmp);
    snprintf(q, sizeof q, "%s/tree/sub/link", tmp);
    CHECK(symlink(p, q) == 0);
    snprintf(p, sizeof p, "%s/tree", tmp);
    CHECK_OK(lmt_rm_rf(p));
    CHECK(!exists(tmp, "tree"));
    CHECK(exists(tmp, "keep/precious.txt"));
    /* a single file */
    snprintf(p, sizeof p, "%s/b.txt", tmp);
    CHECK_OK(lmt_rm_rf(p));
    CHECK(!exists(tmp, "b.txt"));
    /* a missing path is an error naming it */
    snprintf(p, sizeof p, "%s/gone", tmp);
    CHECK(lmt_rm_rf(p) != LMT_OK && strstr(lmt_last_error(), "/gone"));

    /* writable: creates the folder (and parents) and leaves nothing behind */
    snprintf(p, sizeof p, "%s/out/run", tmp);
    CHECK_OK(lmt_dir_ensure_writable(p));
    CHECK(exists(tmp, "out/run") && !lmt_dir_has_entries(p));
    /* a file where the folder should be */
    snprintf(p, sizeof p, "%s/a.txt/run", tmp);
    CHECK(lmt_dir_ensure_writable(p) != LMT_OK && strstr(lmt_last_error(), "a.txt"));
    /* a read-only folder (root may write anyway: then only the success path is checked) */
    snprintf(p, sizeof p, "%s/ro", tmp);
    CHECK_OK(lmt_mkdirs(p));
    CHECK(chmod(p, 0555) == 0);
    if (access(p, W_OK) != 0) CHECK(lmt_dir_ensure_writable(p) != LMT_OK && strstr(lmt_last_error(), "/ro"));
    CHECK(chmod(p, 0755) == 0);

    CHECK_OK(lmt_rm_rf(tmp));
    CHECK(!lmt_is_dir(tmp));
    return lmt_test_finish();
}
