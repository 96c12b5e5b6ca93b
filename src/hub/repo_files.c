/* A repo's files at a revision and snapshot_download (hub/repo_files.h,
 * lmtune/hub.h), as huggingface_hub's _snapshot_download.py: the commit and
 * the file list from the Hub (repo_info), else from the cached snapshot;
 * filter_repo_objects' globs; every file through hf_hub_download pinned to
 * the listed commit; with a local_dir, the files copied there with their
 * .cache/huggingface/download/<file>.metadata. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "hub/cache.h"
#include "hub/download.h"
#include "hub/repo_files.h"

lmt_status lmt_hub_names_push(lmt_hub_names *l, const char *s) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = lmt_strdup(s))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    l->n++;
    return LMT_OK;
}

void lmt_hub_names_free(lmt_hub_names *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
void lmt_hub_names_sort(lmt_hub_names *l) {
    if (l->n > 1) qsort(l->v, l->n, sizeof *l->v, cmp_str);
}

static lmt_status walk(const char *dir, const char *rel, lmt_hub_names *out) {
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT && !*rel ? LMT_OK : lmt_fail(LMT_ERR_IO, "%s: cannot list: %s", dir, strerror(errno));
    lmt_status st = LMT_OK;
    struct dirent *e;
    while (st == LMT_OK && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *path = lmt_path_join(dir, e->d_name);
        char *sub = *rel ? lmt_path_join(rel, e->d_name) : lmt_strdup(e->d_name);
        struct stat sb;
        if (!path || !sub) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
        else if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) st = walk(path, sub, out);
        else st = lmt_hub_names_push(out, sub);   /* a broken link too: the caller decides */
        free(path);
        free(sub);
    }
    closedir(d);
    return st;
}

lmt_status lmt_hub_walk_files(const char *dir, lmt_hub_names *out) {
    lmt_status st = walk(dir, "", out);
    lmt_hub_names_sort(out);
    return st;
}

/* a '\\' is a '/', and "dir/" gets a "*" appended */
static char *normalize_pattern(const char *p) {
    size_t n = strlen(p);
    char *q = malloc(n + 2);
    if (!q) return NULL;
    for (size_t i = 0; i <= n; i++) q[i] = p[i] == '\\' ? '/' : p[i];
    if (n && q[n - 1] == '/') { q[n] = '*'; q[n + 1] = '\0'; }
    return q;
}

static bool any_match(const char *path, const char *const *patterns) {
    for (size_t i = 0; patterns[i]; i++) {
        char *p = normalize_pattern(patterns[i]);
        bool hit = p && fnmatch(p, path, FNM_NOESCAPE) == 0;
        free(p);
        if (hit) return true;
    }
    return false;
}

bool lmt_hub_filter_match(const char *path, const char *const *allow, const char *const *ignore) {
    char *norm = normalize_pattern(path);   /* only the separators: a path never ends in '/' */
    if (!norm) return false;
    size_t n = strlen(path);
    if (n && path[n - 1] == '/') norm[n] = '\0';
    bool keep = (!allow || any_match(norm, allow)) && !(ignore && any_match(norm, ignore));
    free(norm);
    return keep;
}

/* repo_info's answer: sha and siblings[].rfilename */
static lmt_status parse_info(const lmt_hub_session *s, const lmt_http_response *rs, const char *url, char **commit,
                             lmt_hub_names *files) {
    lmt_json *j = NULL;
    LMT_TRY(lmt_json_parse(rs->body ? rs->body : "", rs->body_len, url, &j));
    const lmt_json *sha = lmt_json_get(j, "sha"), *sib = lmt_json_get(j, "siblings");
    lmt_status st = LMT_OK;
    if (!sha || sha->type != LMT_JSON_STRING || !lmt_hub_is_commit(sha->str))
        st = lmt_fail(LMT_ERR_FORMAT, "%s: the Hub's answer has no commit \"sha\" (%s %s)", url, lmt_hub_type_name(s->type), s->repo_id);
    else if (!sib || sib->type != LMT_JSON_ARRAY)
        st = lmt_fail(LMT_ERR_FORMAT, "%s: the Hub's answer has no \"siblings\" list (%s %s)", url, lmt_hub_type_name(s->type), s->repo_id);
    for (size_t i = 0; st == LMT_OK && i < sib->len; i++) {
        const lmt_json *f = lmt_json_get(&sib->items[i], "rfilename");
        if (!f || f->type != LMT_JSON_STRING) {
            st = lmt_fail(LMT_ERR_FORMAT, "%s: siblings[%zu] has no \"rfilename\"", url, i);
            break;
        }
        st = lmt_hub_names_push(files, f->str);
    }
    if (st == LMT_OK && !(*commit = lmt_strdup(sha->str))) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_json_free(j);
    return st;
}

