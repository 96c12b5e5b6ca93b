/* Internal error helpers: set the thread's message and return the status. */
#ifndef LMT_CORE_ERROR_H
#define LMT_CORE_ERROR_H
#include "lmtune/lmtune.h"

#if defined(__GNUC__)
#define LMT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LMT_PRINTF(a, b)
#endif

/* Records "fmt ..." as the message of this thread and returns s.
 * Convention: messages start with the file name: "path/x.json: what is wrong". */
lmt_status lmt_fail(lmt_status s, const char *fmt, ...) LMT_PRINTF(2, 3);
/* Prefixes the current message: "<prefix>: <old message>". Returns s. */
lmt_status lmt_fail_wrap(lmt_status s, const char *fmt, ...) LMT_PRINTF(2, 3);
void lmt_clear_error(void);

void lmt_log(int level, const char *fmt, ...) LMT_PRINTF(2, 3);
/* Drops messages below level from now on (TrainingArguments.log_level:
 * LMT_LOG_WARN hides notes, LMT_LOG_WARN + 1 hides warnings too). Returns
 * the threshold before. */
int lmt_log_threshold(int level);
#define lmt_warn(...) lmt_log(LMT_LOG_WARN, __VA_ARGS__)
#define lmt_note(...) lmt_log(LMT_LOG_NOTE, __VA_ARGS__)

#define LMT_TRY(expr) do { lmt_status s_ = (expr); if (s_ != LMT_OK) return s_; } while (0)
#endif
