/* File-system helpers beyond single files (core/util.h): removing a tree,
 * copying a file, asking whether a folder is empty or writable. Errors name
 * the path. */
#ifndef LMT_CORE_FS_H
#define LMT_CORE_FS_H
#include <stdbool.h>
#include <stddef.h>
#include "lmtune/lmtune.h"

/* rm -rf path: a file, or a folder and everything under it (symbolic links
 * are removed, never followed). A path that does not exist is an error. */
lmt_status lmt_rm_rf(const char *path);
/* Writes dir/name atomically (lmt_write_file_atomic). */
lmt_status lmt_write_file_in(const char *dir, const char *name, const void *data, size_t len);
/* Copies src to dst (written atomically: a temporary name, then rename). */
lmt_status lmt_copy_file(const char *src, const char *dst);
/* True if dir is a folder with at least one entry; false for an empty or
 * missing folder (or one that cannot be read). */
bool lmt_dir_has_entries(const char *dir);
/* mkdir -p dir, then proves a file can be written there (and removes it),
 * so a long run fails before it starts rather than when it saves. */
lmt_status lmt_dir_ensure_writable(const char *dir);
/* Whether dir could be written, creating nothing: dir when it exists, else
 * its nearest existing ancestor must be a writable folder. For checking an
 * output folder before the inputs are, so a failed start leaves nothing. */
lmt_status lmt_dir_check_creatable(const char *dir);
#endif
