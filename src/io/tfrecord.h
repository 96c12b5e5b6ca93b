/* TFRecord framing, the container of TensorBoard event files: each record
 * is  u64 length (little-endian) | u32 masked CRC-32C of those 8 bytes |
 * data | u32 masked CRC-32C of data,  with TensorFlow's mask
 * ((crc >> 15 | crc << 17) + 0xa282ead8). CRC-32C (Castagnoli, reflected
 * polynomial 0x82f63b78) from a 256-entry table. */
#ifndef LMT_IO_TFRECORD_H
#define LMT_IO_TFRECORD_H
#include <stddef.h>
#include <stdint.h>
#include "lmtune/lmtune.h"
#include "core/util.h"

uint32_t lmt_crc32c(const void *data, size_t n);
uint32_t lmt_crc32c_masked(const void *data, size_t n);
/* Appends one framed record holding data[0..n) to b. */
void lmt_tfrecord_append(lmt_strbuf *b, const void *data, size_t n);
/* Reads the record at buf[*off..len): its data in *data and *n, *off moved past
 * it. LMT_ERR_FORMAT (naming source and the offset) for a short record or
 * a CRC that does not match. */
lmt_status lmt_tfrecord_next(const uint8_t *buf, size_t len, size_t *off, const char *source, const uint8_t **data, size_t *n);
#endif
