/* The upload API as huggingface_hub uses it (legacy LFS path, no Xet):
 * POST /api/repos/create, POST /api/{models,datasets}/REPO/preupload/REV,
 * POST /REPO.git/info/lfs/objects/batch, PUT /upload/FOLDER/SHA256 (CDN
 * port) and POST /api/.../commit/REV (NDJSON: header, file, lfsFile,
 * deletedFile, deletedFolder). A commit copies its parent's tree, applies
 * the operations and moves the branch. Writers hold one lock. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "hub.h"
#include "core/json.h"

static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

static const char kGitattributes[] =
    "*.bin filter=lfs diff=lfs merge=lfs -text\n"
    "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
    "*.model filter=lfs diff=lfs merge=lfs -text\n";

static bool need_token(http_req *r) {
    if (request_authorized(r)) return true;
    http_send_error(r, 401, NULL, "Invalid credentials in Authorization header", NULL);
    return false;
}

static lmt_json *parse_body(http_req *r) {
    lmt_json *j = NULL;
    if (lmt_json_parse(r->body, r->body_len, "request body", &j) != LMT_OK || j->type != LMT_JSON_OBJECT) {
        lmt_json_free(j);
        http_send_error(r, 400, NULL, "the body is not a JSON object", NULL);
        return NULL;
    }
    return j;
}

static const char *jget_str(const lmt_json *o, const char *key) {
    const lmt_json *v = lmt_json_get(o, key);
    return v && v->type == LMT_JSON_STRING ? v->str : NULL;
}

static void repo_url(lmt_strbuf *b, const repo_ref *rr) {
    lmt_sb_printf(b, "http://127.0.0.1:%d/%s%s", g_hub.hub_port, rr->dataset ? "datasets/" : "", rr->id);
}

/* A repo path from a client: relative, no empty, "." or ".." parts. */
static bool safe_rel_path(const char *p) {
    if (!p || !*p || *p == '/' || strlen(p) > 1024) return false;
    for (const char *s = p; *s; ) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return false;
        s += n + (e ? 1 : 0);
        if (e && !*s) return false;
    }
    return true;
}

static bool write_file(const char *dir, const char *rel, const void *data, size_t len) {
    char *full = lmt_path_join(dir, rel);
    char *slash = full ? strrchr(full, '/') : NULL;
    bool ok = false;
    if (slash) {
        *slash = '\0';
        ok = lmt_mkdirs(full) == LMT_OK;
        *slash = '/';
        ok = ok && lmt_write_file_atomic(full, data, len) == LMT_OK;
    }
    free(full);
    return ok;
}

static bool copy_file(const char *src, const char *dir, const char *rel) {
    char *data = NULL;
    size_t len;
    bool ok = lmt_read_file(src, &data, &len) == LMT_OK && write_file(dir, rel, data, len);
    free(data);
    return ok;
}

/* Copies a tree, following symlinks (the fixture links to shared files). */
static bool copy_tree(const char *src, const char *dst) {
    DIR *d = opendir(src);
    if (!d || lmt_mkdirs(dst) != LMT_OK) { if (d) closedir(d); return false; }
    bool ok = true;
    for (struct dirent *de; ok && (de = readdir(d)); ) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char *s = lmt_path_join(src, de->d_name), *t = lmt_path_join(dst, de->d_name);
        struct stat sb;
        ok = s && t && stat(s, &sb) == 0;
        if (ok) ok = S_ISDIR(sb.st_mode) ? copy_tree(s, t) : copy_file(s, dst, de->d_name);
        free(s);
        free(t);
    }
    closedir(d);
    return ok;
}

static void remove_tree(const char *path) {
    struct stat sb;
    if (lstat(path, &sb) != 0) return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        for (struct dirent *de; d && (de = readdir(d)); ) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
            char *c = lmt_path_join(path, de->d_name);
            if (c) remove_tree(c);
            free(c);
        }
        if (d) closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int b64val(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

static char *b64decode(const char *s, size_t n, size_t *out_len) {
    char *out = malloc(n / 4 * 3 + 3), *o = out;
    unsigned acc = 0;
    int bits = 0;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=') break;
        int v = b64val(s[i]);
        if (v < 0) { free(out); return NULL; }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) { bits -= 8; *o++ = (char)((acc >> bits) & 0xff); }
    }
    *out_len = (size_t)(o - out);
    return out;
}

