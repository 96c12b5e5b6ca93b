/* Read-only view of an uncompressed ("stored") zip archive in memory, as
 * torch.save writes it: central directory, ZIP64, CRC-32 checked on demand. */
#ifndef LMT_IO_ZIP_H
#define LMT_IO_ZIP_H
#include <stddef.h>
#include <stdint.h>
#include "lmtune/lmtune.h"

typedef struct lmt_zip_member {
    char *name;
    const unsigned char *data;  /* points into the archive */
    size_t size;
    uint32_t crc32;
} lmt_zip_member;

typedef struct lmt_zip {
    lmt_zip_member *members;
    size_t n;
} lmt_zip;

/* Parses the archive in buf[0..len); `path` names it in errors. */
lmt_status lmt_zip_open(const unsigned char *buf, size_t len, const char *path, lmt_zip *z);
void lmt_zip_free(lmt_zip *z);
const lmt_zip_member *lmt_zip_find(const lmt_zip *z, const char *name);
uint32_t lmt_crc32(const void *data, size_t n);
/* Fails naming the path and member if the member's CRC-32 is wrong. */
lmt_status lmt_zip_check_crc(const lmt_zip_member *m, const char *path);
#endif
