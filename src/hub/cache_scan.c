/* scan_cache_dir and cache deletion (hub/cache_scan.h), as
 * huggingface_hub's utils/_cache_manager.py. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/error.h"
#include "core/util.h"
#include "hub/cache_scan.h"

static const char *const os_files[] = {".DS_Store", "Thumbs.db", "desktop.ini", NULL};   /* FILES_TO_IGNORE */

static bool os_file(const char *name) {
    for (size_t i = 0; os_files[i]; i++)
        if (!strcmp(name, os_files[i])) return true;
    return false;
}

static double mtime_of(const struct stat *sb) { return (double)sb->st_mtim.tv_sec + sb->st_mtim.tv_nsec * 1e-9; }
static double atime_of(const struct stat *sb) { return (double)sb->st_atim.tv_sec + sb->st_atim.tv_nsec * 1e-9; }

typedef struct { char *path; struct stat sb; } blob_stat;
typedef struct { blob_stat *v; size_t n, cap; } blob_set;

/* index of path in the set, added when new (-1: out of memory) */
static long blob_index(blob_set *b, const char *path, const struct stat *sb) {
    for (size_t i = 0; i < b->n; i++)
        if (!strcmp(b->v[i].path, path)) return (long)i;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        blob_stat *v = realloc(b->v, cap * sizeof *v);
        if (!v) return -1;
        b->v = v;
        b->cap = cap;
    }
    if (!(b->v[b->n].path = lmt_strdup(path))) return -1;
    b->v[b->n].sb = *sb;
    return (long)b->n++;
}

static void blob_set_free(blob_set *b) {
    for (size_t i = 0; i < b->n; i++) free(b->v[i].path);
    free(b->v);
}

