/* Thread-local error messages and the library's log hook. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "core/error.h"

static _Thread_local char last_error[2048];

static lmt_log_fn log_fn = NULL;
static void *log_user = NULL;
static int log_min = LMT_LOG_NOTE;   /* messages below it are dropped (lmt_log_threshold) */

const char *lmt_last_error(void) { return last_error; }

void lmt_clear_error(void) { last_error[0] = '\0'; }

/* formatted apart first, so the message may quote lmt_last_error() itself */
lmt_status lmt_fail(lmt_status s, const char *fmt, ...) {
    char msg[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(last_error, msg, sizeof msg);
    return s;
}

lmt_status lmt_fail_wrap(lmt_status s, const char *fmt, ...) {
    char prefix[512], old[sizeof last_error - 600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t n = strnlen(last_error, sizeof old - 1);
    memcpy(old, last_error, n);
    old[n] = '\0';
    snprintf(last_error, sizeof last_error, "%s: %s", prefix, old);
    return s;
}

const char *lmt_status_name(lmt_status s) {
    switch (s) {
    case LMT_OK: return "ok";
    case LMT_ERR_IO: return "I/O error";
    case LMT_ERR_FORMAT: return "format error";
    case LMT_ERR_UNSUPPORTED: return "unsupported";
    case LMT_ERR_ARG: return "invalid argument";
    case LMT_ERR_NOMEM: return "out of memory";
    case LMT_ERR_NOT_FOUND: return "not found";
    case LMT_ERR_INTERNAL: return "internal error";
    case LMT_ERR_NETWORK: return "network error";
    case LMT_ERR_ACCESS: return "access denied";
    case LMT_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}

void lmt_set_log(lmt_log_fn fn, void *user) {
    log_fn = fn;
    log_user = user;
}

int lmt_log_threshold(int level) {
    int before = log_min;
    log_min = level;
    return before;
}

void lmt_log(int level, const char *fmt, ...) {
    if (level < log_min) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (log_fn) {
        log_fn(level, msg, log_user);
        return;
    }
    fprintf(stderr, "lmtune: %s: %s\n", level == LMT_LOG_WARN ? "warning" : "note", msg);
}
