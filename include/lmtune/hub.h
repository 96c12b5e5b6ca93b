/* The Hugging Face Hub: models and datasets by name, through the cache that
 * huggingface_hub keeps (the same folders, byte for byte, so a model
 * transformers downloaded is found here and the other way round).
 *
 *   <cache>/models--ORG--NAME/blobs/<etag>            the files' bytes
 *   <cache>/models--ORG--NAME/snapshots/<commit>/FILE  relative symlinks to blobs
 *   <cache>/models--ORG--NAME/refs/<branch or tag>    the commit it points at
 *   <cache>/models--ORG--NAME/.no_exist/<commit>/FILE files the repo lacks
 *   <cache>/.locks/models--ORG--NAME/<etag>.lock      one writer per blob
 *
 * The cache folder: HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else
 * HF_HOME/hub, else XDG_CACHE_HOME/huggingface/hub, else
 * ~/.cache/huggingface/hub. The Hub: HF_ENDPOINT, else https://huggingface.co.
 * The token: HF_TOKEN, else the file HF_TOKEN_PATH (default HF_HOME/token).
 * HF_HUB_OFFLINE=1 or TRANSFORMERS_OFFLINE=1: the cache only. A Hub that
 * cannot be reached falls back to the cache too, as huggingface_hub does.
 * Timeouts: HF_HUB_ETAG_TIMEOUT (metadata, default 10 s) and
 * HF_HUB_DOWNLOAD_TIMEOUT (a stalled transfer, default 10 s).
 */
#ifndef LMTUNE_HUB_H
#define LMTUNE_HUB_H
#include "lmtune/lmtune.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lmt_repo_type { LMT_REPO_MODEL = 0, LMT_REPO_DATASET } lmt_repo_type;

/* Zero-initialised means: the environment's defaults, revision "main", a model repo. */
typedef struct lmt_hub_options {
    const char *endpoint;   /* NULL: HF_ENDPOINT, else https://huggingface.co */
    const char *cache_dir;  /* NULL: the cache folder above */
    const char *token;      /* NULL: HF_TOKEN or the token file; "" sends none */
    const char *revision;   /* NULL: "main"; a branch, a tag or a commit */
    lmt_repo_type repo_type;
    bool local_files_only;  /* the cache only (also HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE) */
    bool force_download;    /* fetch again even when cached */
    /* called as a file downloads (total -1: unknown); NULL: quiet */
    void (*on_progress)(void *user, const char *file, int64_t done, int64_t total);
    void *user;
} lmt_hub_options;

/* The cache folder the options (or the environment) name; free() it. */
LMT_API char *lmt_hub_cache_dir(const lmt_hub_options *o);

/* hf_hub_download: FILE of REPO at the options' revision, from the cache or
 * the Hub, into the cache. *path (free() it) is the file under snapshots/.
 * A file the repo lacks is LMT_ERR_NOT_FOUND, remembered in .no_exist. */
LMT_API lmt_status lmt_hub_download(const char *repo_id, const char *filename, const lmt_hub_options *o, char **path);

/* from_pretrained's resolution: a local folder is used as it is; otherwise
 * name_or_path is a repo id and the files from_pretrained reads (config,
 * generation config, model.safetensors or its index and shards, else
 * pytorch_model.bin, the tokenizer files) are fetched into the cache.
 * *folder (free() it) is the folder to load. *from_hub (may be NULL) says
 * which it was. */
LMT_API lmt_status lmt_hub_resolve_model(const char *name_or_path, const lmt_hub_options *o, char **folder, bool *from_hub);

/* The same for AutoTokenizer: tokenizer_config.json (else config.json) and
 * the tokenizer files, no weights. */
LMT_API lmt_status lmt_hub_resolve_tokenizer(const char *name_or_path, const lmt_hub_options *o, char **folder, bool *from_hub);

/* snapshot_download: every file of REPO at the options' revision (one
 * commit, listed by the Hub, else the cached snapshot's files when offline
 * or the Hub cannot be reached) whose path matches one of include (a
 * NULL-terminated list of globs; NULL: all) and none of exclude (NULL:
 * none), as filter_repo_objects matches ('*' crosses '/'; a pattern
 * "dir/" gets a '*' appended). *folder (free() it) is snapshots/<commit> in the cache; with a
 * local_dir the files are also copied there (not linked), with
 * local_dir/.cache/huggingface/download/<file>.metadata as `hf download
 * --local-dir` writes it, and *folder is local_dir. */
LMT_API lmt_status lmt_hub_snapshot_download(const char *repo_id, const char *const *include, const char *const *exclude,
                                             const char *local_dir, const lmt_hub_options *o, char **folder);

/* True when name is a syntactically valid repo id ("NAME" or "ORG/NAME"). */
LMT_API bool lmt_hub_valid_repo_id(const char *name);

/* ---- upload (huggingface_hub's create_repo, upload_folder) ----------------
 * Uploads need a token with write access (options' token, HF_TOKEN or the
 * token file). Files go as huggingface_hub sends them: the Hub's preupload
 * answer says which are regular (base64 in the commit) and which are LFS
 * (sha256 + size in the commit, the bytes PUT to the URL the LFS batch API
 * gives, without the token when that URL is on another host); Xet is never
 * used. The options' revision is the branch committed to ("main"). */

/* create_repo: REPO ("NAME" in the token owner's namespace, or "ORG/NAME")
 * of the options' repo type. An existing repo is LMT_ERR_ARG unless
 * exist_ok. *full_id (may be NULL; free() it) is "ORG/NAME" as the Hub
 * answered (for a bare NAME, the owner from /api/whoami-v2 when the answer
 * has no URL). */
LMT_API lmt_status lmt_hub_create_repo(const char *repo_id, bool private_repo, bool exist_ok, const lmt_hub_options *o,
                                       char **full_id);
/* /api/whoami-v2: the name of the token's owner; free() it. */
LMT_API lmt_status lmt_hub_whoami(const lmt_hub_options *o, char **name);

typedef struct lmt_hub_upload_options {
    const char *path_in_repo;              /* NULL / "" / ".": the repo's root */
    const char *commit_message;            /* NULL: "Upload folder using huggingface_hub" */
    const char *commit_description;        /* NULL: "" */
    const char *const *allow_patterns;     /* NULL-terminated fnmatch globs; NULL: every file */
    const char *const *ignore_patterns;    /* NULL-terminated; .git/ and .cache/huggingface/ always are */
} lmt_hub_upload_options;

/* upload_folder: every file under folder (the patterns match its path
 * relative to folder; "dir/" means every file under dir; '*' crosses '/') as one commit
 * on the options' revision of REPO. Files the repo already has with the
 * same content are left out; with nothing left no commit is made and
 * *commit_oid is the revision's head. *commit_oid (may be NULL; free() it):
 * the commit. Errors name the repo, the step, the file and the Hub's answer
 * (HTTP status, X-Error-Message). */
LMT_API lmt_status lmt_hub_upload_folder(const char *repo_id, const char *folder, const lmt_hub_upload_options *u,
                                         const lmt_hub_options *o, char **commit_oid);

#ifdef __cplusplus
}
#endif
#endif