/* abspath(dirname(link) / readlink(link)) with "." and ".." folded */
static char *link_target(const char *file) {
    char t[4096];
    ssize_t n = readlink(file, t, sizeof t - 1);
    if (n < 0) return lmt_strdup(file);
    t[n] = '\0';
    lmt_strbuf b;
    lmt_sb_init(&b);
    if (t[0] != '/') {
        const char *slash = strrchr(file, '/');
        lmt_sb_append(&b, file, slash ? (size_t)(slash - file) : 0);
        lmt_sb_putc(&b, '/');
    }
    lmt_sb_puts(&b, t);
    char *raw = lmt_sb_take(&b);
    if (!raw) return NULL;
    /* fold the parts */
    char *out = malloc(strlen(raw) + 2), *save = NULL;
    size_t len = 0;
    if (out) {
        out[0] = '\0';
        for (char *p = strtok_r(raw, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
            if (!strcmp(p, ".")) continue;
            if (!strcmp(p, "..")) {
                char *s = strrchr(out, '/');
                len = s ? (size_t)(s - out) : 0;
                out[len] = '\0';
                continue;
            }
            len += (size_t)sprintf(out + len, "/%s", p);
        }
        if (!len) strcpy(out, "/");
    }
    free(raw);
    return out;
}

static void repo_free(lmt_hub_cached_repo *r) {
    for (size_t i = 0; i < r->n_revisions; i++) {
        free(r->revisions[i].commit);
        free(r->revisions[i].snapshot_path);
        lmt_hub_names_free(&r->revisions[i].refs);
    }
    free(r->revisions);
    free(r->repo_id);
    free(r->repo_path);
    free(r->cache_id);
    memset(r, 0, sizeof *r);
}

/* LMT_ERR_FORMAT (message set) for a corrupted repo */
static lmt_status scan_repo(const char *path, const char *name, lmt_hub_cached_repo *r, blob_set *all) {
    memset(r, 0, sizeof *r);
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) return lmt_fail(LMT_ERR_FORMAT, "Repo path is not a directory: %s", path);
    const char *dd = strstr(name, "--");
    if (!dd) return lmt_fail(LMT_ERR_FORMAT, "Repo path is not a valid HuggingFace cache directory: %s", path);
    size_t tn = (size_t)(dd - name);
    r->repo_type = tn == 6 && !strncmp(name, "models", 6) ? "model" : tn == 8 && !strncmp(name, "datasets", 8) ? "dataset"
                 : tn == 6 && !strncmp(name, "spaces", 6) ? "space" : NULL;
    if (!r->repo_type)
        return lmt_fail(LMT_ERR_FORMAT, "Repo type must be one of ['datasets', 'models', 'spaces'], found `%.*s` (%s).", (int)tn, name, path);
    char *snapshots = lmt_path_join(path, "snapshots"), *refs = lmt_path_join(path, "refs");
    lmt_hub_names ref_names = {0}, ref_commits = {0}, revs = {0};
    blob_set blobs = {0};
    lmt_status st = snapshots && refs ? LMT_OK : lmt_fail(LMT_ERR_NOMEM, "out of memory");
    if (st == LMT_OK && !lmt_is_dir(snapshots)) st = lmt_fail(LMT_ERR_FORMAT, "Snapshots dir doesn't exist in cached repo: %s", snapshots);
    if (st == LMT_OK && lmt_file_exists(refs) && !lmt_is_dir(refs)) st = lmt_fail(LMT_ERR_FORMAT, "Refs directory cannot be a file: %s", refs);
    if (st == LMT_OK) st = lmt_hub_walk_files(refs, &ref_names);
    for (size_t i = 0; st == LMT_OK && i < ref_names.n; i++) {
        const char *base = strrchr(ref_names.v[i], '/') ? strrchr(ref_names.v[i], '/') + 1 : ref_names.v[i];
        char *p = lmt_path_join(refs, ref_names.v[i]), *data = NULL;
        size_t len = 0;
        if (os_file(base)) st = lmt_hub_names_push(&ref_commits, "");
        else if (p && (st = lmt_read_file(p, &data, &len)) == LMT_OK) st = lmt_hub_names_push(&ref_commits, data);
        free(p);
        free(data);
    }
    if (st == LMT_OK) {
        DIR *d = opendir(snapshots);
        struct dirent *e;
        while (d && (e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && !os_file(e->d_name) && st == LMT_OK) st = lmt_hub_names_push(&revs, e->d_name);
        if (d) closedir(d);
        lmt_hub_names_sort(&revs);
    }
    r->revisions = revs.n ? calloc(revs.n, sizeof *r->revisions) : NULL;
    if (st == LMT_OK && revs.n && !r->revisions) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == LMT_OK && i < revs.n; i++) {
        lmt_hub_cached_revision *rv = &r->revisions[r->n_revisions];
        char *rp = lmt_path_join(snapshots, revs.v[i]);
        if (!rp) { st = lmt_fail(LMT_ERR_NOMEM, "out of memory"); break; }
        if (!lmt_is_dir(rp)) { st = lmt_fail(LMT_ERR_FORMAT, "Snapshots folder corrupted. Found a file: %s", rp); free(rp); break; }
        r->n_revisions++;
        rv->commit = lmt_strdup(revs.v[i]);
        rv->snapshot_path = rp;
        lmt_hub_names files = {0};
        st = lmt_hub_walk_files(rp, &files);
        lmt_hub_names seen = {0};
        for (size_t k = 0; st == LMT_OK && k < files.n; k++) {
            char *fp = lmt_path_join(rp, files.v[k]);
            char *bp = fp ? link_target(fp) : NULL;
            struct stat bs;
            if (!bp) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
            else if (stat(bp, &bs) != 0) st = lmt_fail(LMT_ERR_FORMAT, "Blob missing (broken symlink): %s", bp);
            else {
                long at = blob_index(&blobs, bp, &bs);
                if (at < 0) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
                else {
                    rv->n_files++;
                    double m = mtime_of(&bs);
                    if (m > rv->last_modified) rv->last_modified = m;
                    bool dup = false;
                    for (size_t q = 0; q < seen.n && !dup; q++) dup = !strcmp(seen.v[q], bp);
                    if (!dup) { rv->size_on_disk += bs.st_size; st = lmt_hub_names_push(&seen, bp); }
                }
            }
            free(fp);
            free(bp);
        }
        lmt_hub_names_free(&seen);
        lmt_hub_names_free(&files);
        struct stat rs;
        if (st == LMT_OK && rv->n_files == 0 && stat(rp, &rs) == 0) rv->last_modified = mtime_of(&rs);
        for (size_t k = 0; st == LMT_OK && k < ref_names.n; k++)
            if (ref_commits.v[k][0] && !strcmp(ref_commits.v[k], rv->commit)) {
                st = lmt_hub_names_push(&rv->refs, ref_names.v[k]);
                ref_commits.v[k][0] = '\0';
            }
    }
    if (st == LMT_OK) {   /* refs naming no snapshot */
        lmt_strbuf b;
        lmt_sb_init(&b);
        for (size_t k = 0; k < ref_names.n; k++)
            if (ref_commits.v[k][0]) lmt_sb_printf(&b, "%s'%s': {'%s'}", b.len ? ", " : "", ref_commits.v[k], ref_names.v[k]);
        if (b.len) st = lmt_fail(LMT_ERR_FORMAT, "Reference(s) refer to missing commit hashes: {%s} (%s).", b.data, path);
        lmt_sb_free(&b);
    }
    if (st == LMT_OK) {
        for (size_t i = 0; i < blobs.n; i++) {
            r->size_on_disk += blobs.v[i].sb.st_size;
            double a = atime_of(&blobs.v[i].sb), m = mtime_of(&blobs.v[i].sb);
            if (a > r->last_accessed) r->last_accessed = a;
            if (m > r->last_modified) r->last_modified = m;
            if (blob_index(all, blobs.v[i].path, &blobs.v[i].sb) < 0) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
        }
        r->n_files = blobs.n;
        if (!blobs.n) { r->last_accessed = atime_of(&sb); r->last_modified = mtime_of(&sb); }
        r->repo_id = lmt_strdup(dd + 2);
        for (char *p = r->repo_id; p && (p = strstr(p, "--"));) memmove(p, p + 1, strlen(p + 1) + 1), *p++ = '/';
        r->repo_path = lmt_strdup(path);
        size_t cn = strlen(r->repo_type) + (r->repo_id ? strlen(r->repo_id) : 0) + 2;
        if ((r->cache_id = malloc(cn))) snprintf(r->cache_id, cn, "%s/%s", r->repo_type, r->repo_id ? r->repo_id : "");
        if (!r->repo_id || !r->repo_path || !r->cache_id) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
    }
    if (st != LMT_OK) repo_free(r);
    blob_set_free(&blobs);
    lmt_hub_names_free(&ref_names);
    lmt_hub_names_free(&ref_commits);
    lmt_hub_names_free(&revs);
    free(snapshots);
    free(refs);
    return st;
}

