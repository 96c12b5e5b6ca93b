/* hf_hub_download (lmtune/hub.h): one file of a repo at a revision, from
 * the cache when it is there, else from the Hub into the cache, following
 * huggingface_hub's _hf_hub_download_to_cache_dir step for step:
 *   1. a commit revision whose snapshot has the file: done, no request;
 *   2. HEAD the resolve URL: commit, ETag, size, where the bytes are;
 *      a file the repo lacks is remembered in .no_exist;
 *   3. no answer (offline, no network, the Hub failing, no access): the
 *      file the cache has for that revision, else the error;
 *   4. refs/<revision> = commit; under .locks/<repo>/<etag>.lock the blob is
 *      downloaded to blobs/<etag>.incomplete (resumed with Range after a
 *      broken connection, checked for size and, for LFS files, sha256),
 *      renamed to blobs/<etag>, and linked from snapshots/<commit>/<file>. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "core/error.h"
#include "core/util.h"
#include "hub/cache.h"
#include "hub/digest.h"
#include "hub/download.h"

enum { TRANSFER_RETRIES = 5, VERIFY_ATTEMPTS = 2 };

typedef struct {
    char *commit, *etag, *location;
    int64_t size;   /* -1: unknown */
} file_meta;

static void meta_free(file_meta *m) {
    free(m->commit);
    free(m->etag);
    free(m->location);
    memset(m, 0, sizeof *m);
}

/* ETag: W/"x" or "x" -> x (huggingface_hub's _normalize_etag) */
static char *normalize_etag(const char *e) {
    if (!e) return NULL;
    if (!strncmp(e, "W/", 2)) e += 2;
    size_t n = strlen(e);
    while (n && *e == '"') { e++; n--; }
    while (n && e[n - 1] == '"') n--;
    return n ? lmt_strndup(e, n) : NULL;
}

static int64_t file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
}

static void nap_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* Step 2. LMT_OK with meta filled; an HTTP failure leaves *rs for the caller. */
static lmt_status head_file(const lmt_hub_session *s, const char *file, file_meta *meta, lmt_http_response *rs) {
    char *url = lmt_hub_resolve_url(s, s->revision, file);
    if (!url) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_http_request rq = {.method = "HEAD", .url = url, .token = s->token, .timeout_s = s->etag_timeout,
                           .sink_fd = -1, .follow = LMT_FOLLOW_RELATIVE,
                           .headers = (const char *const[]){"Accept-Encoding: identity", NULL}};
    lmt_status st = lmt_http_perform(&rq, rs);
    if (st == LMT_ERR_NETWORK || (st == LMT_OK && rs->status >= 500)) {   /* once more, as huggingface_hub retries */
        lmt_http_response_free(rs);
        nap_ms(200);
        st = lmt_http_perform(&rq, rs);
    }
    free(url);
    if (st != LMT_OK || rs->status >= 400) return st;
    bool redirect = rs->status >= 300 && rs->status < 400;
    meta->commit = rs->repo_commit ? lmt_strdup(rs->repo_commit) : NULL;
    meta->etag = normalize_etag(rs->linked_etag ? rs->linked_etag : rs->etag);
    meta->size = rs->linked_size >= 0 ? rs->linked_size : redirect ? -1 : rs->content_length;
    meta->location = lmt_strdup(redirect && rs->location ? rs->location : rs->url);
    if (!meta->commit || !lmt_hub_is_commit(meta->commit))
        return lmt_fail(LMT_ERR_FORMAT, "%s: the answer has no X-Repo-Commit header: %s does not look like a Hub (check HF_ENDPOINT, "
                        "proxies and firewalls)", rs->url, s->endpoint);
    if (!meta->etag || strchr(meta->etag, '/') || !strcmp(meta->etag, ".") || !strcmp(meta->etag, ".."))
        return lmt_fail(LMT_ERR_FORMAT, "%s: the answer has no usable ETag, so the file cannot be cached", rs->url);
    return LMT_OK;
}

static void report(const lmt_hub_session *s, const char *file, int64_t done, int64_t total) {
    if (s->o->on_progress) s->o->on_progress(s->o->user, file, done, total);
}