/* GET .../revision/<rev>: LMT_OK with the list; *answered when the Hub gave an HTTP error */
static lmt_status ask_hub(const lmt_hub_session *s, char **commit, lmt_hub_names *files, bool *fatal) {
    char *rev = lmt_http_escape(s->revision, false);
    char *suffix = rev ? malloc(strlen(rev) + 16) : NULL;
    if (suffix) sprintf(suffix, "/revision/%s", rev);
    char *url = suffix ? lmt_hub_api_url(s, suffix) : NULL;
    free(rev);
    free(suffix);
    if (!url) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_http_request rq = {.method = "GET", .url = url, .token = s->token, .timeout_s = s->etag_timeout, .sink_fd = -1,
                           .follow = LMT_FOLLOW_RELATIVE};
    lmt_http_response rs;
    lmt_status st = lmt_http_perform(&rq, &rs);
    if (st == LMT_OK && rs.status >= 400) {
        const char *code = rs.error_code ? rs.error_code : "";
        /* snapshot_download: a missing revision stands; other refusals try the cache first */
        *fatal = !strcmp(code, "RevisionNotFound");
        st = lmt_hub_http_error(s, &rs, NULL);
    } else if (st == LMT_OK) st = parse_info(s, &rs, url, commit, files);
    lmt_http_response_free(&rs);
    free(url);
    return st;
}

lmt_status lmt_hub_repo_files(const lmt_hub_session *s, char **commit, lmt_hub_names *files, bool *from_cache) {
    *commit = NULL;
    if (from_cache) *from_cache = false;
    lmt_status st = LMT_ERR_NETWORK;
    bool fatal = false;
    if (!s->offline) {
        st = ask_hub(s, commit, files, &fatal);
        if (st == LMT_OK) {
            lmt_hub_names_sort(files);
            lmt_hub_ref_write(s->storage, s->revision, *commit);   /* best effort, as _cache_commit_hash_for_specific_revision */
            lmt_clear_error();
            return LMT_OK;
        }
        lmt_hub_names_free(files);
        free(*commit);
        *commit = NULL;
        if (fatal) return st;
    }
    /* the cached snapshot */
    char *hub_error = lmt_strdup(s->offline ? "offline mode is on" : lmt_last_error());
    lmt_status hub_st = st;
    char *c = lmt_hub_is_commit(s->revision) ? lmt_strdup(s->revision) : lmt_hub_ref_read(s->storage, s->revision);
    char *snapshots = lmt_path_join(s->storage, "snapshots");
    char *snap = c && snapshots ? lmt_path_join(snapshots, c) : NULL;
    if (snap && lmt_is_dir(snap)) {
        st = lmt_hub_walk_files(snap, files);
        if (st == LMT_OK) {
            *commit = c;
            c = NULL;
            if (from_cache) *from_cache = true;
            if (!s->offline)
                lmt_warn("the Hub could not be reached or refused (%s); %s %s is listed from the cache (commit %s)",
                         hub_error ? hub_error : "", lmt_hub_type_name(s->type), s->repo_id, *commit);
        }
    } else if (s->offline)
        st = lmt_fail(LMT_ERR_NOT_FOUND, "%s %s (revision %s): no snapshot in the cache %s, and offline mode is on (%s): unset it "
                      "to download", lmt_hub_type_name(s->type), s->repo_id, s->revision, s->cache,
                      s->o->local_files_only ? "local files only" : "HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE");
    else if (hub_st != LMT_ERR_NETWORK)
        st = lmt_fail(hub_st, "%s", hub_error ? hub_error : "");   /* the Hub's refusal (not found, gated...) stands */
    else
        st = lmt_fail(hub_st, "%s %s (revision %s): the Hub could not be reached (%s) and there is no snapshot in the cache %s",
                      lmt_hub_type_name(s->type), s->repo_id, s->revision, hub_error ? hub_error : "", s->cache);
    free(hub_error);
    free(c);
    free(snapshots);
    free(snap);
    return st;
}

