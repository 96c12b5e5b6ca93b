/* A repo's file list at a revision (huggingface_hub's repo_info siblings,
 * or the cached snapshot's files offline), the allow / ignore globs of
 * filter_repo_objects, and snapshot_download on top of them. */
#ifndef LMT_HUB_REPO_FILES_H
#define LMT_HUB_REPO_FILES_H
#include <stdbool.h>
#include <stddef.h>
#include "hub/session.h"

/* A growable list of owned strings. */
typedef struct lmt_hub_names { char **v; size_t n, cap; } lmt_hub_names;
lmt_status lmt_hub_names_push(lmt_hub_names *l, const char *s);
void lmt_hub_names_free(lmt_hub_names *l);
/* Sorts the list (strcmp order). */
void lmt_hub_names_sort(lmt_hub_names *l);

/* Every regular file (or link to one) below dir, as paths relative to it
 * ("a/b.txt"), sorted. A dir that does not exist gives an empty list. */
lmt_status lmt_hub_walk_files(const char *dir, lmt_hub_names *out);

/* filter_repo_objects: path matches one of allow (NULL-terminated; NULL:
 * everything) and none of ignore (NULL: nothing). Python's fnmatchcase:
 * '*' crosses '/', no escapes, '\\' read as '/'; a pattern ending in '/'
 * gets '*' appended. */
bool lmt_hub_filter_match(const char *path, const char *const *allow, const char *const *ignore);

/* The files of the session's repo at its revision: GET
 * {endpoint}/api/{models|datasets}/{repo}/revision/{rev} -> sha and
 * siblings[].rfilename. Offline, or when the Hub cannot be reached, or
 * refuses with an error other than "revision not found": the cached
 * snapshot's files (refs/<rev> -> snapshots/<commit>); *from_cache says so.
 * *commit (free() it) is the commit; the refs/<rev> file is updated. */
lmt_status lmt_hub_repo_files(const lmt_hub_session *s, char **commit, lmt_hub_names *files, bool *from_cache);

/* Writes local_dir/.cache/huggingface/download/<file>.metadata as
 * huggingface_hub's write_download_metadata: "commit\netag\ntimestamp\n". */
lmt_status lmt_hub_write_download_metadata(const char *local_dir, const char *file, const char *commit, const char *etag);
/* Copies the cached file (pointer, a link into blobs/) to local_dir/file
 * and writes its metadata (the ETag is the blob's name). */
lmt_status lmt_hub_copy_to_local_dir(const char *pointer, const char *local_dir, const char *file, const char *commit);
#endif
