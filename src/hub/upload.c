/* create_repo and upload_folder (lmtune/hub.h) as huggingface_hub 2.4.0
 * does them (hf_api.py create_repo / upload_folder / create_commit,
 * _commit_api.py, lfs.py), over plain HTTP LFS:
 *   1. the files under the folder, filtered (hub/upload.h), hashed;
 *   2. POST /api/{type}s/REPO/preupload/REV: regular or LFS, ignored,
 *      the repo's oid (unchanged files are left out);
 *   3. POST REPO.git/info/lfs/objects/batch for the LFS files, PUT each
 *      object the answer asks for (and its verify action);
 *   4. POST /api/{type}s/REPO/commit/REV as NDJSON: the commit's oid. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "core/base64.h"
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "hub/cache.h"
#include "hub/digest.h"
#include "hub/http.h"
#include "hub/repo_files.h"
#include "hub/session.h"
#include "hub/upload.h"

enum { SAMPLE_BYTES = 512, CHUNK_FILES = 256, ATTEMPTS = 3 };

/* utils/_paths.py DEFAULT_IGNORE_PATTERNS */
static const char *const default_ignore[] = {".git", ".git/*", "*/.git", "**/.git/**", ".cache/huggingface",
                                             ".cache/huggingface/*", "*/.cache/huggingface", "**/.cache/huggingface/**",
                                             NULL};

/* ---- the file list ---- */

bool lmt_hub_path_allowed(const char *path, const char *const *allow, const char *const *ignore) {
    return lmt_hub_filter_match(path, allow && *allow ? allow : NULL, ignore) && lmt_hub_filter_match(path, NULL, default_ignore);
}

static bool forbidden_part(const char *path, const char *part) {
    size_t n = strlen(part);
    for (const char *p = path; p; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL)
        if (!strncmp(p, part, n) && (p[n] == '/' || !p[n])) return true;
    return false;
}

/* the size of a regular file (or a link to one), else -1 */
static int64_t size_of(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
}

void lmt_hub_upload_items_free(lmt_upload_item *items, size_t n) {
    for (size_t i = 0; items && i < n; i++) {
        free(items[i].local);
        free(items[i].path);
        free(items[i].remote_oid);
    }
    free(items);
}

lmt_status lmt_hub_upload_list(const char *folder, const char *path_in_repo, const char *const *allow,
                               const char *const *ignore, lmt_upload_item **items, size_t *n) {
    *items = NULL;
    *n = 0;
    if (!lmt_is_dir(folder)) return lmt_fail(LMT_ERR_NOT_FOUND, "%s: no such folder", folder);
    /* path_in_repo.strip("/"); "." is the root as in `hf upload` */
    const char *p = path_in_repo ? path_in_repo : "";
    while (*p == '/') p++;
    size_t plen = strlen(p);
    while (plen && p[plen - 1] == '/') plen--;
    if (plen == 1 && p[0] == '.') plen = 0;
    lmt_hub_names all = {0};
    lmt_status s = lmt_hub_walk_files(folder, &all);
    lmt_upload_item *it = s == LMT_OK ? calloc(all.n ? all.n : 1, sizeof *it) : NULL;
    if (s == LMT_OK && !it) s = lmt_fail(LMT_ERR_NOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; s == LMT_OK && i < all.n; i++) {
        const char *rel = all.v[i];
        if (!lmt_hub_path_allowed(rel, allow, ignore)) continue;
        lmt_upload_item *x = &it[k];
        x->local = lmt_path_join(folder, rel);
        if (!x->local) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory"); break; }
        if ((x->size = size_of(x->local)) < 0) {   /* not a file (a broken link): pathlib's is_file() leaves it out */
            free(x->local);
            x->local = NULL;
            continue;
        }
        lmt_strbuf b;
        lmt_sb_init(&b);
        if (plen) lmt_sb_printf(&b, "%.*s/", (int)plen, p);
        lmt_sb_puts(&b, rel);
        x->path = lmt_sb_take(&b);
        k++;
        if (!x->path) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory"); break; }
        if (!lmt_hub_valid_filename(x->path))
            s = lmt_fail(LMT_ERR_ARG, "%s: '%s' is not a valid path in a repo (check the path in the repo)", x->local, x->path);
        else if (forbidden_part(x->path, ".git") || forbidden_part(x->path, ".cache"))
            s = lmt_fail(LMT_ERR_ARG, "%s: cannot upload '%s': files under a '%s/' folder cannot be committed (leave it out with "
                         "an ignore pattern)", x->local, x->path, forbidden_part(x->path, ".git") ? ".git" : ".cache");
        else s = lmt_sha256_file(x->local, x->sha256);
    }
    lmt_hub_names_free(&all);
    if (s != LMT_OK) { lmt_hub_upload_items_free(it, k); return s; }
    *items = it;
    *n = k;
    return LMT_OK;
}

