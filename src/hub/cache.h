/* The huggingface_hub cache on disk (lmtune/hub.h draws the layout): where
 * it is, what a repo's folder is called, refs, snapshots, blobs, the
 * .no_exist markers and the per-blob locks. Nothing here talks to the
 * network, so an offline build reads the cache just the same. */
#ifndef LMT_HUB_CACHE_H
#define LMT_HUB_CACHE_H
#include <stdbool.h>
#include "lmtune/hub.h"

/* "1", "ON", "YES", "TRUE" in any case (huggingface_hub's _is_true). */
bool lmt_hub_env_true(const char *name);
/* HF_HOME: $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. free() it. */
char *lmt_hub_home(void);
/* "models--ORG--NAME" / "datasets--ORG--NAME"; free() it. */
char *lmt_hub_repo_folder(const char *repo_id, lmt_repo_type type);
/* 40 lowercase hex digits. */
bool lmt_hub_is_commit(const char *rev);

/* The commit refs/<rev> names, or NULL when there is no such ref. free() it. */
char *lmt_hub_ref_read(const char *storage, const char *rev);
/* refs/<rev> = commit, written atomically and only when it changes; a
 * revision that is itself the commit writes nothing. */
lmt_status lmt_hub_ref_write(const char *storage, const char *rev, const char *commit);
/* storage/snapshots/<commit>/<file>; free() it. */
char *lmt_hub_pointer_path(const char *storage, const char *commit, const char *file);
/* storage/.no_exist/<commit>/<file>: exists / create it (best effort). */
bool lmt_hub_no_exist(const char *storage, const char *commit, const char *file);
void lmt_hub_mark_no_exist(const char *storage, const char *commit, const char *file);
/* pointer -> blob as a relative symbolic link (replacing what was there). */
lmt_status lmt_hub_link_blob(const char *blob, const char *pointer);
/* CACHEDIR.TAG in the cache folder, as huggingface_hub writes it (best effort). */
void lmt_hub_tag_cache(const char *cache);

/* An exclusive flock() on path (created with its folders): the lock file
 * huggingface_hub's filelock takes, so the two never write one blob at
 * once. Returns the descriptor or -1 (error set). */
int lmt_hub_lock(const char *path);
void lmt_hub_unlock(int fd);

/* A file name inside a repo: relative, no "..", no empty part, no "\\". */
bool lmt_hub_valid_filename(const char *file);
#endif
