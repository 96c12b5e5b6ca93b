/* The huggingface_hub cache layout (hub/cache.h). The rules - which
 * environment variable wins, how refs are written, where locks live - are
 * huggingface_hub's (constants.py, file_download.py), so the two share one
 * cache. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/error.h"
#include "core/util.h"
#include "hub/cache.h"

bool lmt_hub_env_true(const char *name) {
    const char *v = getenv(name);
    if (!v) return false;
    static const char *const yes[] = {"1", "ON", "YES", "TRUE"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!strcasecmp(v, yes[i])) return true;
    return false;
}

static const char *env_nonempty(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* os.path.expanduser for "~" and "~/..." */
static char *expand_user(const char *p) {
    if (p[0] == '~' && (p[1] == '/' || p[1] == '\0')) {
        const char *home = env_nonempty("HOME");
        if (home) return lmt_path_join(home, p[1] ? p + 2 : "");
    }
    return lmt_strdup(p);
}

char *lmt_hub_home(void) {
    const char *v = env_nonempty("HF_HOME");
    if (v) return expand_user(v);
    const char *xdg = env_nonempty("XDG_CACHE_HOME");
    if (xdg) return lmt_path_join(xdg, "huggingface");
    char *cache = expand_user("~/.cache");
    char *home = lmt_path_join(cache, "huggingface");
    free(cache);
    return home;
}

char *lmt_hub_cache_dir(const lmt_hub_options *o) {
    if (o && o->cache_dir && *o->cache_dir) return expand_user(o->cache_dir);
    const char *v = env_nonempty("HF_HUB_CACHE");
    if (!v) v = env_nonempty("HUGGINGFACE_HUB_CACHE");
    if (v) return expand_user(v);
    char *home = lmt_hub_home();
    char *hub = lmt_path_join(home, "hub");
    free(home);
    return hub;
}

char *lmt_hub_repo_folder(const char *repo_id, lmt_repo_type type) {
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_puts(&b, type == LMT_REPO_DATASET ? "datasets--" : "models--");
    for (const char *p = repo_id; *p; p++) {
        if (*p == '/') lmt_sb_puts(&b, "--");
        else lmt_sb_putc(&b, *p);
    }
    return lmt_sb_take(&b);
}

bool lmt_hub_is_commit(const char *rev) {
    if (!rev || strlen(rev) != 40) return false;
    for (int i = 0; i < 40; i++)
        if (!isdigit((unsigned char)rev[i]) && !(rev[i] >= 'a' && rev[i] <= 'f')) return false;
    return true;
}

bool lmt_hub_valid_filename(const char *file) {
    if (!file || !*file || file[0] == '/' || strchr(file, '\\')) return false;
    const char *p = file;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) return false;
        p += n;
        if (*p == '/') p++;
        if (e && !*p) return false;   /* trailing slash */
    }
    return true;
}

static char *join3(const char *a, const char *b, const char *c) {
    char *ab = lmt_path_join(a, b);
    char *abc = ab ? lmt_path_join(ab, c) : NULL;
    free(ab);
    return abc;
}

char *lmt_hub_ref_read(const char *storage, const char *rev) {
    char *path = join3(storage, "refs", rev);
    char *data = NULL;
    size_t len = 0;
    bool ok = path && lmt_is_dir(path) == false && lmt_file_exists(path) && lmt_read_file(path, &data, &len) == LMT_OK;
    free(path);
    if (!ok) { lmt_clear_error(); return NULL; }
    /* huggingface_hub writes the hash alone; tolerate a newline from other writers */
    while (len && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' ')) data[--len] = '\0';
    if (!lmt_hub_is_commit(data)) { free(data); return NULL; }
    return data;
}

static lmt_status mkdirs_for(const char *path) {
    char *dir = lmt_strdup(path);
    if (!dir) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    lmt_status st = LMT_OK;
    if (slash && slash != dir) { *slash = '\0'; st = lmt_mkdirs(dir); }
    free(dir);
    return st;
}

lmt_status lmt_hub_ref_write(const char *storage, const char *rev, const char *commit) {
    if (!strcmp(rev, commit)) return LMT_OK;
    char *old = lmt_hub_ref_read(storage, rev);
    bool same = old && !strcmp(old, commit);
    free(old);
    if (same) return LMT_OK;
    char *path = join3(storage, "refs", rev);
    if (!path) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_status st = mkdirs_for(path);
    if (st == LMT_OK) st = lmt_write_file_atomic(path, commit, strlen(commit));
    free(path);
    return st;
}

char *lmt_hub_pointer_path(const char *storage, const char *commit, const char *file) {
    char *snap = join3(storage, "snapshots", commit);
    char *p = snap ? lmt_path_join(snap, file) : NULL;
    free(snap);
    return p;
}

