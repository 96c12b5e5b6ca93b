/* lmt_hub_server: a Hugging Face Hub stand-in for the tests (issue 14).
 * Declarations shared by its files: the HTTP layer (http.c), the repos on
 * disk (repo.c), the test controls (control.c), file serving (serve.c), the
 * JSON API (api.c) and the upload API (upload.c); main and routing in
 * hub_server.c. Not part of liblmtune; only its JSON and string helpers are
 * borrowed. */
#ifndef LMT_HUB_SERVER_H
#define LMT_HUB_SERVER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/util.h"

#define HUB_MAX_SEGS 64
#define HUB_MAX_HEADERS 64
#define HUB_MAX_HEAD 16384            /* request line + headers */
#define HUB_MAX_BODY (256u << 20)     /* request body */

/* ---- the server (hub_server.c) ---- */
typedef struct {
    const char *root;
    const char **tokens;
    int ntokens;
    int hub_port, cdn_port;
} hub_ctx;
extern hub_ctx g_hub;

/* ---- HTTP (http.c) ---- */
typedef struct {
    int fd, port;                     /* port: the local one (Hub or CDN) */
    char head[HUB_MAX_HEAD + 1];
    char method[16];
    char *path, *query;               /* raw (not decoded); query "" if none */
    const char *hname[HUB_MAX_HEADERS], *hvalue[HUB_MAX_HEADERS];
    int nhdr;
    char *body;
    size_t body_len;
    bool plumbing;                    /* /_control, /_log: no faults, not logged */
} http_req;

typedef struct { int status; lmt_strbuf head; } http_resp;

/* 0: a request was read; -1: the peer closed or sent nothing usable (no
 * answer possible); else an HTTP status to answer (400, 413, 431). */
int http_read_request(int fd, http_req *r);
void http_req_free(http_req *r);
const char *http_header(const http_req *r, const char *name);
bool http_is_head(const http_req *r);

void http_resp_init(http_resp *p, int status);
void http_resp_header(http_resp *p, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* What a body is, for the fault injection (control.c). */
typedef enum { BODY_PLAIN, BODY_BLOB, BODY_CDN_BLOB } body_kind;
/* Sends the status line, the headers, Content-Length (len) and, unless the
 * request is a HEAD, the body; frees p. */
void http_send(http_req *r, http_resp *p, const void *body, size_t len, body_kind kind);
/* Answers status with a JSON body {"error": message} and the Hub's
 * X-Error-Code / X-Error-Message headers (code may be NULL). */
void http_send_error(http_req *r, int status, const char *code, const char *message, const char *commit);
void http_send_json(http_req *r, int status, const lmt_strbuf *json);

/* Percent-decodes s[0..n) into a new string; NULL if malformed or if it would
 * hold a NUL. */
char *url_decode(const char *s, size_t n);
/* Splits a raw path at '/', decoding each segment; false (and nothing kept)
 * on a malformed escape, too many segments, or a "." / ".." segment. */
bool split_path(const char *path, char **segs, int *nsegs);
void free_segs(char **segs, int n);
/* Value of key in a raw query string, decoded (caller frees), or NULL. */
char *query_param(const char *query, const char *key);

/* ---- test controls and request log (control.c) ---- */
void control_init(void);
void control_apply(const char *query);        /* GET /_control?... */
int control_fail_status(void);                /* 0, or the status to answer */
void control_delay(void);                     /* slow_ms */
typedef struct {
    size_t send;        /* body bytes to send */
    size_t length;      /* Content-Length to announce */
    bool corrupt;       /* flip one byte */
    bool close_after;   /* drop the connection after the short body */
} body_plan;
body_plan control_plan_body(size_t len, body_kind kind);
void log_request(const http_req *r);
/* The log so far; with clear, it starts again empty (atomically). */
char *log_text(size_t *len, bool clear);

/* ---- repos on disk (repo.c) ---- */
typedef struct {
    bool dataset;
    char id[256];              /* "ORG/NAME" or "NAME" */
    char folder[320];          /* "models--ORG--NAME" */
    char *dir;                 /* root/folder */
} repo_ref;

typedef struct {
    char *path;                /* relative to the commit tree */
    bool is_dir;
    uint64_t size;
    bool lfs;
    char sha1[41];             /* git blob id (of the pointer for LFS files) */
    char sha256[65];           /* content sha256 (LFS files) */
    uint64_t pointer_size;
} repo_entry;

/* Builds a repo_ref from the URL's repo segments (1 or 2); false if not a
 * valid repo id. */
bool repo_ref_make(repo_ref *rr, bool dataset, char **segs, int n);
/* From a folder name ("models--ORG--NAME"), as the CDN URLs carry it. */
bool repo_ref_from_folder(repo_ref *rr, const char *folder);
void repo_ref_free(repo_ref *rr);
bool repo_exists(const repo_ref *rr);
bool repo_has_flag(const repo_ref *rr, const char *flag);   /* private, gated */
char *repo_moved_to(const repo_ref *rr);                     /* NULL if not moved */
/* Resolves a branch, tag or commit id; false if unknown. */
bool repo_resolve(const repo_ref *rr, const char *rev, char commit[41]);
char *repo_commit_dir(const repo_ref *rr, const char *commit);
bool is_lfs_file(const char *path, uint64_t size);
/* Stats (and with hashes, hashes) one file of a commit; false if absent or a
 * folder. */
bool repo_stat(const repo_ref *rr, const char *commit, const char *path, bool hashes, repo_entry *e);
/* Every entry of a commit (recursive, sorted, folders too), hashed. */
repo_entry *repo_list(const repo_ref *rr, const char *commit, size_t *n);
void repo_entries_free(repo_entry *e, size_t n);
/* Finds the stored content of an LFS object (any commit of the repo, or an
 * upload not yet committed); malloc'd path or NULL. */
char *repo_find_blob(const repo_ref *rr, const char *sha256);
char *lfs_pointer_text(const char *sha256, uint64_t size);
void git_blob_sha1(const void *data, size_t len, char out[41]);
void sha256_hex(const void *data, size_t len, char out[65]);
bool is_hex(const char *s, size_t n);
bool repo_set_ref(const repo_ref *rr, const char *rev, const char *commit);

/* ---- handlers ---- */
/* Checks that the request may see the repo: answers (401/403/404) and
 * returns false if not. *moved gets the moved_to target if the repo moved
 * (the caller answers the redirect). */
bool repo_access(http_req *r, const repo_ref *rr, char **moved);
bool request_authorized(const http_req *r);
/* GET|HEAD .../resolve/REV/PATH; rev and path decoded. */
void serve_resolve(http_req *r, const repo_ref *rr, const char *rev, const char *path);  /* serve.c */
void serve_cdn(http_req *r, char **segs, int n);
void api_dispatch(http_req *r, char **segs, int n);                    /* api.c */
void api_whoami(http_req *r);
void upload_create_repo(http_req *r);                                  /* upload.c */
void upload_preupload(http_req *r, const repo_ref *rr, const char *rev);
void upload_commit(http_req *r, const repo_ref *rr, const char *rev);
void upload_lfs_batch(http_req *r, const repo_ref *rr);
void upload_put_blob(http_req *r, char **segs, int n);
#endif