/* ---- request bodies and answers ---- */

static void put_str(lmt_strbuf *b, const char *s) { lmt_json_write_string(b, s, strlen(s), true); }

lmt_status lmt_hub_preupload_body(const lmt_upload_item *items, size_t n, lmt_strbuf *b) {
    lmt_sb_puts(b, "{\"files\": [");
    for (size_t i = 0; i < n; i++) {
        unsigned char sample[SAMPLE_BYTES];
        FILE *f = fopen(items[i].local, "rb");
        if (!f) return lmt_fail(LMT_ERR_IO, "%s: cannot open: %s", items[i].local, strerror(errno));
        size_t got = fread(sample, 1, sizeof sample, f);
        bool bad = ferror(f);
        fclose(f);
        if (bad) return lmt_fail(LMT_ERR_IO, "%s: read error", items[i].local);
        lmt_sb_puts(b, i ? ", {\"path\": " : "{\"path\": ");
        put_str(b, items[i].path);
        lmt_sb_puts(b, ", \"sample\": \"");
        lmt_base64_append(b, sample, got);
        lmt_sb_printf(b, "\", \"size\": %lld}", (long long)items[i].size);
    }
    lmt_sb_puts(b, "]}");
    return b->oom ? lmt_fail(LMT_ERR_NOMEM, "out of memory") : LMT_OK;
}

lmt_status lmt_hub_preupload_apply(const char *json, size_t len, lmt_upload_item *items, size_t n) {
    lmt_json *j;
    LMT_TRY(lmt_json_parse(json, len, "the Hub's preupload answer", &j));
    const lmt_json *files = lmt_json_get(j, "files");
    lmt_status s = LMT_OK;
    if (!files || files->type != LMT_JSON_ARRAY) s = lmt_fail(LMT_ERR_FORMAT, "the Hub's preupload answer has no files list");
    for (size_t i = 0; s == LMT_OK && i < n; i++) {
        const lmt_json *f = NULL;
        for (size_t k = 0; k < files->len && !f; k++) {
            const lmt_json *p = lmt_json_get(&files->items[k], "path");
            if (p && p->type == LMT_JSON_STRING && !strcmp(p->str, items[i].path)) f = &files->items[k];
        }
        const char *mode = NULL, *oid = NULL;
        bool ignore = false;
        if (!f) {
            s = lmt_fail(LMT_ERR_FORMAT, "the Hub's preupload answer does not mention %s", items[i].path);
            break;
        }
        const char *src = "the Hub's preupload answer";
        if ((s = lmt_json_get_str(f, "uploadMode", NULL, src, &mode)) != LMT_OK ||
            (s = lmt_json_get_bool(f, "shouldIgnore", false, src, &ignore)) != LMT_OK ||
            (s = lmt_json_get_str(f, "oid", NULL, src, &oid)) != LMT_OK)
            break;
        if (!mode || (strcmp(mode, "lfs") && strcmp(mode, "regular"))) {
            s = lmt_fail(LMT_ERR_UNSUPPORTED, "%s: the Hub asks for upload mode '%s'; lmtune uploads regular and LFS files only",
                         items[i].path, mode ? mode : "(none)");
            break;
        }
        /* empty files cannot go through LFS: they are always regular */
        items[i].lfs = !strcmp(mode, "lfs") && items[i].size > 0;
        items[i].skip = ignore;
        free(items[i].remote_oid);
        items[i].remote_oid = oid ? lmt_strdup(oid) : NULL;
    }
    lmt_json_free(j);
    return s;
}

