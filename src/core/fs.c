#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/error.h"
#include "core/fs.h"
#include "core/util.h"

lmt_status lmt_rm_rf(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return lmt_fail(LMT_ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return unlink(path) == 0 ? LMT_OK : lmt_fail(LMT_ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
    DIR *d = opendir(path);
    if (!d) return lmt_fail(LMT_ERR_IO, "%s: cannot open directory: %s", path, strerror(errno));
    struct dirent *e;
    lmt_status s = LMT_OK;
    while (s == LMT_OK && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *p = lmt_path_join(path, e->d_name);
        s = p ? lmt_rm_rf(p) : lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", path);
        free(p);
    }
    closedir(d);
    if (s == LMT_OK && rmdir(path) != 0) s = lmt_fail(LMT_ERR_IO, "%s: cannot remove directory: %s", path, strerror(errno));
    return s;
}

lmt_status lmt_write_file_in(const char *dir, const char *name, const void *data, size_t len) {
    char *p = lmt_path_join(dir, name);
    if (!p) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", dir);
    lmt_status s = lmt_write_file_atomic(p, data, len);
    free(p);
    return s;
}

lmt_status lmt_copy_file(const char *src, const char *dst) {
    char *d;
    size_t n;
    LMT_TRY(lmt_read_file(src, &d, &n));
    lmt_status s = lmt_write_file_atomic(dst, d, n);
    free(d);
    return s;
}

bool lmt_dir_has_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return false;
    struct dirent *e;
    bool any = false;
    while (!any && (e = readdir(d))) any = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return any;
}

lmt_status lmt_dir_ensure_writable(const char *dir) {
    LMT_TRY(lmt_mkdirs(dir));
    char *probe = lmt_path_join(dir, ".lmtune-write-test");
    if (!probe) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", dir);
    lmt_status s = lmt_write_file_atomic(probe, "", 0);
    if (s == LMT_OK) unlink(probe);
    free(probe);
    return s;
}

lmt_status lmt_dir_check_creatable(const char *dir) {
    if (!dir || !dir[0]) return lmt_fail(LMT_ERR_ARG, "no folder given");
    char *p = lmt_strdup(dir);
    if (!p) return lmt_fail(LMT_ERR_NOMEM, "%s: out of memory", dir);
    lmt_status s = LMT_OK;
    struct stat st;
    /* the folder itself, else its nearest existing ancestor */
    for (;;) {
        if (stat(p, &st) == 0) {
            if (!S_ISDIR(st.st_mode)) s = lmt_fail(LMT_ERR_IO, "%s: %s is not a folder", dir, p);
            else if (access(p, W_OK | X_OK) != 0) s = lmt_fail(LMT_ERR_IO, "%s: %s is not writable: %s", dir, p, strerror(errno));
            break;
        }
        if (errno != ENOENT && errno != ENOTDIR) { s = lmt_fail(LMT_ERR_IO, "%s: %s", p, strerror(errno)); break; }
        char *slash = strrchr(p, '/');
        while (slash && slash > p && slash[1] == '\0') { *slash = '\0'; slash = strrchr(p, '/'); }
        if (!slash) { strcpy(p, "."); continue; }
        if (slash == p) { p[1] = '\0'; continue; }
        *slash = '\0';
    }
    free(p);
    return s;
}
