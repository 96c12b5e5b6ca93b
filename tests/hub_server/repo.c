/* The repos of the fixture root: ROOT/models--ORG--NAME/ (datasets--...)
 * with `refs` (lines "REVISION COMMIT"), commits/COMMIT/ (the file tree of
 * each commit), the flags `private`, `gated`, `moved_to`, and lfs/SHA256
 * (uploaded LFS objects not yet committed). Names, revisions, hashes. */
#include <dirent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "hub.h"

static const char hexdigits[] = "0123456789abcdef";

static void to_hex(const unsigned char *d, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdigits[d[i] >> 4];
        out[2 * i + 1] = hexdigits[d[i] & 15];
    }
    out[2 * n] = '\0';
}

void git_blob_sha1(const void *data, size_t len, char out[41]) {
    char hdr[64];
    int hl = snprintf(hdr, sizeof hdr, "blob %zu", len);
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dn = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c || !EVP_DigestInit_ex(c, EVP_sha1(), NULL) ||
        !EVP_DigestUpdate(c, hdr, (size_t)hl + 1) ||   /* with the NUL */
        !EVP_DigestUpdate(c, data, len) || !EVP_DigestFinal_ex(c, d, &dn))
        dn = 0;
    EVP_MD_CTX_free(c);
    to_hex(d, dn, out);
}

void sha256_hex(const void *data, size_t len, char out[65]) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dn = 0;
    if (!EVP_Digest(data, len, d, &dn, EVP_sha256(), NULL)) dn = 0;
    to_hex(d, dn, out);
}

bool is_hex(const char *s, size_t n) {
    if (strlen(s) != n) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

bool is_lfs_file(const char *path, uint64_t size) {
    static const char *const ext[] = { ".safetensors", ".bin", ".model", ".spm", ".pt", ".pth",
                                       ".h5", ".msgpack", ".gguf", ".onnx" };
    if (size >= (10u << 20)) return true;
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t k = strlen(ext[i]);
        if (n > k && strcmp(path + n - k, ext[i]) == 0) return true;
    }
    return false;
}

char *lfs_pointer_text(const char *sha256, uint64_t size) {
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_printf(&b, "version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %llu\n",
                  sha256, (unsigned long long)size);
    return lmt_sb_take(&b);
}

static bool valid_name(const char *s) {
    if (!*s || *s == '.' || *s == '-' || strlen(s) > 96 || strstr(s, "--") || strstr(s, "..")) return false;
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '_' || *c == '.'))
            return false;
    return true;
}

bool repo_ref_make(repo_ref *rr, bool dataset, char **segs, int n) {
    memset(rr, 0, sizeof *rr);
    if (n < 1 || n > 2 || !valid_name(segs[0]) || (n == 2 && !valid_name(segs[1]))) return false;
    rr->dataset = dataset;
    const char *kind = dataset ? "datasets" : "models";
    if (n == 1) {
        snprintf(rr->id, sizeof rr->id, "%s", segs[0]);
        snprintf(rr->folder, sizeof rr->folder, "%s--%s", kind, segs[0]);
    } else {
        snprintf(rr->id, sizeof rr->id, "%s/%s", segs[0], segs[1]);
        snprintf(rr->folder, sizeof rr->folder, "%s--%s--%s", kind, segs[0], segs[1]);
    }
    rr->dir = lmt_path_join(g_hub.root, rr->folder);
    return rr->dir != NULL;
}

bool repo_ref_from_folder(repo_ref *rr, const char *folder) {
    memset(rr, 0, sizeof *rr);
    bool dataset = strncmp(folder, "datasets--", 10) == 0;
    if (!dataset && strncmp(folder, "models--", 8) != 0) return false;
    if (strchr(folder, '/') || strstr(folder, "..") || strlen(folder) >= sizeof rr->folder) return false;
    rr->dataset = dataset;
    strcpy(rr->folder, folder);
    rr->dir = lmt_path_join(g_hub.root, folder);
    return rr->dir != NULL;
}

void repo_ref_free(repo_ref *rr) { free(rr->dir); rr->dir = NULL; }

static char *repo_path(const repo_ref *rr, const char *a, const char *b) {
    lmt_strbuf s;
    lmt_sb_init(&s);
    lmt_sb_printf(&s, "%s/%s%s%s", rr->dir, a, b ? "/" : "", b ? b : "");
    return lmt_sb_take(&s);
}

static bool path_is(const char *path, mode_t type) {
    struct stat sb;
    return path && stat(path, &sb) == 0 && (sb.st_mode & S_IFMT) == type;
}

bool repo_has_flag(const repo_ref *rr, const char *flag) {
    char *p = repo_path(rr, flag, NULL);
    bool yes = path_is(p, S_IFREG);
    free(p);
    return yes;
}

bool repo_exists(const repo_ref *rr) {
    return repo_has_flag(rr, "refs") || repo_has_flag(rr, "moved_to");
}

char *repo_moved_to(const repo_ref *rr) {
    char *p = repo_path(rr, "moved_to", NULL), *data = NULL;
    size_t len;
    if (path_is(p, S_IFREG) && lmt_read_file(p, &data, &len) == LMT_OK) {
        while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == ' ')) data[--len] = '\0';
    }
    free(p);
    return data;
}

char *repo_commit_dir(const repo_ref *rr, const char *commit) {
    return repo_path(rr, "commits", commit);
}