lmt_status lmt_hub_commit_body(const lmt_upload_item *items, size_t n, const char *summary, const char *description,
                               lmt_strbuf *b) {
    lmt_sb_puts(b, "{\"key\": \"header\", \"value\": {\"summary\": ");
    put_str(b, summary);
    lmt_sb_puts(b, ", \"description\": ");
    put_str(b, description ? description : "");
    lmt_sb_puts(b, "}}\n");
    for (size_t i = 0; i < n; i++) {
        const lmt_upload_item *x = &items[i];
        if (x->skip) continue;
        if (x->lfs) {
            lmt_sb_puts(b, "{\"key\": \"lfsFile\", \"value\": {\"path\": ");
            put_str(b, x->path);
            lmt_sb_printf(b, ", \"algo\": \"sha256\", \"oid\": \"%s\", \"size\": %lld}}\n", x->sha256, (long long)x->size);
            continue;
        }
        char *data = NULL;
        size_t len = 0;
        LMT_TRY(lmt_read_file(x->local, &data, &len));
        lmt_sb_puts(b, "{\"key\": \"file\", \"value\": {\"content\": \"");
        lmt_base64_append(b, data, len);
        free(data);
        lmt_sb_puts(b, "\", \"path\": ");
        put_str(b, x->path);
        lmt_sb_puts(b, ", \"encoding\": \"base64\"}}\n");
    }
    return b->oom ? lmt_fail(LMT_ERR_NOMEM, "out of memory") : LMT_OK;
}

/* ---- HTTP ---- */

static void nap_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

typedef struct {
    const char *method, *url, *token;
    const char *const *headers;
    const char *body;
    size_t body_len;
    const char *upload_path;
    bool transfer;
} call;

/* one request, tried again (as http_backoff) when no answer came or the Hub failed */
static lmt_status perform(const lmt_hub_session *s, const call *c, lmt_http_response *rs) {
    lmt_http_request rq = {.method = c->method, .url = c->url, .token = c->token, .headers = c->headers, .body = c->body,
                           .body_len = c->body_len, .upload_path = c->upload_path, .sink_fd = -1,
                           .follow = LMT_FOLLOW_RELATIVE, .transfer = c->transfer,
                           .timeout_s = c->transfer ? (s->download_timeout > 60 ? s->download_timeout : 60)
                                                    : (s->etag_timeout > 60 ? s->etag_timeout : 60)};
    lmt_status st = LMT_OK;
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        if (attempt) {
            lmt_http_response_free(rs);
            nap_ms(250L << attempt);
        }
        st = lmt_http_perform(&rq, rs);
        if (!(st == LMT_ERR_NETWORK || (st == LMT_OK && rs->status >= 500 && rs->status != 501))) break;
    }
    return st;
}

/* A refused upload step: who refused what, and why, with the Hub's words. */
static lmt_status step_error(const lmt_hub_session *s, const char *step, const char *file, const lmt_http_response *rs) {
    const char *msg = rs->error_message ? rs->error_message : "";
    const char *code = rs->error_code ? rs->error_code : "";
    const char *kind = lmt_hub_type_name(s->type);
    if ((rs->status == 401 || rs->status == 403) && strcmp(code, "GatedRepo"))
        return lmt_fail(LMT_ERR_ACCESS, "%s %s: %s%s%s refused (HTTP %ld%s%s): uploading needs a token with write access "
                        "(--token, HF_TOKEN or `hf auth login`); %s", kind, s->repo_id, step, file ? " of " : "",
                        file ? file : "", rs->status, *msg ? ": " : "", msg,
                        s->token ? "the token given lacks write access to this repo" : "no token was given");
    lmt_status st = lmt_hub_http_error(s, rs, file);
    return lmt_fail_wrap(st, "%s", step);
}

static lmt_status answer_json(const lmt_http_response *rs, const char *what, lmt_json **j) {
    return lmt_json_parse(rs->body ? rs->body : "", rs->body_len, what, j);
}

static char *rev_suffix(const char *what, const char *rev) {
    char *e = lmt_http_escape(rev, false);
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_printf(&b, "/%s/%s", what, e ? e : "");
    free(e);
    return lmt_sb_take(&b);
}

/* ---- whoami, create_repo ---- */