static int cmp_repo(const void *a, const void *b) {
    const lmt_hub_cached_repo *x = a, *y = b;
    int c = strcmp(x->repo_type, y->repo_type);
    return c ? c : strcasecmp(x->repo_id, y->repo_id);
}

lmt_status lmt_hub_scan_cache(const char *cache, lmt_hub_cache_info *out) {
    memset(out, 0, sizeof *out);
    if (!lmt_is_dir(cache)) {
        if (lmt_file_exists(cache)) return lmt_fail(LMT_ERR_ARG, "Scan cache expects a directory but found a file: %s", cache);
        return lmt_fail(LMT_ERR_NOT_FOUND, "Cache directory not found: %s. Please use --cache_dir or set the HF_HUB_CACHE environment variable.", cache);
    }
    lmt_hub_names names = {0};
    DIR *d = opendir(cache);
    if (!d) return lmt_fail(LMT_ERR_IO, "%s: cannot list: %s", cache, strerror(errno));
    lmt_status st = LMT_OK;
    struct dirent *e;
    while (st == LMT_OK && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, ".locks") && strcmp(e->d_name, "CACHEDIR.TAG") &&
            !os_file(e->d_name))
            st = lmt_hub_names_push(&names, e->d_name);
    closedir(d);
    lmt_hub_names_sort(&names);
    blob_set all = {0};
    out->repos = names.n ? calloc(names.n, sizeof *out->repos) : NULL;
    if (names.n && !out->repos) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == LMT_OK && i < names.n; i++) {
        char *p = lmt_path_join(cache, names.v[i]);
        if (!p) { st = lmt_fail(LMT_ERR_NOMEM, "out of memory"); break; }
        lmt_status rs = scan_repo(p, names.v[i], &out->repos[out->n_repos], &all);
        if (rs == LMT_OK) out->n_repos++;
        else if (rs == LMT_ERR_FORMAT) { st = lmt_hub_names_push(&out->warnings, lmt_last_error()); lmt_clear_error(); }
        else st = rs;
        free(p);
    }
    for (size_t i = 0; i < all.n; i++) out->size_on_disk += all.v[i].sb.st_size;
    blob_set_free(&all);
    lmt_hub_names_free(&names);
    if (st != LMT_OK) lmt_hub_cache_info_free(out);
    else if (out->n_repos > 1) qsort(out->repos, out->n_repos, sizeof *out->repos, cmp_repo);
    return st;
}