void upload_create_repo(http_req *r) {
    if (strcmp(r->method, "POST") != 0) { http_send_error(r, 405, NULL, "method not allowed", NULL); return; }
    if (!need_token(r)) return;
    lmt_json *j = parse_body(r);
    if (!j) return;
    const char *name = jget_str(j, "name"), *org = jget_str(j, "organization"), *type = jget_str(j, "type");
    const char *vis = jget_str(j, "visibility");
    const lmt_json *priv = lmt_json_get(j, "private");
    bool is_private = (priv && priv->type == LMT_JSON_BOOL && priv->boolean) || (vis && strcmp(vis, "public") != 0);
    char *segs[2] = { (char *)(org ? org : "lmtune-tester"), (char *)name };
    repo_ref rr = { 0 };
    if (!name || (type && strcmp(type, "model") != 0 && strcmp(type, "dataset") != 0) ||
        !repo_ref_make(&rr, type && strcmp(type, "dataset") == 0, segs, 2)) {
        http_send_error(r, 400, NULL, "invalid repo name or type", NULL);
        lmt_json_free(j);
        return;
    }
    lmt_strbuf b;
    lmt_sb_init(&b);
    pthread_mutex_lock(&write_lock);
    if (repo_exists(&rr)) {
        lmt_sb_puts(&b, "{\"error\": \"You already created this repo\", \"url\": \"");
        repo_url(&b, &rr);
        lmt_sb_puts(&b, "\"}");
        http_send_json(r, 409, &b);
    } else {
        char commit[41];
        git_blob_sha1(rr.folder, strlen(rr.folder), commit);
        char *cdir = repo_commit_dir(&rr, commit);
        bool ok = cdir && write_file(cdir, ".gitattributes", kGitattributes, sizeof kGitattributes - 1) &&
                  (!is_private || write_file(rr.dir, "private", "", 0)) && repo_set_ref(&rr, "main", commit);
        if (ok) {
            lmt_sb_puts(&b, "{\"url\": \"");
            repo_url(&b, &rr);
            lmt_sb_puts(&b, "\", \"name\": ");
            lmt_json_write_string(&b, rr.id, strlen(rr.id), false);
            lmt_sb_puts(&b, ", \"id\": ");
            lmt_json_write_string(&b, rr.folder, strlen(rr.folder), false);
            lmt_sb_puts(&b, "}");
            http_send_json(r, 200, &b);
        } else {
            http_send_error(r, 500, NULL, "cannot create the repo", NULL);
        }
        free(cdir);
    }
    pthread_mutex_unlock(&write_lock);
    lmt_sb_free(&b);
    repo_ref_free(&rr);
    lmt_json_free(j);
}

static bool check_rev(http_req *r, const repo_ref *rr, const char *rev, char commit[41]) {
    if (repo_resolve(rr, rev, commit)) return true;
    char msg[600];
    snprintf(msg, sizeof msg, "Invalid rev id: %s", rev);
    http_send_error(r, 404, "RevisionNotFound", msg, NULL);
    return false;
}

void upload_preupload(http_req *r, const repo_ref *rr, const char *rev) {
    char commit[41];
    if (!need_token(r) || !check_rev(r, rr, rev, commit)) return;
    lmt_json *j = parse_body(r);
    if (!j) return;
    const lmt_json *files = lmt_json_get(j, "files");
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_puts(&b, "{\"files\": [");
    bool ok = files && files->type == LMT_JSON_ARRAY;
    for (size_t i = 0; ok && i < files->len; i++) {
        const char *path = jget_str(&files->items[i], "path");
        const lmt_json *size = lmt_json_get(&files->items[i], "size");
        ok = path && size && size->type == LMT_JSON_NUMBER && size->is_int && size->i64 >= 0;
        if (!ok) break;
        lmt_sb_puts(&b, i ? ", {\"path\": " : "{\"path\": ");
        lmt_json_write_string(&b, path, strlen(path), false);
        lmt_sb_printf(&b, ", \"uploadMode\": \"%s\", \"shouldIgnore\": false, \"oid\": null}",
                      is_lfs_file(path, (uint64_t)size->i64) ? "lfs" : "regular");
    }
    lmt_sb_printf(&b, "], \"commitOid\": \"%s\"}", commit);
    if (ok) http_send_json(r, 200, &b);
    else http_send_error(r, 400, NULL, "files: expected a list of {path, size, sample}", NULL);
    lmt_sb_free(&b);
    lmt_json_free(j);
}