/* The session a call without a repo needs (whoami): any valid id does. */
static lmt_status owner_name(const lmt_hub_session *s, char **name) {
    *name = NULL;
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_printf(&b, "%s/api/whoami-v2", s->endpoint);
    char *url = lmt_sb_take(&b);
    if (!url) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    if (!s->token) {
        free(url);
        return lmt_fail(LMT_ERR_ACCESS, "%s: who the token belongs to cannot be asked without a token (--token, HF_TOKEN or "
                        "`hf auth login`)", s->endpoint);
    }
    lmt_http_response rs;
    call c = {.method = "GET", .url = url, .token = s->token};
    lmt_status st = perform(s, &c, &rs);
    if (st == LMT_OK && rs.status != 200) {
        const char *msg = rs.error_message ? rs.error_message : "";
        st = lmt_fail(rs.status == 401 || rs.status == 403 ? LMT_ERR_ACCESS : LMT_ERR_NETWORK,
                      "%s: HTTP %ld%s%s: the token is invalid or expired", url, rs.status, *msg ? ": " : "", msg);
    }
    lmt_json *j = NULL;
    if (st == LMT_OK) st = answer_json(&rs, "the Hub's whoami-v2 answer", &j);
    const char *n = NULL;
    if (st == LMT_OK) st = lmt_json_get_str(j, "name", NULL, "the Hub's whoami-v2 answer", &n);
    if (st == LMT_OK && !n) st = lmt_fail(LMT_ERR_FORMAT, "%s: the answer names no user", url);
    if (st == LMT_OK && !(*name = lmt_strdup(n))) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_json_free(j);
    lmt_http_response_free(&rs);
    free(url);
    return st;
}

lmt_status lmt_hub_whoami(const lmt_hub_options *o, char **name) {
    lmt_hub_session s;
    LMT_TRY(lmt_hub_session_init(&s, "whoami", o));
    lmt_status st = owner_name(&s, name);
    lmt_hub_session_free(&s);
    return st;
}

/* RepoUrl: {endpoint}/[datasets/]ORG/NAME -> ORG/NAME */
static char *id_from_url(const lmt_hub_session *s, const char *url) {
    size_t n = strlen(s->endpoint);
    if (strncmp(url, s->endpoint, n) || url[n] != '/') {
        const char *p = strstr(url, "://");   /* another spelling of the host: the path counts */
        url = p ? strchr(p + 3, '/') : NULL;
        if (!url) return NULL;
        n = 0;
    }
    const char *p = url + n + 1;
    if (!strncmp(p, "datasets/", 9)) p += 9;
    char *id = lmt_strdup(p);
    if (id) {
        size_t k = strlen(id);
        while (k && id[k - 1] == '/') id[--k] = '\0';
    }
    if (id && (!strchr(id, '/') || !lmt_hub_valid_repo_id(id))) { free(id); id = NULL; }
    return id;
}

static lmt_status full_repo_id(const lmt_hub_session *s, const lmt_http_response *rs, char **full) {
    lmt_json *j = NULL;
    const char *url = NULL;
    if (rs->body_len && lmt_json_parse(rs->body, rs->body_len, "create_repo", &j) == LMT_OK)
        lmt_json_get_str(j, "url", NULL, "create_repo", &url);
    lmt_clear_error();
    *full = url ? id_from_url(s, url) : NULL;
    lmt_json_free(j);
    if (*full) return LMT_OK;
    if (strchr(s->repo_id, '/')) {
        *full = lmt_strdup(s->repo_id);
        return *full ? LMT_OK : lmt_fail(LMT_ERR_NOMEM, "out of memory");
    }
    char *user;
    LMT_TRY(owner_name(s, &user));
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_printf(&b, "%s/%s", user, s->repo_id);
    free(user);
    *full = lmt_sb_take(&b);
    return *full ? LMT_OK : lmt_fail(LMT_ERR_NOMEM, "out of memory");
}

/* create_repo's fallback for 401/402/403 with exist_ok: the repo may exist */
static bool repo_exists(const lmt_hub_session *s, const char *id) {
    lmt_hub_session t = *s;
    t.repo_id = id;
    char *url = lmt_hub_api_url(&t, NULL);
    if (!url) return false;
    call c = {.method = "GET", .url = url, .token = s->token};
    lmt_http_response rs;
    bool ok = perform(s, &c, &rs) == LMT_OK && rs.status == 200;
    lmt_http_response_free(&rs);
    free(url);
    lmt_clear_error();
    return ok;
}

