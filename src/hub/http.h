/* One HTTP request through libcurl, with the Hub's rules for redirects and
 * tokens: the Authorization header goes only to the host it was meant for
 * (never to the CDN a resolve URL redirects to), and a body can stream into
 * a file descriptor from a byte offset (Range) for resumable downloads.
 * Built without libcurl (LMT_HUB=OFF) every request fails with
 * LMT_ERR_UNSUPPORTED, and the cache still works offline. */
#ifndef LMT_HUB_HTTP_H
#define LMT_HUB_HTTP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lmtune/lmtune.h"

typedef enum {
    LMT_FOLLOW_NONE,      /* answer the redirect itself (the HEAD of a resolve URL) */
    LMT_FOLLOW_RELATIVE,  /* follow "Location: /..." on the same host (renamed repos) */
    LMT_FOLLOW_ALL,       /* follow every redirect; the token stays behind on another host */
} lmt_http_follow;

typedef struct lmt_http_request {
    const char *method;            /* "GET", "HEAD", "POST", "PUT" */
    const char *url;
    const char *token;             /* "Authorization: Bearer ..." to url's own host; NULL/"" none */
    const char *const *headers;    /* more "Name: value" lines, NULL-terminated (may be NULL) */
    const void *body;              /* POST/PUT bytes */
    size_t body_len;
    const char *upload_path;       /* PUT: stream this file instead of body */
    double timeout_s;              /* metadata requests: the whole request; transfers: a stall this long */
    bool transfer;                 /* a (long) download or upload: timeout_s is a stall limit */
    int sink_fd;                   /* >= 0: a 2xx body is appended here (else kept in memory) */
    int64_t range_from;            /* > 0: ask for bytes range_from.. */
    lmt_http_follow follow;
    void (*progress)(void *user, int64_t done, int64_t total);
    void *progress_user;
} lmt_http_request;

typedef struct lmt_http_response {
    long status;                   /* 0: no response */
    char *url;                     /* the URL that answered (after the redirects followed) */
    char *location;                /* absolute, resolved against url */
    char *etag, *linked_etag, *repo_commit, *error_code, *error_message, *content_type;
    int64_t content_length, linked_size;   /* -1: not sent */
    char *body;                    /* non-2xx bodies always; 2xx when there is no sink */
    size_t body_len;
    int64_t received;              /* body bytes written to the sink */
} lmt_http_response;

/* LMT_OK when a server answered (any status: the caller reads it);
 * LMT_ERR_NETWORK when none could be reached, it timed out or the
 * connection broke (rs->received says how far a body got). */
lmt_status lmt_http_perform(const lmt_http_request *rq, lmt_http_response *rs);
void lmt_http_response_free(lmt_http_response *rs);
/* scheme://host:port of both URLs match. */
bool lmt_http_same_origin(const char *a, const char *b);
/* "a%2Fb" style escaping of one URL path segment (keeps "/" when keep_slash). free() it. */
char *lmt_http_escape(const char *s, bool keep_slash);
#endif