void upload_lfs_batch(http_req *r, const repo_ref *rr) {
    char *moved = NULL;
    if (strcmp(r->method, "POST") != 0) { http_send_error(r, 405, NULL, "method not allowed", NULL); return; }
    if (!need_token(r) || !repo_access(r, rr, &moved)) return;
    free(moved);
    lmt_json *j = parse_body(r);
    if (!j) return;
    const lmt_json *objs = lmt_json_get(j, "objects");
    if (!objs || objs->type != LMT_JSON_ARRAY) {
        http_send_error(r, 422, NULL, "objects: expected a list", NULL);
        lmt_json_free(j);
        return;
    }
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_puts(&b, "{\"transfer\": \"basic\", \"objects\": [");
    for (size_t i = 0; i < objs->len; i++) {
        const char *oid = jget_str(&objs->items[i], "oid");
        const lmt_json *size = lmt_json_get(&objs->items[i], "size");
        long long sz = size && size->type == LMT_JSON_NUMBER && size->is_int ? (long long)size->i64 : -1;
        lmt_sb_puts(&b, i ? ", {\"oid\": " : "{\"oid\": ");
        lmt_json_write_string(&b, oid ? oid : "", oid ? strlen(oid) : 0, false);
        lmt_sb_printf(&b, ", \"size\": %lld", sz < 0 ? 0 : sz);
        char *have = oid && is_hex(oid, 64) ? repo_find_blob(rr, oid) : NULL;
        if (!oid || !is_hex(oid, 64) || sz < 0)
            lmt_sb_puts(&b, ", \"error\": {\"code\": 422, \"message\": \"invalid oid or size\"}}");
        else if (have)
            lmt_sb_puts(&b, ", \"authenticated\": true}");
        else
            lmt_sb_printf(&b, ", \"authenticated\": true, \"actions\": {\"upload\": {\"href\": "
                          "\"http://127.0.0.1:%d/upload/%s/%s\", \"expires_at\": \"2099-01-01T00:00:00Z\"}}}",
                          g_hub.cdn_port, rr->folder, oid);
        free(have);
    }
    lmt_sb_puts(&b, "]}");
    http_resp p;
    http_resp_init(&p, 200);
    http_resp_header(&p, "Content-Type", "application/vnd.git-lfs+json");
    http_send(r, &p, b.data, b.len, BODY_PLAIN);
    lmt_sb_free(&b);
    lmt_json_free(j);
}

void upload_put_blob(http_req *r, char **segs, int n) {
    repo_ref rr;
    char sha[65];
    if (http_header(r, "Authorization")) {
        http_send_error(r, 400, "InvalidArgument", "a presigned upload URL takes no Authorization header", NULL);
        return;
    }
    if (n != 3 || strcmp(segs[0], "upload") != 0 || !is_hex(segs[2], 64) || !repo_ref_from_folder(&rr, segs[1])) {
        http_send_error(r, 404, "NoSuchUpload", "unknown upload URL", NULL);
        return;
    }
    sha256_hex(r->body, r->body_len, sha);
    if (strcmp(sha, segs[2]) != 0) {
        http_send_error(r, 400, "BadDigest", "the content does not match its sha256", NULL);
    } else {
        char *lfs = lmt_path_join(rr.dir, "lfs");
        pthread_mutex_lock(&write_lock);
        bool ok = lfs && write_file(lfs, sha, r->body, r->body_len);
        pthread_mutex_unlock(&write_lock);
        free(lfs);
        http_resp p;
        http_resp_init(&p, 200);
        http_resp_header(&p, "ETag", "\"%s\"", sha);
        if (ok) http_send(r, &p, "", 0, BODY_PLAIN);
        else { lmt_sb_free(&p.head); http_send_error(r, 500, NULL, "cannot store the object", NULL); }
    }
    repo_ref_free(&rr);
}

