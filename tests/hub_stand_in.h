/* Starting and steering lmt_hub_server (tests/hub_server/) from a test:
 * a private copy of the fixture root (uploads write into it), ephemeral
 * ports read from the port file, /_control faults, the /_log request log,
 * and HF_ENDPOINT / HF_HUB_CACHE pointed at it. Header-only: each Hub test
 * is its own program. */
#ifndef LMT_TESTS_HUB_STAND_IN_H
#define LMT_TESTS_HUB_STAND_IN_H
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "hub/http.h"

#define HUB_TEST_TOKEN "hf_lmtune_test_token"

typedef struct {
    pid_t pid;
    int hub, cdn;
    char dir[256];        /* the test's temporary folder */
    char root[320];       /* the server's repos (a copy of the fixture) */
    char endpoint[64];
} hub_stand_in;

static inline void hub_sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Starts the server on the same root (again, after hub_stop). */
static inline bool hub_start_again(hub_stand_in *h) {
    char port_file[400];
    snprintf(port_file, sizeof port_file, "%s/ports", h->dir);
    unlink(port_file);
    h->pid = fork();
    if (h->pid == 0) {
        if (!freopen("/dev/null", "w", stdout)) _exit(126);
        execl(LMT_HUB_SERVER, LMT_HUB_SERVER, "--root", h->root, "--token", HUB_TEST_TOKEN, "--port-file", port_file,
              (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {   /* up to 10 s */
        FILE *f = fopen(port_file, "r");
        if (f) {
            bool ok = fscanf(f, "%d %d", &h->hub, &h->cdn) == 2;
            fclose(f);
            if (ok) {
                snprintf(h->endpoint, sizeof h->endpoint, "http://127.0.0.1:%d", h->hub);
                setenv("HF_ENDPOINT", h->endpoint, 1);
                return true;
            }
        }
        hub_sleep_ms(20);
    }
    return false;
}

/* A temporary folder, the fixture root copied into it, the server started;
 * HF_HUB_CACHE = <dir>/cache. */
static inline bool hub_start(hub_stand_in *h, const char *tag) {
    memset(h, 0, sizeof *h);
    if (!LMT_HUB_SERVER[0]) {   /* LMT_HUB=OFF, or a cross build without libcurl: nothing to test against */
        fprintf(stderr, "skipped: this build has no Hub stand-in (LMT_HUB=OFF or no libcurl / libcrypto)\n");
        exit(77);
    }
    snprintf(h->dir, sizeof h->dir, "/tmp/lmt-%s-XXXXXX", tag);
    if (!mkdtemp(h->dir)) return false;
    snprintf(h->root, sizeof h->root, "%s/root", h->dir);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp -RL '%s' '%s'", LMT_HUB_ROOT, h->root);
    if (system(cmd) != 0) return false;
    char cache[400];
    snprintf(cache, sizeof cache, "%s/cache", h->dir);
    setenv("HF_HUB_CACHE", cache, 1);
    unsetenv("HF_TOKEN");
    unsetenv("HF_HUB_OFFLINE");
    unsetenv("TRANSFORMERS_OFFLINE");
    setenv("HF_HOME", h->dir, 1);   /* no token file from the machine */
    return hub_start_again(h);
}

static inline void hub_stop(hub_stand_in *h) {
    if (h->pid <= 0) return;
    kill(h->pid, SIGTERM);
    int st;
    waitpid(h->pid, &st, 0);
    h->pid = 0;
}

/* Stops the server and removes the temporary folder. */
static inline void hub_finish(hub_stand_in *h) {
    hub_stop(h);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", h->dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", h->dir);
}

/* GET {endpoint}{path}; the body (free() it), NULL on failure. */
static inline char *hub_get(const hub_stand_in *h, const char *path) {
    char url[512];
    snprintf(url, sizeof url, "%s%s", h->endpoint, path);
    lmt_http_request rq = {.method = "GET", .url = url, .sink_fd = -1, .timeout_s = 10};
    lmt_http_response rs;
    char *body = NULL;
    if (lmt_http_perform(&rq, &rs) == LMT_OK && rs.status == 200) { body = rs.body; rs.body = NULL; }
    lmt_http_response_free(&rs);
    return body;
}

/* /_control?QUERY (e.g. "drop_after=100&drop_count=1", "reset=1") */
static inline bool hub_control(const hub_stand_in *h, const char *query) {
    char path[256];
    snprintf(path, sizeof path, "/_control?%s", query);
    char *b = hub_get(h, path);
    free(b);
    return b != NULL;
}

/* The request log since the last call (then cleared). */
static inline char *hub_log(const hub_stand_in *h) { return hub_get(h, "/_log?clear=1"); }

/* Lines of log containing every one of the given substrings (NULL-terminated). */
static inline int hub_log_count(const char *log, const char *const *parts) {
    int n = 0;
    for (const char *line = log; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        bool all = true;
        for (const char *const *p = parts; *p && all; p++) {
            size_t pl = strlen(*p);
            bool found = false;
            for (size_t i = 0; i + pl <= len && !found; i++) found = !memcmp(line + i, *p, pl);
            all = found;
        }
        n += all;
        line = end ? end + 1 : line + len;
    }
    return n;
}
#endif