bool repo_resolve(const repo_ref *rr, const char *rev, char commit[41]) {
    if (is_hex(rev, 40)) {
        char *d = repo_commit_dir(rr, rev);
        bool ok = path_is(d, S_IFDIR);
        free(d);
        if (ok) { memcpy(commit, rev, 41); return true; }
        return false;
    }
    char *p = repo_path(rr, "refs", NULL), *data = NULL;
    size_t len;
    bool found = false;
    if (lmt_read_file(p, &data, &len) == LMT_OK) {
        for (char *save, *line = strtok_r(data, "\n", &save); line && !found; line = strtok_r(NULL, "\n", &save)) {
            char name[256], id[64];
            if (sscanf(line, "%255s %63s", name, id) == 2 && strcmp(name, rev) == 0 && is_hex(id, 40)) {
                memcpy(commit, id, 41);
                found = true;
            }
        }
    }
    free(data);
    free(p);
    return found;
}

bool repo_set_ref(const repo_ref *rr, const char *rev, const char *commit) {
    char *p = repo_path(rr, "refs", NULL), *data = NULL;
    size_t len = 0;
    lmt_strbuf out;
    lmt_sb_init(&out);
    bool replaced = false;
    if (lmt_read_file(p, &data, &len) == LMT_OK) {
        for (char *save, *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            char name[256];
            if (sscanf(line, "%255s", name) == 1 && strcmp(name, rev) == 0) {
                lmt_sb_printf(&out, "%s %s\n", rev, commit);
                replaced = true;
            } else {
                lmt_sb_printf(&out, "%s\n", line);
            }
        }
    }
    if (!replaced) lmt_sb_printf(&out, "%s %s\n", rev, commit);
    bool ok = !out.oom && lmt_write_file_atomic(p, out.data, out.len) == LMT_OK;
    lmt_sb_free(&out);
    free(data);
    free(p);
    return ok;
}

static bool fill_entry(const char *full, const char *rel, repo_entry *e, bool hashes) {
    struct stat sb;
    memset(e, 0, sizeof *e);
    if (stat(full, &sb) != 0) return false;
    e->path = strdup(rel);
    if (!e->path) return false;
    if (S_ISDIR(sb.st_mode)) { e->is_dir = true; return true; }
    if (!S_ISREG(sb.st_mode)) { free(e->path); e->path = NULL; return false; }
    e->size = (uint64_t)sb.st_size;
    e->lfs = is_lfs_file(rel, e->size);
    if (!hashes) return true;
    char *data = NULL;
    size_t len;
    if (lmt_read_file(full, &data, &len) != LMT_OK) { free(e->path); e->path = NULL; return false; }
    e->size = len;
    if (e->lfs) {
        sha256_hex(data, len, e->sha256);
        char *ptr = lfs_pointer_text(e->sha256, len);
        e->pointer_size = strlen(ptr);
        git_blob_sha1(ptr, e->pointer_size, e->sha1);
        free(ptr);
    } else {
        git_blob_sha1(data, len, e->sha1);
    }
    free(data);
    return true;
}

bool repo_stat(const repo_ref *rr, const char *commit, const char *path, bool hashes, repo_entry *e) {
    char *dir = repo_commit_dir(rr, commit);
    char *full = lmt_path_join(dir, path);
    bool ok = full && fill_entry(full, path, e, hashes) && !e->is_dir;
    if (!ok && e->path) { free(e->path); e->path = NULL; }
    free(full);
    free(dir);
    return ok;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct { repo_entry *v; size_t n, cap; } entry_list;

static void walk(const char *dir, const char *rel, entry_list *out) {
    DIR *d = opendir(dir);
    if (!d) return;
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *de; (de = readdir(d)); ) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2]))) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **grown = realloc(names, cap * sizeof *names);
            if (!grown) break;
            names = grown;
        }
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (!names[i]) continue;
        char *full = lmt_path_join(dir, names[i]);
        char *r = *rel ? lmt_path_join(rel, names[i]) : strdup(names[i]);
        if (out->n == out->cap) {
            out->cap = out->cap ? 2 * out->cap : 32;
            repo_entry *grown = realloc(out->v, out->cap * sizeof *grown);
            if (grown) out->v = grown; else out->cap = out->n;
        }
        if (full && r && out->n < out->cap && fill_entry(full, r, &out->v[out->n], true)) {
            bool is_dir = out->v[out->n++].is_dir;
            if (is_dir) walk(full, r, out);
        }
        free(full);
        free(r);
        free(names[i]);
    }
    free(names);
}

repo_entry *repo_list(const repo_ref *rr, const char *commit, size_t *n) {
    char *dir = repo_commit_dir(rr, commit);
    entry_list l = { NULL, 0, 0 };
    if (dir) walk(dir, "", &l);
    free(dir);
    *n = l.n;
    return l.v;
}

void repo_entries_free(repo_entry *e, size_t n) {
    for (size_t i = 0; i < n; i++) free(e[i].path);
    free(e);
}

char *repo_find_blob(const repo_ref *rr, const char *sha256) {
    char *p = repo_path(rr, "lfs", sha256);
    if (path_is(p, S_IFREG)) return p;
    free(p);
    char *commits = repo_path(rr, "commits", NULL);
    DIR *d = commits ? opendir(commits) : NULL;
    char *found = NULL;
    for (struct dirent *de; d && !found && (de = readdir(d)); ) {
        if (!is_hex(de->d_name, 40)) continue;
        size_t n;
        repo_entry *e = repo_list(rr, de->d_name, &n);
        for (size_t i = 0; i < n && !found; i++) {
            if (e[i].lfs && strcmp(e[i].sha256, sha256) == 0) {
                char *cdir = repo_commit_dir(rr, de->d_name);
                found = cdir ? lmt_path_join(cdir, e[i].path) : NULL;
                free(cdir);
            }
        }
        repo_entries_free(e, n);
    }
    if (d) closedir(d);
    free(commits);
    return found;
}
