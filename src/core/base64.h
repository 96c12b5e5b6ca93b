/* Base64 (RFC 4648, standard alphabet, '=' padding), as Python's
 * base64.b64encode writes it: the Hub's preupload samples and the content of
 * regular files in a commit. */
#ifndef LMT_CORE_BASE64_H
#define LMT_CORE_BASE64_H
#include <stddef.h>
#include "core/util.h"

/* Appends the encoding of data[0..n) to b. */
void lmt_base64_append(lmt_strbuf *b, const void *data, size_t n);
#endif
