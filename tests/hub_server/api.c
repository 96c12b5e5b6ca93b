/* The read side of the JSON API: GET /api/{models,datasets}/REPO[/revision/REV]
 * (repo info), GET .../tree/REV[/PATH] (file listing), GET /api/whoami-v2;
 * routes the upload endpoints (preupload, commit) to upload.c. Fields are
 * those huggingface_hub's ModelInfo / DatasetInfo / RepoFile read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hub.h"
#include "core/json.h"

static void jstr(lmt_strbuf *b, const char *s) { lmt_json_write_string(b, s, strlen(s), false); }

static const char *const kTime = "2024-01-01T00:00:00.000Z";

static void write_lfs(lmt_strbuf *b, const repo_entry *e, const char *oid_key) {
    lmt_sb_printf(b, ", \"lfs\": {\"%s\": \"%s\", \"size\": %llu, \"pointerSize\": %llu}", oid_key, e->sha256,
                  (unsigned long long)e->size, (unsigned long long)e->pointer_size);
}

static void send_info(http_req *r, const repo_ref *rr, const char *commit) {
    size_t n;
    repo_entry *e = repo_list(rr, commit, &n);
    const char *slash = strchr(rr->id, '/');
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_puts(&b, "{\"_id\": ");
    jstr(&b, rr->folder);
    lmt_sb_puts(&b, ", \"id\": ");
    jstr(&b, rr->id);
    if (slash) lmt_sb_printf(&b, ", \"author\": \"%.*s\"", (int)(slash - rr->id), rr->id);
    lmt_sb_printf(&b, ", \"sha\": \"%s\", \"lastModified\": \"%s\", \"createdAt\": \"%s\", \"private\": %s, "
                  "\"gated\": false, \"disabled\": false, \"downloads\": 0, \"likes\": 0, \"tags\": [], "
                  "\"siblings\": [", commit, kTime, kTime, repo_has_flag(rr, "private") ? "true" : "false");
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (e[i].is_dir) continue;
        lmt_sb_puts(&b, first ? "{\"rfilename\": " : ", {\"rfilename\": ");
        first = false;
        jstr(&b, e[i].path);
        lmt_sb_printf(&b, ", \"size\": %llu, \"blobId\": \"%s\"", (unsigned long long)e[i].size, e[i].sha1);
        if (e[i].lfs) write_lfs(&b, &e[i], "sha256");
        lmt_sb_puts(&b, "}");
    }
    lmt_sb_puts(&b, "]}");
    http_send_json(r, 200, &b);
    lmt_sb_free(&b);
    repo_entries_free(e, n);
}

static bool is_under(const char *path, const char *dir) {
    size_t k = strlen(dir);
    return k == 0 || (strncmp(path, dir, k) == 0 && path[k] == '/');
}

static void send_tree(http_req *r, const repo_ref *rr, const char *commit, const char *dir, bool recursive) {
    size_t n;
    repo_entry *e = repo_list(rr, commit, &n);
    bool dir_found = !*dir;
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_puts(&b, "[");
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (*dir && strcmp(e[i].path, dir) == 0 && e[i].is_dir) dir_found = true;
        if (!is_under(e[i].path, dir)) continue;
        const char *rest = e[i].path + (*dir ? strlen(dir) + 1 : 0);
        if (!recursive && strchr(rest, '/')) continue;
        lmt_sb_puts(&b, first ? "{" : ", {");
        first = false;
        if (e[i].is_dir) {
            char oid[41];
            git_blob_sha1(e[i].path, strlen(e[i].path), oid);   /* any stable id */
            lmt_sb_printf(&b, "\"type\": \"directory\", \"oid\": \"%s\", \"size\": 0, \"path\": ", oid);
            jstr(&b, e[i].path);
        } else {
            lmt_sb_printf(&b, "\"type\": \"file\", \"oid\": \"%s\", \"size\": %llu, \"path\": ", e[i].sha1,
                          (unsigned long long)e[i].size);
            jstr(&b, e[i].path);
            if (e[i].lfs) write_lfs(&b, &e[i], "oid");
        }
        lmt_sb_puts(&b, "}");
    }
    lmt_sb_puts(&b, "]");
    if (dir_found) http_send_json(r, 200, &b);
    else http_send_error(r, 404, "EntryNotFound", "Entry not found", commit);
    lmt_sb_free(&b);
    repo_entries_free(e, n);
}

