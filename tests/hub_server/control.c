/* What the tests steer through GET /_control (faults to inject) and read
 * through GET /_log (the requests seen), shared by all connection threads. */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "hub.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct faults {
    long drop_after, drop_count;      /* next drop_count bodies > drop_after bytes: cut, close */
    long slow_ms;                     /* every response waits this long */
    long corrupt_count;               /* next CDN blob bodies: one byte flipped */
    long truncate_count;              /* next blob bodies: one byte short, Content-Length too */
    long fail_status, fail_count;     /* next requests answer fail_status */
} st;
static lmt_strbuf reqlog;

void control_init(void) { memset(&st, 0, sizeof st); lmt_sb_init(&reqlog); }

static bool take(long *count) {
    if (*count <= 0) return false;
    (*count)--;
    return true;
}

void control_apply(const char *query) {
    static const struct { const char *key; size_t off; } keys[] = {
        { "drop_after", offsetof(struct faults, drop_after) },
        { "drop_count", offsetof(struct faults, drop_count) },
        { "slow_ms", offsetof(struct faults, slow_ms) },
        { "corrupt_count", offsetof(struct faults, corrupt_count) },
        { "truncate_count", offsetof(struct faults, truncate_count) },
        { "fail_status", offsetof(struct faults, fail_status) },
        { "fail_count", offsetof(struct faults, fail_count) },
    };
    pthread_mutex_lock(&lock);
    char *reset = query_param(query, "reset");
    if (reset) memset(&st, 0, sizeof st);
    free(reset);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char *v = query_param(query, keys[i].key);
        if (v) *(long *)((char *)&st + keys[i].off) = strtol(v, NULL, 10);
        free(v);
    }
    pthread_mutex_unlock(&lock);
}

int control_fail_status(void) {
    pthread_mutex_lock(&lock);
    int s = st.fail_status > 0 && take(&st.fail_count) ? (int)st.fail_status : 0;
    pthread_mutex_unlock(&lock);
    return s;
}

void control_delay(void) {
    pthread_mutex_lock(&lock);
    long ms = st.slow_ms;
    pthread_mutex_unlock(&lock);
    if (ms > 0) {
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) != 0) {}
    }
}

body_plan control_plan_body(size_t len, body_kind kind) {
    body_plan p = { len, len, false, false };
    pthread_mutex_lock(&lock);
    if (len > (size_t)(st.drop_after > 0 ? st.drop_after : 0) && take(&st.drop_count)) {
        p.send = (size_t)(st.drop_after > 0 ? st.drop_after : 0);
        p.close_after = true;
    } else if (kind != BODY_PLAIN && take(&st.truncate_count)) {
        p.send = p.length = len - 1;
    } else if (kind == BODY_CDN_BLOB && take(&st.corrupt_count)) {
        p.corrupt = true;
    }
    pthread_mutex_unlock(&lock);
    return p;
}

void log_request(const http_req *r) {
    const char *range = http_header(r, "Range");
    char line[4096];
    snprintf(line, sizeof line, "%d %s %s %s %s\n", r->port, r->method, r->path,
             range && *range ? range : "-", http_header(r, "Authorization") ? "yes" : "no");
    for (char *c = line; c[1]; c++) if ((unsigned char)*c < ' ') *c = '?';
    pthread_mutex_lock(&lock);
    lmt_sb_puts(&reqlog, line);
    pthread_mutex_unlock(&lock);
}

char *log_text(size_t *len, bool clear) {
    pthread_mutex_lock(&lock);
    char *t = malloc(reqlog.len + 1);
    if (t) {
        if (reqlog.len) memcpy(t, reqlog.data, reqlog.len);
        t[reqlog.len] = '\0';
        *len = reqlog.len;
    }
    if (clear) {
        lmt_sb_free(&reqlog);
        lmt_sb_init(&reqlog);
    }
    pthread_mutex_unlock(&lock);
    return t;
}