typedef struct { const lmt_hub_session *s; const char *file; } progress_ctx;
static void on_bytes(void *user, int64_t done, int64_t total) {
    progress_ctx *p = user;
    report(p->s, p->file, done, total);
}

/* Fills blobs/<etag>.incomplete until it has meta->size bytes, resuming
 * after broken connections; the file stays for a later run on failure. */
static lmt_status transfer_to(const lmt_hub_session *s, const char *file, const file_meta *meta, const char *incomplete) {
    int fd = open(incomplete, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return lmt_fail(LMT_ERR_IO, "%s: cannot create: %s", incomplete, strerror(errno));
    int64_t have = file_size(incomplete);
    if (have < 0 || (meta->size >= 0 && have > meta->size)) {
        if (ftruncate(fd, 0) != 0) have = -1;
        else have = 0;
    }
    progress_ctx pc = {s, file};
    lmt_status st = LMT_OK;
    for (int retries = TRANSFER_RETRIES; have >= 0;) {
        if (meta->size >= 0 && have == meta->size) break;
        lmt_http_request rq = {.method = "GET", .url = meta->location, .token = s->token, .timeout_s = s->download_timeout,
                               .transfer = true, .sink_fd = fd, .range_from = have, .follow = LMT_FOLLOW_ALL,
                               .progress = s->o->on_progress ? on_bytes : NULL, .progress_user = &pc};
        /* the token goes to the Hub, never to a CDN the resolve URL sent us to */
        bool to_hub = lmt_http_same_origin(meta->location, s->endpoint);
        if (!to_hub) rq.token = NULL;
        lmt_http_response rs;
        st = lmt_http_perform(&rq, &rs);
        int64_t now = file_size(incomplete);
        if (st == LMT_OK && rs.status == 416) {   /* the range is past the end: start over */
            lmt_http_response_free(&rs);
            if (ftruncate(fd, 0) != 0) break;
            have = 0;
            continue;
        }
        if (st == LMT_OK && rs.status >= 400) {
            st = lmt_hub_http_error(s, &rs, file);
            lmt_http_response_free(&rs);
            break;
        }
        bool complete = st == LMT_OK && (meta->size < 0 ? rs.content_length < 0 || rs.received == rs.content_length
                                                        : now == meta->size);
        lmt_http_response_free(&rs);
        if (complete) { have = now; break; }
        if (st == LMT_OK) st = lmt_fail(LMT_ERR_NETWORK, "%s: the transfer ended early", meta->location);
        if (st != LMT_ERR_NETWORK) break;
        if (now > have) retries = TRANSFER_RETRIES;   /* progress: the count starts again, as huggingface_hub's */
        else if (--retries <= 0) break;
        have = now;
        nap_ms(300);
    }
    close(fd);
    if (st != LMT_OK)
        return lmt_fail(st, "%s (%s %s): download failed after retries, %lld bytes kept in %s for the next try: %s", file,
                        lmt_hub_type_name(s->type), s->repo_id, (long long)file_size(incomplete), incomplete, lmt_last_error());
    return LMT_OK;
}

/* "" when the bytes match the size and, for an LFS file, the sha256 its ETag is */
static const char *verify_blob(const char *path, const file_meta *meta, char *why, size_t cap) {
    int64_t n = file_size(path);
    if (meta->size >= 0 && n != meta->size) {
        snprintf(why, cap, "%lld bytes, expected %lld", (long long)n, (long long)meta->size);
        return why;
    }
    if (lmt_is_sha256_hex(meta->etag)) {
        char hex[65];
        if (lmt_sha256_file(path, hex) != LMT_OK) { snprintf(why, cap, "%s", lmt_last_error()); return why; }
        if (strcmp(hex, meta->etag)) {
            snprintf(why, cap, "sha256 %s, expected %s", hex, meta->etag);
            return why;
        }
    }
    return "";
}

static lmt_status fetch_blob(const lmt_hub_session *s, const char *file, const file_meta *meta, const char *blob) {
    char *incomplete = malloc(strlen(blob) + 12);
    if (!incomplete) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    sprintf(incomplete, "%s.incomplete", blob);
    lmt_status st = LMT_OK;
    char why[256] = "";
    for (int attempt = 0; attempt < VERIFY_ATTEMPTS; attempt++) {
        st = transfer_to(s, file, meta, incomplete);
        if (st != LMT_OK) break;
        const char *bad = verify_blob(incomplete, meta, why, sizeof why);
        if (!*bad) {
            if (rename(incomplete, blob) != 0) st = lmt_fail(LMT_ERR_IO, "%s: cannot rename to %s: %s", incomplete, blob, strerror(errno));
            free(incomplete);
            return st;
        }
        unlink(incomplete);   /* refused: fetched again from the first byte */
        st = lmt_fail(LMT_ERR_FORMAT, "%s (%s %s): the downloaded bytes do not match the Hub's (%s), %d times; nothing was kept", file,
                      lmt_hub_type_name(s->type), s->repo_id, why, attempt + 1);
    }
    free(incomplete);
    return st;
}

/* Step 3: what the cache has for the revision when the Hub gave no answer. */
static lmt_status from_cache(const lmt_hub_session *s, const char *file, char **path, lmt_status head_st, bool head_http_refusal,
                             bool *cached_only) {
    char why[1024];   /* the Hub's answer, before the cache lookups below touch the error */
    snprintf(why, sizeof why, "%s", lmt_last_error());
    char *commit = lmt_hub_is_commit(s->revision) ? lmt_strdup(s->revision) : lmt_hub_ref_read(s->storage, s->revision);
    if (commit) {
        char *ptr = lmt_hub_pointer_path(s->storage, commit, file);
        if (ptr && lmt_file_exists(ptr) && !s->o->force_download) {
            free(commit);
            lmt_clear_error();
            *path = ptr;
            if (cached_only && !s->offline) *cached_only = true;
            return LMT_OK;
        }
        free(ptr);
        bool absent = lmt_hub_no_exist(s->storage, commit, file);
        free(commit);
        if (absent)
            return lmt_fail(LMT_ERR_NOT_FOUND, "%s (%s %s, revision %s): no such file in the repo (as the cache recorded)", file,
                            lmt_hub_type_name(s->type), s->repo_id, s->revision);
    }
    if (s->o->force_download)
        return lmt_fail(head_st, "%s (%s %s): cannot download again: %s", file, lmt_hub_type_name(s->type), s->repo_id,
                        s->offline ? "offline mode is on" : why);
    if (s->offline)
        return lmt_fail(LMT_ERR_NOT_FOUND, "%s (%s %s, revision %s) is not in the cache %s, and offline mode is on (%s): unset it "
                        "to download", file, lmt_hub_type_name(s->type), s->repo_id, s->revision, s->cache,
                        s->o->local_files_only ? "local files only" : "HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE");
    if (head_http_refusal) return lmt_fail(head_st, "%s", why);   /* the Hub's own error (not found, gated, unauthorised) stands */
    return lmt_fail(head_st, "%s (%s %s, revision %s): the Hub could not be reached (%s) and the file is not in the cache %s", file,
                    lmt_hub_type_name(s->type), s->repo_id, s->revision, why, s->cache);
}

lmt_status lmt_hub_download_in(const lmt_hub_session *s, const char *file, char **path, bool *cached_only) {
    *path = NULL;
    if (!lmt_hub_valid_filename(file))
        return lmt_fail(LMT_ERR_ARG, "'%s': not a valid file name inside a repo (relative, without '..')", file ? file : "(null)");
    if (lmt_hub_is_commit(s->revision) && !s->o->force_download) {   /* step 1 */
        char *ptr = lmt_hub_pointer_path(s->storage, s->revision, file);
        if (ptr && lmt_file_exists(ptr)) { *path = ptr; return LMT_OK; }
        free(ptr);
        if (lmt_hub_no_exist(s->storage, s->revision, file))   /* as transformers consults .no_exist first */
            return lmt_fail(LMT_ERR_NOT_FOUND, "%s (%s %s, revision %s): no such file in the repo (as the cache recorded)", file,
                            lmt_hub_type_name(s->type), s->repo_id, s->revision);
    }
    file_meta meta = {.size = -1};
    lmt_status head_st;
    bool refusal = false;
    if (s->offline) head_st = lmt_fail(LMT_ERR_NETWORK, "offline mode");
    else {
        lmt_http_response rs;
        head_st = head_file(s, file, &meta, &rs);
        if (head_st == LMT_OK && rs.status >= 400) {
            const char *code = rs.error_code ? rs.error_code : "";
            head_st = lmt_hub_http_error(s, &rs, file);
            if (!strcmp(code, "EntryNotFound") || !strcmp(code, "RevisionNotFound")) {
                if (!strcmp(code, "EntryNotFound") && lmt_hub_is_commit(rs.repo_commit)) {
                    lmt_hub_mark_no_exist(s->storage, rs.repo_commit, file);
                    lmt_hub_ref_write(s->storage, s->revision, rs.repo_commit);
                    lmt_clear_error();
                    head_st = lmt_hub_http_error(s, &rs, file);
                }
                lmt_http_response_free(&rs);
                meta_free(&meta);
                return head_st;   /* the repo answered: the cache cannot know better */
            }
            refusal = rs.status < 500;
        }
        lmt_http_response_free(&rs);
    }
    if (head_st != LMT_OK) {
        meta_free(&meta);
        return from_cache(s, file, path, head_st, refusal, cached_only);
    }
    char *blobs = lmt_path_join(s->storage, "blobs");
    char *blob = blobs ? lmt_path_join(blobs, meta.etag) : NULL;
    char *ptr = lmt_hub_pointer_path(s->storage, meta.commit, file);
    char *lock_dir = lmt_path_join(s->cache, ".locks");
    char *lock_repo = lock_dir ? lmt_path_join(lock_dir, s->repo_folder) : NULL;
    char lock_name[320];
    snprintf(lock_name, sizeof lock_name, "%s.lock", meta.etag);
    char *lock = lock_repo ? lmt_path_join(lock_repo, lock_name) : NULL;
    lmt_status st = blob && ptr && lock ? LMT_OK : lmt_fail(LMT_ERR_NOMEM, "out of memory");
    bool ptr_ok = st == LMT_OK && !s->o->force_download && lmt_file_exists(ptr) &&
                  (meta.size < 0 || file_size(ptr) == meta.size);
    if (ptr_ok) {
        lmt_hub_ref_write(s->storage, s->revision, meta.commit);   /* best effort: the cache may be read-only */
        lmt_clear_error();
    } else if (st == LMT_OK) {
        st = lmt_mkdirs(blobs);
        if (st == LMT_OK) {
            lmt_hub_tag_cache(s->cache);
            st = lmt_hub_ref_write(s->storage, s->revision, meta.commit);
        }
        int fd = st == LMT_OK ? lmt_hub_lock(lock) : -1;
        if (st == LMT_OK && fd < 0) st = LMT_ERR_IO;
        if (st == LMT_OK) {
            int64_t have = file_size(blob);
            bool blob_ok = !s->o->force_download && have >= 0 && (meta.size < 0 || have == meta.size);
            if (!blob_ok) {
                if (have >= 0) unlink(blob);   /* a damaged blob (wrong size) is fetched again */
                st = fetch_blob(s, file, &meta, blob);
            }
            if (st == LMT_OK) st = lmt_hub_link_blob(blob, ptr);
            lmt_hub_unlock(fd);
        }
    }
    if (st == LMT_OK) { *path = ptr; ptr = NULL; }
    free(blobs);
    free(blob);
    free(ptr);
    free(lock_dir);
    free(lock_repo);
    free(lock);
    meta_free(&meta);
    return st;
}

lmt_status lmt_hub_download(const char *repo_id, const char *filename, const lmt_hub_options *o, char **path) {
    if (path) *path = NULL;
    if (!path) return lmt_fail(LMT_ERR_ARG, "lmt_hub_download: path is NULL");
    lmt_hub_session s;
    LMT_TRY(lmt_hub_session_init(&s, repo_id, o));
    lmt_status st = lmt_hub_download_in(&s, filename, path, NULL);
    lmt_hub_session_free(&s);
    return st;
}