lmt_status lmt_hub_create_repo(const char *repo_id, bool private_repo, bool exist_ok, const lmt_hub_options *o,
                               char **full_id) {
    if (full_id) *full_id = NULL;
    lmt_hub_session s;
    LMT_TRY(lmt_hub_session_init(&s, repo_id, o));
    const char *slash = strchr(repo_id, '/');
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_puts(&b, "{\"name\": ");
    put_str(&b, slash ? slash + 1 : repo_id);
    lmt_sb_puts(&b, ", \"organization\": ");
    if (slash) lmt_json_write_string(&b, repo_id, (size_t)(slash - repo_id), true);
    else lmt_sb_puts(&b, "null");
    if (private_repo) lmt_sb_puts(&b, ", \"visibility\": \"private\"");
    lmt_sb_printf(&b, ", \"type\": \"%s\"}", lmt_hub_type_name(s.type));
    lmt_strbuf url;
    lmt_sb_init(&url);
    lmt_sb_printf(&url, "%s/api/repos/create", s.endpoint);
    if (b.oom || url.oom) {
        lmt_sb_free(&b);
        lmt_sb_free(&url);
        lmt_hub_session_free(&s);
        return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    }
    static const char *const json_headers[] = {"Content-Type: application/json", NULL};
    call c = {.method = "POST", .url = url.data, .token = s.token, .headers = json_headers, .body = b.data, .body_len = b.len};
    lmt_http_response rs;
    lmt_status st = perform(&s, &c, &rs);
    if (st == LMT_OK) {
        const char *msg = rs.error_message ? rs.error_message : "";
        if (rs.status >= 200 && rs.status < 300) st = LMT_OK;
        else if (rs.status == 409 && exist_ok) st = LMT_OK;
        else if (rs.status == 409)
            st = lmt_fail(LMT_ERR_ARG, "%s %s: create repo: it exists already (HTTP 409%s%s)", lmt_hub_type_name(s.type), repo_id,
                          *msg ? ": " : "", msg);
        else if (exist_ok && (rs.status == 401 || rs.status == 402 || rs.status == 403) && slash && repo_exists(&s, repo_id))
            st = LMT_OK;
        else if (rs.status == 401 || rs.status == 402 || rs.status == 403)
            st = lmt_fail(LMT_ERR_ACCESS, "%s %s: create repo refused (HTTP %ld%s%s): creating a repo needs a token with write "
                          "access to its namespace (--token, HF_TOKEN or `hf auth login`); %s", lmt_hub_type_name(s.type),
                          repo_id, rs.status, *msg ? ": " : "", msg,
                          s.token ? "the token given lacks that access" : "no token was given");
        else st = step_error(&s, "create repo", NULL, &rs);
    }
    if (st == LMT_OK && full_id) st = full_repo_id(&s, &rs, full_id);
    lmt_http_response_free(&rs);
    lmt_sb_free(&b);
    lmt_sb_free(&url);
    lmt_hub_session_free(&s);
    return st;
}

/* ---- upload_folder ---- */

static lmt_status preupload(const lmt_hub_session *s, lmt_upload_item *items, size_t n) {
    char *suffix = rev_suffix("preupload", s->revision);
    char *url = suffix ? lmt_hub_api_url(s, suffix) : NULL;
    free(suffix);
    if (!url) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    static const char *const json_headers[] = {"Content-Type: application/json", NULL};
    lmt_status st = LMT_OK;
    for (size_t at = 0; st == LMT_OK && at < n; at += CHUNK_FILES) {
        size_t k = n - at < CHUNK_FILES ? n - at : CHUNK_FILES;
        lmt_strbuf b;
        lmt_sb_init(&b);
        st = lmt_hub_preupload_body(items + at, k, &b);
        lmt_http_response rs = {0};
        if (st == LMT_OK) {
            call c = {.method = "POST", .url = url, .token = s->token, .headers = json_headers, .body = b.data, .body_len = b.len};
            st = perform(s, &c, &rs);
        }
        if (st == LMT_OK && rs.status != 200) st = step_error(s, "preupload", NULL, &rs);
        if (st == LMT_OK) st = lmt_hub_preupload_apply(rs.body ? rs.body : "", rs.body_len, items + at, k);
        lmt_http_response_free(&rs);
        lmt_sb_free(&b);
    }
    free(url);
    return st;
}

/* the verify or upload action of one LFS object: href and its header lines */
typedef struct { const char *href; char **headers; size_t n_headers; bool chunked; } lfs_action;

static void action_free(lfs_action *a) {
    for (size_t i = 0; i < a->n_headers; i++) free(a->headers[i]);
    free(a->headers);
    memset(a, 0, sizeof *a);
}

