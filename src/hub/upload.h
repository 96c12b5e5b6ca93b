/* The pieces of upload_folder (lmtune/hub.h) that need no network, so they
 * can be checked on their own: the file list with huggingface_hub's
 * filtering, the preupload request and answer, the commit's NDJSON. */
#ifndef LMT_HUB_UPLOAD_H
#define LMT_HUB_UPLOAD_H
#include <stdbool.h>
#include <stdint.h>
#include "core/util.h"
#include "lmtune/hub.h"

typedef struct lmt_upload_item {
    char *local;           /* the file on disk */
    char *path;            /* its path in the repo */
    int64_t size;
    char sha256[65];       /* filled by lmt_hub_upload_list */
    bool lfs;              /* preupload's uploadMode (an empty file is always regular) */
    bool skip;             /* preupload's shouldIgnore, or the repo has the same content */
    char *remote_oid;      /* preupload's oid: the repo's git sha1 (regular) or sha256 (LFS), else NULL */
} lmt_upload_item;

/* lmt_hub_filter_match (an empty allow list: everything) plus huggingface_hub's
 * DEFAULT_IGNORE_PATTERNS (.git/, .cache/huggingface/ at any depth). */
bool lmt_hub_path_allowed(const char *path, const char *const *allow, const char *const *ignore);
/* upload_folder's operations: the files under folder (lmt_hub_walk_files'
 * order), filtered against the patterns (plus DEFAULT_IGNORE_PATTERNS),
 * under path_in_repo, with size and sha256. A path with a .git or .cache
 * folder is refused (FORBIDDEN_FOLDERS). */
lmt_status lmt_hub_upload_list(const char *folder, const char *path_in_repo, const char *const *allow,
                               const char *const *ignore, lmt_upload_item **items, size_t *n);
void lmt_hub_upload_items_free(lmt_upload_item *items, size_t n);
/* {"files": [{"path", "sample": base64 of the first 512 bytes, "size"}]} */
lmt_status lmt_hub_preupload_body(const lmt_upload_item *items, size_t n, lmt_strbuf *b);
/* Reads the answer's files[]: uploadMode, shouldIgnore, oid. */
lmt_status lmt_hub_preupload_apply(const char *json, size_t len, lmt_upload_item *items, size_t n);
/* The commit's NDJSON: the header line, then a "file" (base64 content) or
 * "lfsFile" (sha256, size) line per item not skipped. */
lmt_status lmt_hub_commit_body(const lmt_upload_item *items, size_t n, const char *summary, const char *description,
                               lmt_strbuf *b);
#endif
