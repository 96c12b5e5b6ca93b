/* The digests the Hub names files by: sha256 (LFS files, whose ETag it is)
 * and git's blob sha1 (regular files). Lowercase hex. */
#ifndef LMT_HUB_DIGEST_H
#define LMT_HUB_DIGEST_H
#include "lmtune/lmtune.h"

lmt_status lmt_sha256_file(const char *path, char hex[65]);
/* sha1("blob <size>\0" + content): the ETag of a regular file on the Hub. */
lmt_status lmt_git_blob_sha1_file(const char *path, char hex[41]);
/* 64 lowercase hex digits: an LFS file's ETag, checkable against its bytes. */
bool lmt_is_sha256_hex(const char *s);
#endif