static bool is_keyword(const char *s) {
    return strcmp(s, "revision") == 0 || strcmp(s, "tree") == 0 || strcmp(s, "preupload") == 0 ||
           strcmp(s, "commit") == 0;
}

/* Where the raw path continues after its first `skip` segments. */
static const char *raw_after(const char *path, int skip) {
    const char *p = path;
    for (int i = 0; i < skip && *p; i++) {
        p++;
        while (*p && *p != '/') p++;
    }
    return p;
}

/* segs[0] is "models" or "datasets". */
void api_dispatch(http_req *r, char **segs, int n) {
    bool dataset = n > 0 && strcmp(segs[0], "datasets") == 0;
    if (n < 2 || (!dataset && strcmp(segs[0], "models") != 0)) {
        http_send_error(r, 404, NULL, "Not Found", NULL);
        return;
    }
    int k = n >= 4 && is_keyword(segs[3]) ? 3 : n >= 3 && is_keyword(segs[2]) ? 2 : n;
    repo_ref rr;
    if (k > 3 || !repo_ref_make(&rr, dataset, segs + 1, k - 1)) {
        http_send_error(r, k > 3 ? 404 : 400, NULL, k > 3 ? "Not Found" : "bad repo id", NULL);
        return;
    }
    const char *what = k < n ? segs[k] : "revision";
    const char *rev = k + 1 < n ? segs[k + 1] : "main";
    char *moved = NULL, commit[41];
    bool post = strcmp(r->method, "POST") == 0;
    bool is_upload = strcmp(what, "preupload") == 0 || strcmp(what, "commit") == 0;
    if (is_upload != post || (!post && strcmp(r->method, "GET") != 0)) {
        http_send_error(r, 405, NULL, "method not allowed", NULL);
    } else if ((k < n && k + 1 >= n) || (strcmp(what, "revision") == 0 && k + 2 < n) || (is_upload && k + 2 != n)) {
        http_send_error(r, 404, NULL, "Not Found", NULL);
    } else if (!repo_access(r, &rr, &moved)) {
        /* answered */
    } else if (moved) {
        http_resp p;
        http_resp_init(&p, 307);
        http_resp_header(&p, "Location", "/api/%s/%s%s", segs[0], moved, raw_after(r->path, 1 + k));
        http_send(r, &p, "", 0, BODY_PLAIN);
    } else if (strcmp(what, "preupload") == 0) {
        upload_preupload(r, &rr, rev);
    } else if (strcmp(what, "commit") == 0) {
        upload_commit(r, &rr, rev);
    } else if (!repo_resolve(&rr, rev, commit)) {
        char msg[600];
        snprintf(msg, sizeof msg, "Invalid rev id: %s", rev);
        http_send_error(r, 404, "RevisionNotFound", msg, NULL);
    } else if (strcmp(what, "revision") == 0) {
        send_info(r, &rr, commit);
    } else {
        lmt_strbuf dir;
        lmt_sb_init(&dir);
        for (int i = k + 2; i < n; i++) lmt_sb_printf(&dir, "%s%s", i > k + 2 ? "/" : "", segs[i]);
        char *rec = query_param(r->query, "recursive");
        send_tree(r, &rr, commit, dir.data ? dir.data : "",
                  rec && (strcmp(rec, "true") == 0 || strcmp(rec, "1") == 0 || strcmp(rec, "True") == 0));
        free(rec);
        lmt_sb_free(&dir);
    }
    free(moved);
    repo_ref_free(&rr);
}

void api_whoami(http_req *r) {
    if (!request_authorized(r)) {
        http_send_error(r, 401, NULL, "Invalid credentials in Authorization header", NULL);
        return;
    }
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_printf(&b, "{\"type\": \"user\", \"id\": \"6500000000000000000000aa\", \"name\": \"lmtune-tester\", "
                  "\"fullname\": \"lmtune tester\", \"email\": null, \"emailVerified\": false, \"canPay\": false, "
                  "\"isPro\": false, \"periodEnd\": null, \"avatarUrl\": \"\", \"orgs\": [], "
                  "\"auth\": {\"type\": \"access_token\", \"accessToken\": {\"displayName\": \"lmtune-test\", "
                  "\"role\": \"write\", \"createdAt\": \"%s\"}}}", kTime);
    http_send_json(r, 200, &b);
    lmt_sb_free(&b);
}
