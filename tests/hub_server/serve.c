/* File contents: GET|HEAD /REPO/resolve/REV/PATH on the Hub port (regular
 * files inline, LFS files as a 302 to the CDN port) and GET|HEAD
 * /repos/FOLDER/SHA256 on the CDN port; who may see a repo. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hub.h"

bool request_authorized(const http_req *r) {
    const char *a = http_header(r, "Authorization");
    if (!a || strncmp(a, "Bearer ", 7) != 0) return false;
    for (int i = 0; i < g_hub.ntokens; i++)
        if (strcmp(a + 7, g_hub.tokens[i]) == 0) return true;
    return false;
}

bool repo_access(http_req *r, const repo_ref *rr, char **moved) {
    bool authed = request_authorized(r);
    *moved = NULL;
    if (!repo_exists(rr) || (repo_has_flag(rr, "private") && !authed)) {
        http_send_error(r, authed ? 404 : 401, "RepoNotFound", "Repository not found", NULL);
        return false;
    }
    if (repo_has_flag(rr, "gated")) {
        char msg[512];
        snprintf(msg, sizeof msg, "Access to %s %s is restricted. You must have access to it and be "
                 "authenticated to access it. Please log in.", rr->dataset ? "dataset" : "model", rr->id);
        http_send_error(r, authed ? 403 : 401, "GatedRepo", msg, NULL);
        return false;
    }
    *moved = repo_moved_to(rr);
    return true;
}

/* "bytes=N-" or "bytes=N-M": 1 and the range, 0 if absent or not parsed
 * (the whole body is sent), -1 if unsatisfiable. */
static int parse_range(const char *h, size_t size, size_t *from, size_t *to) {
    unsigned long long a, b;
    char tail;
    if (!h) return 0;
    if (sscanf(h, "bytes=%llu-%llu%c", &a, &b, &tail) == 2) {
        if (b < a) return 0;
    } else if (sscanf(h, "bytes=%llu-%c", &a, &tail) == 1 && h[strlen(h) - 1] == '-') {
        b = size ? size - 1 : 0;
    } else {
        return 0;
    }
    if (a >= size) return -1;
    if (b >= size) b = size - 1;
    *from = (size_t)a;
    *to = (size_t)b;
    return 1;
}

/* Answers 200 with data, or 206 / 416 for a Range request; frees p. */
static void send_content(http_req *r, http_resp *p, const char *data, size_t len, body_kind kind) {
    size_t from = 0, to = 0;
    http_resp_header(p, "Accept-Ranges", "bytes");
    int rg = parse_range(http_header(r, "Range"), len, &from, &to);
    if (rg < 0) {
        lmt_sb_free(&p->head);
        http_resp_init(p, 416);
        http_resp_header(p, "Content-Range", "bytes */%zu", len);
        http_send(r, p, "", 0, BODY_PLAIN);
        return;
    }
    if (rg > 0) {
        p->status = 206;
        http_resp_header(p, "Content-Range", "bytes %zu-%zu/%zu", from, to, len);
        http_send(r, p, data + from, to - from + 1, kind);
        return;
    }
    http_send(r, p, data, len, kind);
}

static void redirect_moved(http_req *r, const repo_ref *rr, const char *moved) {
    const char *tail = strstr(r->path, "/resolve/");
    http_resp p;
    http_resp_init(&p, 307);
    http_resp_header(&p, "Location", "/%s%s%s", rr->dataset ? "datasets/" : "", moved, tail ? tail : "");
    http_resp_header(&p, "X-Error-Message", "Repository moved");
    http_send(r, &p, "", 0, BODY_PLAIN);
}

void serve_resolve(http_req *r, const repo_ref *rr, const char *rev, const char *path) {
    char *moved = NULL, commit[41];
    if (!repo_access(r, rr, &moved)) return;
    if (moved) { redirect_moved(r, rr, moved); free(moved); return; }
    if (!repo_resolve(rr, rev, commit)) {
        char msg[600];
        snprintf(msg, sizeof msg, "Invalid rev id: %s", rev);
        http_send_error(r, 404, "RevisionNotFound", msg, NULL);
        return;
    }
    repo_entry e;
    if (!repo_stat(rr, commit, path, true, &e)) {
        http_send_error(r, 404, "EntryNotFound", "Entry not found", commit);
        return;
    }
    http_resp p;
    if (e.lfs) {
        http_resp_init(&p, 302);
        http_resp_header(&p, "Location", "http://127.0.0.1:%d/repos/%s/%s?X-Amz-Signature=fake",
                         g_hub.cdn_port, rr->folder, e.sha256);
        http_resp_header(&p, "X-Linked-Etag", "\"%s\"", e.sha256);
        http_resp_header(&p, "X-Linked-Size", "%llu", (unsigned long long)e.size);
        http_resp_header(&p, "ETag", "\"%s\"", e.sha1);
        http_resp_header(&p, "X-Repo-Commit", "%s", commit);
        http_send(r, &p, "", 0, BODY_PLAIN);
        free(e.path);
        return;
    }
    char *full = repo_commit_dir(rr, commit), *data = NULL;
    char *file = full ? lmt_path_join(full, path) : NULL;
    size_t len = 0;
    if (!file || lmt_read_file(file, &data, &len) != LMT_OK) {
        http_send_error(r, 500, NULL, "cannot read the file", commit);
    } else {
        http_resp_init(&p, 200);
        http_resp_header(&p, "Content-Type", "application/octet-stream");
        http_resp_header(&p, "ETag", "\"%s\"", e.sha1);
        http_resp_header(&p, "X-Repo-Commit", "%s", commit);
        send_content(r, &p, data, len, BODY_BLOB);
    }
    free(data);
    free(file);
    free(full);
    free(e.path);
}

void serve_cdn(http_req *r, char **segs, int n) {
    repo_ref rr;
    if (strcmp(r->method, "GET") != 0 && !http_is_head(r)) {
        http_send_error(r, 405, NULL, "method not allowed", NULL);
        return;
    }
    if (http_header(r, "Authorization")) {   /* a presigned URL takes no other credentials */
        http_send_error(r, 400, "InvalidArgument",
                        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                        "Signature query string parameter or the Authorization header should be specified", NULL);
        return;
    }
    if (n != 3 || strcmp(segs[0], "repos") != 0 || !is_hex(segs[2], 64) || !repo_ref_from_folder(&rr, segs[1])) {
        http_send_error(r, 404, "NoSuchKey", "The specified key does not exist.", NULL);
        return;
    }
    char *file = repo_find_blob(&rr, segs[2]), *data = NULL;
    size_t len = 0;
    if (!file || lmt_read_file(file, &data, &len) != LMT_OK) {
        http_send_error(r, 404, "NoSuchKey", "The specified key does not exist.", NULL);
    } else {
        http_resp p;
        http_resp_init(&p, 200);
        http_resp_header(&p, "Content-Type", "binary/octet-stream");
        http_resp_header(&p, "ETag", "\"%s\"", segs[2]);
        send_content(r, &p, data, len, BODY_CDN_BLOB);
    }
    free(data);
    free(file);
    repo_ref_free(&rr);
}