void lmt_hub_cache_info_free(lmt_hub_cache_info *info) {
    for (size_t i = 0; i < info->n_repos; i++) repo_free(&info->repos[i]);
    free(info->repos);
    lmt_hub_names_free(&info->warnings);
    memset(info, 0, sizeof *info);
}

const lmt_hub_cached_repo *lmt_hub_cache_find(const lmt_hub_cache_info *info, const char *cache_id) {
    for (size_t i = 0; i < info->n_repos; i++)
        if (!strcasecmp(info->repos[i].cache_id, cache_id)) return &info->repos[i];
    return NULL;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)flag; (void)ftw;
    return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

static lmt_status rm_tree(const char *path) {
    struct stat sb;
    if (lstat(path, &sb) != 0) return LMT_OK;
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0) return lmt_fail(LMT_ERR_IO, "%s: cannot delete: %s", path, strerror(errno));
    return LMT_OK;
}

lmt_status lmt_hub_cache_delete_repo(const char *cache, const lmt_hub_cached_repo *repo) {
    LMT_TRY(rm_tree(repo->repo_path));
    const char *folder = strrchr(repo->repo_path, '/') ? strrchr(repo->repo_path, '/') + 1 : repo->repo_path;
    char *locks = lmt_path_join(cache, ".locks");
    char *mine = locks ? lmt_path_join(locks, folder) : NULL;
    lmt_status st = mine ? rm_tree(mine) : lmt_fail(LMT_ERR_NOMEM, "out of memory");
    free(locks);
    free(mine);
    return st;
}

void lmt_hub_format_size(int64_t bytes, char *buf, size_t cap) {
    static const char *const units[] = {"", "K", "M", "G", "T", "P", "E", "Z"};
    double x = (double)bytes;
    for (int i = 0; i < 8; i++) {
        if (fabs(x) < 1000.0) { snprintf(buf, cap, "%3.1f%s", x, units[i]); return; }
        x /= 1000.0;
    }
    snprintf(buf, cap, "%.1fY", x);
}

void lmt_hub_format_timesince(double ts, char *buf, size_t cap) {
    static const struct { const char *label; double div; int max; } chunks[] = {
        {"second", 1, 59}, {"minute", 60, 59}, {"hour", 3600, 23}, {"day", 86400, 6}, {"week", 604800, 6},
        {"month", 2592000, 11}, {"year", 31536000, -1}};
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double delta = (double)now.tv_sec + now.tv_nsec * 1e-9 - ts;
    if (delta < 20) { snprintf(buf, cap, "a few seconds ago"); return; }
    long v = 0;
    size_t i = 0;
    for (; i < 7; i++) {
        v = lrint(delta / chunks[i].div);   /* Python's round: half to even */
        if (chunks[i].max >= 0 && v <= chunks[i].max) break;
    }
    if (i == 7) i = 6;
    snprintf(buf, cap, "%ld %s%s ago", v, chunks[i].label, v > 1 ? "s" : "");
}