static char *no_exist_path(const char *storage, const char *commit, const char *file) {
    char *dir = join3(storage, ".no_exist", commit);
    char *p = dir ? lmt_path_join(dir, file) : NULL;
    free(dir);
    return p;
}

bool lmt_hub_no_exist(const char *storage, const char *commit, const char *file) {
    char *p = no_exist_path(storage, commit, file);
    bool yes = p && lmt_file_exists(p);
    free(p);
    return yes;
}

void lmt_hub_mark_no_exist(const char *storage, const char *commit, const char *file) {
    char *p = no_exist_path(storage, commit, file);
    if (p && mkdirs_for(p) == LMT_OK) {
        int fd = open(p, O_WRONLY | O_CREAT, 0644);
        if (fd >= 0) close(fd);
    }
    lmt_clear_error();
    free(p);
}

/* os.path.abspath: absolute, with "." and ".." folded textually (links are
 * not resolved, as Python does not). */
static char *abspath(const char *path) {
    lmt_strbuf b;
    lmt_sb_init(&b);
    if (path[0] != '/') {
        char cwd[4096];
        if (!getcwd(cwd, sizeof cwd)) return NULL;
        lmt_sb_puts(&b, cwd);
    }
    const char *p = path;
    while (*p) {
        while (*p == '/') p++;
        const char *e = p;
        while (*e && *e != '/') e++;
        size_t n = (size_t)(e - p);
        if (n == 0 || (n == 1 && p[0] == '.')) { /* skip */ }
        else if (n == 2 && p[0] == '.' && p[1] == '.') {
            while (b.len && b.data[b.len - 1] != '/') b.len--;
            if (b.len) b.len--;
            if (b.data) b.data[b.len] = '\0';
        } else {
            lmt_sb_putc(&b, '/');
            lmt_sb_append(&b, p, n);
        }
        p = e;
    }
    if (b.len == 0) lmt_sb_putc(&b, '/');
    return lmt_sb_take(&b);
}

/* os.path.relpath(target, start) for absolute, folded paths */
static char *relpath(const char *target, const char *start) {
    size_t common = 0, i = 0;
    for (;; i++) {
        char a = target[i], s = start[i];
        bool a_end = a == '\0' || a == '/', s_end = s == '\0' || s == '/';
        if (a_end && s_end) common = i;
        if (a != s || a == '\0') break;
    }
    lmt_strbuf b;
    lmt_sb_init(&b);
    for (const char *p = start + common; *p; p++)
        if (*p == '/') lmt_sb_puts(&b, b.len ? "/.." : "..");
    const char *rest = target + common;
    if (*rest == '/') rest++;
    if (*rest) {
        if (b.len) lmt_sb_putc(&b, '/');
        lmt_sb_puts(&b, rest);
    }
    if (!b.len) lmt_sb_putc(&b, '.');
    return lmt_sb_take(&b);
}

lmt_status lmt_hub_link_blob(const char *blob, const char *pointer) {
    LMT_TRY(mkdirs_for(pointer));
    char *abs_blob = abspath(blob), *abs_ptr = abspath(pointer);
    char *dir = abs_ptr ? lmt_strdup(abs_ptr) : NULL;
    char *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash) *slash = '\0';
    char *rel = abs_blob && dir ? relpath(abs_blob, dir[0] ? dir : "/") : NULL;
    lmt_status st = LMT_OK;
    if (!rel) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
    else {
        unlink(pointer);
        if (symlink(rel, pointer) != 0 && errno != EEXIST)
            st = lmt_fail(LMT_ERR_IO, "%s: cannot create the link to %s: %s", pointer, rel, strerror(errno));
    }
    free(abs_blob);
    free(abs_ptr);
    free(dir);
    free(rel);
    return st;
}

void lmt_hub_tag_cache(const char *cache) {
    static const char tag[] = "Signature: 8a477f597d28d172789f06886806bc55\n"
                              "# This file is a cache directory tag created by huggingface_hub.\n"
                              "# For information about cache directory tags, see:\n"
                              "#\thttps://bford.info/cachedir/\n";
    char *path = lmt_path_join(cache, "CACHEDIR.TAG");
    if (path && !lmt_file_exists(path)) lmt_write_file_atomic(path, tag, sizeof tag - 1);
    lmt_clear_error();
    free(path);
}

int lmt_hub_lock(const char *path) {
    if (mkdirs_for(path) != LMT_OK) return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        lmt_fail(LMT_ERR_IO, "%s: cannot open the lock file: %s", path, strerror(errno));
        return -1;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        lmt_fail(LMT_ERR_IO, "%s: cannot lock: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

void lmt_hub_unlock(int fd) {
    if (fd < 0) return;
    flock(fd, LOCK_UN);
    close(fd);
}