static lmt_status read_action(const lmt_json *actions, const char *name, const char *file, lfs_action *a) {
    memset(a, 0, sizeof *a);
    const lmt_json *x = lmt_json_get(actions, name);
    if (!x || x->type == LMT_JSON_NULL) return LMT_OK;
    const lmt_json *href = lmt_json_get(x, "href"), *hdr = lmt_json_get(x, "header");
    if (!href || href->type != LMT_JSON_STRING || (hdr && hdr->type != LMT_JSON_OBJECT && hdr->type != LMT_JSON_NULL))
        return lmt_fail(LMT_ERR_FORMAT, "%s: the LFS batch answer's %s action is malformed", file, name);
    a->href = href->str;
    size_t m = hdr && hdr->type == LMT_JSON_OBJECT ? hdr->len : 0;
    a->headers = calloc(m + 1, sizeof *a->headers);
    if (!a->headers) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < m; i++) {
        if (!strcmp(hdr->keys[i], "chunk_size")) { a->chunked = true; continue; }
        const lmt_json *v = &hdr->items[i];
        if (v->type != LMT_JSON_STRING) continue;
        lmt_strbuf b;
        lmt_sb_init(&b);
        lmt_sb_printf(&b, "%s: %s", hdr->keys[i], v->str);
        if (!(a->headers[a->n_headers++] = lmt_sb_take(&b))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    }
    return LMT_OK;
}

/* PUT the bytes to the upload action, then POST {oid, size} to the verify action */
static lmt_status lfs_put(const lmt_hub_session *s, const lmt_upload_item *x, const lmt_json *actions) {
    lfs_action up, ver;
    lmt_status st = read_action(actions, "upload", x->path, &up);
    if (st == LMT_OK) st = read_action(actions, "verify", x->path, &ver);
    else memset(&ver, 0, sizeof ver);
    if (st == LMT_OK && !up.href) st = lmt_fail(LMT_ERR_FORMAT, "%s: the LFS batch answer has actions but no upload", x->path);
    if (st == LMT_OK && up.chunked)
        st = lmt_fail(LMT_ERR_UNSUPPORTED, "%s: the Hub asks for a multipart LFS upload; lmtune does single-part uploads only", x->path);
    lmt_http_response rs = {0};
    if (st == LMT_OK) {
        /* the token goes to the Hub only, never to the storage an href points at */
        call c = {.method = "PUT", .url = up.href, .token = lmt_http_same_origin(up.href, s->endpoint) ? s->token : NULL,
                  .headers = (const char *const *)up.headers, .upload_path = x->local, .transfer = true};
        st = perform(s, &c, &rs);
        if (st == LMT_OK && (rs.status < 200 || rs.status >= 300)) {
            const char *msg = rs.error_message ? rs.error_message : "";
            st = lmt_fail(rs.status == 401 || rs.status == 403 ? LMT_ERR_ACCESS : LMT_ERR_NETWORK,
                          "%s %s: LFS upload of %s (%s) to %s failed (HTTP %ld%s%s)", lmt_hub_type_name(s->type), s->repo_id,
                          x->path, x->local, rs.url ? rs.url : up.href, rs.status, *msg ? ": " : "", msg);
        }
        lmt_http_response_free(&rs);
    }
    if (st == LMT_OK && ver.href) {
        lmt_strbuf b;
        lmt_sb_init(&b);
        lmt_sb_printf(&b, "{\"oid\": \"%s\", \"size\": %lld}", x->sha256, (long long)x->size);
        /* the action's headers plus the JSON content type */
        size_t m = ver.n_headers;
        const char **h = calloc(m + 2, sizeof *h);
        if (!h || b.oom) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
        else {
            for (size_t i = 0; i < m; i++) h[i] = ver.headers[i];
            h[m] = "Content-Type: application/json";
            call c = {.method = "POST", .url = ver.href, .token = lmt_http_same_origin(ver.href, s->endpoint) ? s->token : NULL,
                      .headers = h, .body = b.data, .body_len = b.len};
            st = perform(s, &c, &rs);
            if (st == LMT_OK && (rs.status < 200 || rs.status >= 300)) st = step_error(s, "LFS verify", x->path, &rs);
            lmt_http_response_free(&rs);
        }
        free(h);
        lmt_sb_free(&b);
    }
    action_free(&up);
    action_free(&ver);
    return st;
}

