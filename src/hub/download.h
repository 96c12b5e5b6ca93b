/* hf_hub_download within a session (lmtune/hub.h's lmt_hub_download, for
 * callers that fetch several files of one repo). */
#ifndef LMT_HUB_DOWNLOAD_H
#define LMT_HUB_DOWNLOAD_H
#include "hub/session.h"

/* *cached_only (may be NULL) is set when the Hub could not be reached and
 * the cache's copy was used. */
lmt_status lmt_hub_download_in(const lmt_hub_session *s, const char *file, char **path, bool *cached_only);
#endif
