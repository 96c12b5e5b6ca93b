/* What every Hub call works out first from its options and the environment
 * (lmtune/hub.h): the endpoint, the cache, the token, the revision, whether
 * it may go online, the timeouts; and the URLs and error messages built from
 * them. */
#ifndef LMT_HUB_SESSION_H
#define LMT_HUB_SESSION_H
#include <stdbool.h>
#include "hub/http.h"
#include "lmtune/hub.h"

typedef struct lmt_hub_session {
    const lmt_hub_options *o;
    const char *repo_id;
    lmt_repo_type type;
    char *endpoint;          /* no trailing slash */
    char *cache;             /* the cache folder */
    char *storage;           /* cache/models--ORG--NAME */
    char *repo_folder;       /* models--ORG--NAME */
    char *token;             /* NULL: none */
    const char *revision;
    bool offline;            /* local_files_only or HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE */
    double etag_timeout, download_timeout;
} lmt_hub_session;

/* Checks repo_id; reads the options and the environment. */
lmt_status lmt_hub_session_init(lmt_hub_session *s, const char *repo_id, const lmt_hub_options *o);
void lmt_hub_session_free(lmt_hub_session *s);
/* {endpoint}[/datasets]/{repo}/resolve/{revision}/{file}; free() it. */
char *lmt_hub_resolve_url(const lmt_hub_session *s, const char *revision, const char *file);
/* {endpoint}/api/{models|datasets}/{repo}{suffix}; free() it. */
char *lmt_hub_api_url(const lmt_hub_session *s, const char *suffix);
/* "model" / "dataset" */
const char *lmt_hub_type_name(lmt_repo_type t);

/* The failure a Hub answer means, as huggingface_hub names it (repository
 * not found, gated, revision not found, entry not found, unauthorised, the
 * Hub failing), naming the repo and the file (file may be NULL). */
lmt_status lmt_hub_http_error(const lmt_hub_session *s, const lmt_http_response *rs, const char *file);
#endif