static lmt_status lfs_batch(const lmt_hub_session *s, lmt_upload_item *items, size_t n) {
    /* the LFS files to send, each content once */
    size_t *todo = malloc((n ? n : 1) * sizeof *todo), m = 0;
    if (!todo) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (!items[i].lfs || items[i].skip) continue;
        bool dup = false;
        for (size_t k = 0; k < m && !dup; k++) dup = !strcmp(items[todo[k]].sha256, items[i].sha256);
        if (!dup) todo[m++] = i;
    }
    lmt_strbuf u;
    lmt_sb_init(&u);
    lmt_sb_printf(&u, "%s/%s%s.git/info/lfs/objects/batch", s->endpoint, s->type == LMT_REPO_DATASET ? "datasets/" : "", s->repo_id);
    static const char *const lfs_headers[] = {"Accept: application/vnd.git-lfs+json",
                                              "Content-Type: application/vnd.git-lfs+json", NULL};
    lmt_status st = u.oom ? lmt_fail(LMT_ERR_NOMEM, "out of memory") : LMT_OK;
    for (size_t at = 0; st == LMT_OK && at < m; at += CHUNK_FILES) {
        size_t k = m - at < CHUNK_FILES ? m - at : CHUNK_FILES;
        lmt_strbuf b;
        lmt_sb_init(&b);
        lmt_sb_puts(&b, "{\"operation\": \"upload\", \"transfers\": [\"basic\"], \"objects\": [");
        for (size_t i = 0; i < k; i++) {
            const lmt_upload_item *x = &items[todo[at + i]];
            lmt_sb_printf(&b, "%s{\"oid\": \"%s\", \"size\": %lld}", i ? ", " : "", x->sha256, (long long)x->size);
        }
        lmt_sb_puts(&b, "], \"hash_algo\": \"sha256\", \"ref\": {\"name\": ");
        put_str(&b, s->revision);
        lmt_sb_puts(&b, "}}");
        lmt_http_response rs = {0};
        call c = {.method = "POST", .url = u.data, .token = s->token, .headers = lfs_headers, .body = b.data, .body_len = b.len};
        st = b.oom ? lmt_fail(LMT_ERR_NOMEM, "out of memory") : perform(s, &c, &rs);
        if (st == LMT_OK && rs.status != 200) st = step_error(s, "LFS batch", NULL, &rs);
        lmt_json *j = NULL;
        if (st == LMT_OK) st = answer_json(&rs, "the LFS batch answer", &j);
        const lmt_json *objs = st == LMT_OK ? lmt_json_get(j, "objects") : NULL;
        if (st == LMT_OK && (!objs || objs->type != LMT_JSON_ARRAY))
            st = lmt_fail(LMT_ERR_FORMAT, "%s: the LFS batch answer has no objects list", u.data);
        for (size_t i = 0; st == LMT_OK && i < k; i++) {
            const lmt_upload_item *x = &items[todo[at + i]];
            const lmt_json *o = NULL;
            for (size_t q = 0; q < objs->len && !o; q++) {
                const lmt_json *oid = lmt_json_get(&objs->items[q], "oid");
                if (oid && oid->type == LMT_JSON_STRING && !strcmp(oid->str, x->sha256)) o = &objs->items[q];
            }
            if (!o) { st = lmt_fail(LMT_ERR_FORMAT, "%s: the LFS batch answer does not mention %s (sha256 %s)", u.data, x->path, x->sha256); break; }
            const lmt_json *err = lmt_json_get(o, "error");
            if (err && err->type == LMT_JSON_OBJECT) {
                const char *msg = NULL;
                int64_t code = 0;
                lmt_json_get_str(err, "message", NULL, "LFS batch", &msg);
                lmt_json_get_int(err, "code", 0, "LFS batch", &code);
                st = lmt_fail(LMT_ERR_NETWORK, "%s %s: the Hub refused the LFS upload of %s (%s): %s (code %lld)",
                              lmt_hub_type_name(s->type), s->repo_id, x->path, x->local, msg ? msg : "no message", (long long)code);
                break;
            }
            const lmt_json *actions = lmt_json_get(o, "actions");
            if (!actions || actions->type != LMT_JSON_OBJECT || !lmt_json_get(actions, "upload")) continue;   /* already there */
            st = lfs_put(s, x, actions);
        }
        lmt_json_free(j);
        lmt_http_response_free(&rs);
        lmt_sb_free(&b);
    }
    lmt_sb_free(&u);
    free(todo);
    return st;
}