/* Applies one NDJSON operation to the new tree; NULL or an error message. */
static const char *apply_op(const repo_ref *rr, const char *tree, const lmt_json *line) {
    const char *key = jget_str(line, "key");
    const lmt_json *v = lmt_json_get(line, "value");
    if (!key || !v || v->type != LMT_JSON_OBJECT) return "each line needs key and value";
    if (strcmp(key, "header") == 0) return NULL;
    const char *path = jget_str(v, "path");
    if (!safe_rel_path(path)) return "invalid path";
    char *full = lmt_path_join(tree, path);
    const char *err = NULL;
    if (strcmp(key, "file") == 0) {
        const char *content = jget_str(v, "content"), *enc = jget_str(v, "encoding");
        size_t len = 0;
        char *data = content && (!enc || strcmp(enc, "base64") == 0) ? b64decode(content, strlen(content), &len) : NULL;
        if (!data || !write_file(tree, path, data, len)) err = "file: bad content";
        free(data);
    } else if (strcmp(key, "lfsFile") == 0) {
        const char *oid = jget_str(v, "oid");
        char *blob = oid && is_hex(oid, 64) ? repo_find_blob(rr, oid) : NULL;
        struct stat sb;
        const lmt_json *size = lmt_json_get(v, "size");
        if (!blob) err = "lfsFile: unknown object (upload it first)";
        else if (size && stat(blob, &sb) == 0 && size->type == LMT_JSON_NUMBER && size->i64 != (int64_t)sb.st_size)
            err = "lfsFile: size mismatch";
        else if (!copy_file(blob, tree, path)) err = "lfsFile: cannot copy";
        free(blob);
    } else if (strcmp(key, "deletedFile") == 0) {
        if (!full || unlink(full) != 0) err = "deletedFile: no such file";
    } else if (strcmp(key, "deletedFolder") == 0) {
        if (full) remove_tree(full);
    } else {
        err = "unknown operation";
    }
    free(full);
    return err;
}

/* Copies the parent tree to tmp, applies every line; NULL or an error. */
static const char *build_tree(const repo_ref *rr, const char *parent, const char *tmp, http_req *r, char *parent_want) {
    char *pdir = repo_commit_dir(rr, parent);
    bool copied = pdir && copy_tree(pdir, tmp);
    free(pdir);
    if (!copied) return "cannot copy the parent commit";
    const char *err = NULL;
    for (char *save, *line = strtok_r(r->body, "\n", &save); line && !err; line = strtok_r(NULL, "\n", &save)) {
        if (!*line || strcmp(line, "\r") == 0) continue;
        lmt_json *j = NULL;
        if (lmt_json_parse(line, strlen(line), "commit line", &j) != LMT_OK || j->type != LMT_JSON_OBJECT) {
            err = "each line must be a JSON object";
        } else {
            const char *key = jget_str(j, "key");
            const lmt_json *v = lmt_json_get(j, "value");
            const char *pc = key && strcmp(key, "header") == 0 && v ? jget_str(v, "parentCommit") : NULL;
            if (pc) snprintf(parent_want, 41, "%s", pc);
            err = apply_op(rr, tmp, j);
        }
        lmt_json_free(j);
    }
    return err;
}

void upload_commit(http_req *r, const repo_ref *rr, const char *rev) {
    char parent[41], commit[41], want[41] = "";
    if (!need_token(r) || !check_rev(r, rr, rev, parent)) return;
    if (is_hex(rev, 40)) {
        http_send_error(r, 400, NULL, "commits go to a branch, not to a commit id", NULL);
        return;
    }
    lmt_strbuf id;
    lmt_sb_init(&id);
    lmt_sb_printf(&id, "%s\n", parent);
    lmt_sb_append(&id, r->body, r->body_len);
    git_blob_sha1(id.data, id.len, commit);
    lmt_sb_free(&id);
    pthread_mutex_lock(&write_lock);
    char *tmp = repo_commit_dir(rr, ".incoming");
    char *dst = repo_commit_dir(rr, commit);
    remove_tree(tmp);
    const char *err = tmp && dst ? build_tree(rr, parent, tmp, r, want) : "out of memory";
    /* the branch may have moved while we were reading: check again under the lock */
    char head[41];
    if (!err && (!repo_resolve(rr, rev, head) || strcmp(head, parent) != 0)) err = "the branch moved; retry";
    if (!err && want[0] && strcmp(want, parent) != 0) {
        remove_tree(tmp);
        pthread_mutex_unlock(&write_lock);
        http_send_error(r, 412, NULL, "A commit has happened since. Please refresh and try again.", NULL);
        free(tmp);
        free(dst);
        return;
    }
    if (!err) remove_tree(dst);
    if (!err && (rename(tmp, dst) != 0 || !repo_set_ref(rr, rev, commit))) err = "cannot store the commit";
    if (err) remove_tree(tmp);
    pthread_mutex_unlock(&write_lock);
    if (err) {
        http_send_error(r, 400, NULL, err, NULL);
    } else {
        lmt_strbuf b;
        lmt_sb_init(&b);
        lmt_sb_puts(&b, "{\"commitUrl\": \"");
        repo_url(&b, rr);
        lmt_sb_printf(&b, "/commit/%s\", \"commitOid\": \"%s\", \"pullRequestUrl\": null}", commit, commit);
        http_send_json(r, 200, &b);
        lmt_sb_free(&b);
    }
    free(tmp);
    free(dst);
}
