/* huggingface_hub's scan_cache_dir and cache deletion (hf cache ls / rm):
 * what the cache holds per repo and revision, sizes counting each blob
 * once, and the corrupted entries as warnings (the repo is then skipped). */
#ifndef LMT_HUB_CACHE_SCAN_H
#define LMT_HUB_CACHE_SCAN_H
#include <stdint.h>
#include <time.h>
#include "hub/repo_files.h"

typedef struct lmt_hub_cached_revision {
    char *commit, *snapshot_path;
    lmt_hub_names refs;        /* the refs (branches, tags) naming it, sorted */
    int64_t size_on_disk;      /* its distinct blobs */
    size_t n_files;
    double last_modified;      /* its newest blob's mtime (the folder's when empty) */
} lmt_hub_cached_revision;

typedef struct lmt_hub_cached_repo {
    char *repo_id, *repo_path;
    const char *repo_type;     /* "model", "dataset", "space" */
    char *cache_id;            /* "model/ORG/NAME" */
    int64_t size_on_disk;      /* each blob once */
    size_t n_files;            /* distinct blobs */
    double last_accessed, last_modified;
    lmt_hub_cached_revision *revisions;   /* by commit */
    size_t n_revisions;
} lmt_hub_cached_repo;

typedef struct lmt_hub_cache_info {
    lmt_hub_cached_repo *repos;   /* by (type, lowercased id) */
    size_t n_repos;
    int64_t size_on_disk;         /* every blob once, across repos */
    lmt_hub_names warnings;       /* CorruptedCacheException messages */
} lmt_hub_cache_info;

/* scan_cache_dir(cache): LMT_ERR_NOT_FOUND when the folder does not exist. */
lmt_status lmt_hub_scan_cache(const char *cache, lmt_hub_cache_info *out);
void lmt_hub_cache_info_free(lmt_hub_cache_info *info);
/* The repo whose cache id ("model/ORG/NAME", any case) is id, or NULL. */
const lmt_hub_cached_repo *lmt_hub_cache_find(const lmt_hub_cache_info *info, const char *cache_id);
/* Deletes the repo's folder and its .locks/<folder> (rm -r). */
lmt_status lmt_hub_cache_delete_repo(const char *cache, const lmt_hub_cached_repo *repo);

/* _format_size: "{:.1f}" with K, M, G... (powers of 1000) */
void lmt_hub_format_size(int64_t bytes, char *buf, size_t cap);
/* _format_timesince: "a few seconds ago", "3 days ago" */
void lmt_hub_format_timesince(double ts, char *buf, size_t cap);
#endif