/* the revision's head, for an upload with nothing to commit (repo_info) */
static lmt_status head_commit(const lmt_hub_session *s, char **oid) {
    char *suffix = rev_suffix("revision", s->revision);
    char *url = suffix ? lmt_hub_api_url(s, suffix) : NULL;
    free(suffix);
    if (!url) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    call c = {.method = "GET", .url = url, .token = s->token};
    lmt_http_response rs;
    lmt_status st = perform(s, &c, &rs);
    if (st == LMT_OK && rs.status != 200) st = lmt_fail_wrap(lmt_hub_http_error(s, &rs, NULL), "repo info");
    lmt_json *j = NULL;
    const char *sha = NULL;
    if (st == LMT_OK) st = answer_json(&rs, "the Hub's repo info", &j);
    if (st == LMT_OK) st = lmt_json_get_str(j, "sha", NULL, "the Hub's repo info", &sha);
    if (st == LMT_OK && !sha) st = lmt_fail(LMT_ERR_FORMAT, "%s: the repo info has no sha", url);
    if (st == LMT_OK && !(*oid = lmt_strdup(sha))) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_json_free(j);
    lmt_http_response_free(&rs);
    free(url);
    return st;
}

static lmt_status commit(const lmt_hub_session *s, const lmt_upload_item *items, size_t n, const lmt_hub_upload_options *u,
                         char **oid) {
    lmt_strbuf b;
    lmt_sb_init(&b);
    const char *msg = u && u->commit_message && *u->commit_message ? u->commit_message : "Upload folder using huggingface_hub";
    lmt_status st = lmt_hub_commit_body(items, n, msg, u ? u->commit_description : NULL, &b);
    char *suffix = rev_suffix("commit", s->revision);
    char *url = suffix ? lmt_hub_api_url(s, suffix) : NULL;
    free(suffix);
    if (st == LMT_OK && !url) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
    static const char *const ndjson[] = {"Content-Type: application/x-ndjson", NULL};
    lmt_http_response rs = {0};
    if (st == LMT_OK) {
        call c = {.method = "POST", .url = url, .token = s->token, .headers = ndjson, .body = b.data, .body_len = b.len,
                  .transfer = true};
        st = perform(s, &c, &rs);
    }
    if (st == LMT_OK && (rs.status < 200 || rs.status >= 300)) st = step_error(s, "commit", NULL, &rs);
    lmt_json *j = NULL;
    const char *c_oid = NULL;
    if (st == LMT_OK) st = answer_json(&rs, "the Hub's commit answer", &j);
    if (st == LMT_OK) st = lmt_json_get_str(j, "commitOid", NULL, "the Hub's commit answer", &c_oid);
    if (st == LMT_OK && !c_oid) st = lmt_fail(LMT_ERR_FORMAT, "%s: the commit answer has no commitOid", url);
    if (st == LMT_OK && oid && !(*oid = lmt_strdup(c_oid))) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_json_free(j);
    lmt_http_response_free(&rs);
    lmt_sb_free(&b);
    free(url);
    return st;
}

/* create_commit's no-op filter: the repo has the file with this content */
static lmt_status mark_unchanged(lmt_upload_item *items, size_t n) {
    for (size_t i = 0; i < n; i++) {
        lmt_upload_item *x = &items[i];
        if (x->skip || !x->remote_oid) continue;
        if (x->lfs) { x->skip = !strcmp(x->remote_oid, x->sha256); continue; }
        char sha1[41];
        LMT_TRY(lmt_git_blob_sha1_file(x->local, sha1));
        x->skip = !strcmp(x->remote_oid, sha1);
    }
    return LMT_OK;
}

lmt_status lmt_hub_upload_folder(const char *repo_id, const char *folder, const lmt_hub_upload_options *u,
                                 const lmt_hub_options *o, char **commit_oid) {
    if (commit_oid) *commit_oid = NULL;
    lmt_hub_session s;
    LMT_TRY(lmt_hub_session_init(&s, repo_id, o));
    lmt_upload_item *items = NULL;
    size_t n = 0;
    lmt_status st = lmt_hub_upload_list(folder, u ? u->path_in_repo : NULL, u ? u->allow_patterns : NULL,
                                        u ? u->ignore_patterns : NULL, &items, &n);
    if (st == LMT_OK && n) st = preupload(&s, items, n);
    if (st == LMT_OK) st = mark_unchanged(items, n);
    size_t left = 0;
    for (size_t i = 0; i < n; i++) left += !items[i].skip;
    if (st == LMT_OK && left) st = lfs_batch(&s, items, n);
    if (st == LMT_OK && left) st = commit(&s, items, n, u, commit_oid);
    else if (st == LMT_OK) {
        lmt_note("%s %s: no files have been modified since the last commit: nothing committed", lmt_hub_type_name(s.type), repo_id);
        char *head = NULL;
        st = head_commit(&s, &head);
        if (commit_oid) *commit_oid = head;
        else free(head);
    }
    lmt_hub_upload_items_free(items, n);
    lmt_hub_session_free(&s);
    return st;
}