lmt_status lmt_hub_write_download_metadata(const char *local_dir, const char *file, const char *commit, const char *etag) {
    char *dl = lmt_path_join(local_dir, ".cache/huggingface/download");
    char *meta_name = malloc(strlen(file) + 10);
    if (meta_name) sprintf(meta_name, "%s.metadata", file);
    char *meta = dl && meta_name ? lmt_path_join(dl, meta_name) : NULL;
    lmt_status st = meta ? LMT_OK : lmt_fail(LMT_ERR_NOMEM, "out of memory");
    if (st == LMT_OK) {
        char *slash = strrchr(meta, '/');
        *slash = '\0';
        st = lmt_mkdirs(meta);
        *slash = '/';
    }
    if (st == LMT_OK) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        char text[256];
        int n = snprintf(text, sizeof text, "%s\n%s\n%lld.%06ld\n", commit, etag, (long long)ts.tv_sec, ts.tv_nsec / 1000);
        st = lmt_write_file_atomic(meta, text, (size_t)n);
    }
    free(dl);
    free(meta_name);
    free(meta);
    return st;
}

static lmt_status copy_file(const char *from, const char *to) {
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0) return lmt_fail(LMT_ERR_IO, "%s: cannot open: %s", from, strerror(errno));
    lmt_atomic_file f;
    lmt_status st = lmt_atomic_open(&f, to);
    char buf[1 << 16];
    ssize_t k;
    while (st == LMT_OK && (k = read(in, buf, sizeof buf)) > 0) lmt_atomic_write(&f, buf, (size_t)k);
    if (st == LMT_OK) st = k < 0 ? (lmt_atomic_abort(&f), lmt_fail(LMT_ERR_IO, "%s: read failed: %s", from, strerror(errno)))
                                 : lmt_atomic_commit(&f);
    close(in);
    return st;
}

lmt_status lmt_hub_copy_to_local_dir(const char *pointer, const char *local_dir, const char *file, const char *commit) {
    char *dest = lmt_path_join(local_dir, file);
    if (!dest) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    char *slash = strrchr(dest, '/');
    *slash = '\0';
    lmt_status st = lmt_mkdirs(dest);
    *slash = '/';
    if (st == LMT_OK) st = copy_file(pointer, dest);
    /* the ETag is the blob's name (the pointer links to blobs/<etag>) */
    char target[4096];
    ssize_t n = readlink(pointer, target, sizeof target - 1);
    if (n > 0) target[n] = '\0';
    const char *etag = n > 0 ? (strrchr(target, '/') ? strrchr(target, '/') + 1 : target) : "";
    if (st == LMT_OK) st = lmt_hub_write_download_metadata(local_dir, file, commit, etag);
    free(dest);
    return st;
}

lmt_status lmt_hub_snapshot_download(const char *repo_id, const char *const *include, const char *const *exclude,
                                     const char *local_dir, const lmt_hub_options *o, char **folder) {
    if (folder) *folder = NULL;
    if (!folder) return lmt_fail(LMT_ERR_ARG, "lmt_hub_snapshot_download: folder is NULL");
    lmt_hub_session s;
    LMT_TRY(lmt_hub_session_init(&s, repo_id, o));
    char *commit = NULL;
    lmt_hub_names files = {0};
    bool from_cache = false;
    lmt_status st = lmt_hub_repo_files(&s, &commit, &files, &from_cache);
    if (st == LMT_OK) {
        s.revision = commit;   /* every file from the listed commit */
        if (from_cache) s.offline = true;
    }
    size_t kept = 0;
    for (size_t i = 0; st == LMT_OK && i < files.n; i++) {
        if (!lmt_hub_filter_match(files.v[i], include, exclude)) continue;
        kept++;
        char *path = NULL;
        st = lmt_hub_download_in(&s, files.v[i], &path, NULL);
        if (st == LMT_OK && local_dir) st = lmt_hub_copy_to_local_dir(path, local_dir, files.v[i], commit);
        free(path);
    }
    if (st == LMT_OK && kept == 0 && (include || exclude))
        lmt_warn("%s %s: no file matched the --include / --exclude patterns", lmt_hub_type_name(s.type), repo_id);
    if (st == LMT_OK) {
        if (local_dir) {
            char *real = realpath(local_dir, NULL);
            if (!real && (st = lmt_mkdirs(local_dir)) == LMT_OK) real = realpath(local_dir, NULL);
            if (st == LMT_OK) *folder = real ? real : lmt_strdup(local_dir);
        } else {
            char *snapshots = lmt_path_join(s.storage, "snapshots");
            *folder = snapshots ? lmt_path_join(snapshots, commit) : NULL;
            free(snapshots);
        }
        if (st == LMT_OK && !*folder) st = lmt_fail(LMT_ERR_NOMEM, "out of memory");
    }
    lmt_hub_names_free(&files);
    free(commit);
    lmt_hub_session_free(&s);
    return st;
}
