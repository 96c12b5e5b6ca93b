/* lmt_hub_server: a Hugging Face Hub stand-in the tests start themselves.
 *
 *   lmt_hub_server --root DIR [--token TOKEN]... [--port-file FILE]
 *
 * Listens on 127.0.0.1 on two ephemeral ports, the Hub and a "CDN" (where
 * LFS downloads are redirected and uploads go), writes "HUBPORT CDNPORT\n"
 * to FILE (atomically) and to stdout, and serves DIR (layout: repo.c) until
 * SIGTERM/SIGINT or until its parent dies. One thread per connection, one
 * request per connection (every answer says Connection: close).
 * Main and routing here; the endpoints are in serve.c, api.c, upload.c. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "hub.h"

hub_ctx g_hub;
static volatile sig_atomic_t stop;

static void on_signal(int sig) { (void)sig; stop = 1; }

static void route_control(http_req *r) {
    r->plumbing = true;
    if (strcmp(r->path, "/_control") == 0) {
        control_apply(r->query);
        http_resp p;
        http_resp_init(&p, 200);
        http_resp_header(&p, "Content-Type", "text/plain");
        http_send(r, &p, "ok\n", 3, BODY_PLAIN);
        return;
    }
    char *clear = query_param(r->query, "clear");
    size_t len = 0;
    char *text = log_text(&len, clear != NULL);
    http_resp p;
    http_resp_init(&p, 200);
    http_resp_header(&p, "Content-Type", "text/plain");
    http_send(r, &p, text ? text : "", text ? len : 0, BODY_PLAIN);
    free(text);
    free(clear);
}

/* segs[0..n) are the decoded path segments, "datasets" prefix removed. */
static void route_repo_path(http_req *r, bool dataset, char **segs, int n) {
    repo_ref rr;
    int k = n > 2 && strcmp(segs[2], "resolve") == 0 ? 2 : n > 1 && strcmp(segs[1], "resolve") == 0 ? 1 : 0;
    if (k && n >= k + 3) {
        if (strcmp(r->method, "GET") != 0 && !http_is_head(r)) {
            http_send_error(r, 405, NULL, "method not allowed", NULL);
            return;
        }
        lmt_strbuf path;
        lmt_sb_init(&path);
        for (int i = k + 2; i < n; i++) lmt_sb_printf(&path, "%s%s", i > k + 2 ? "/" : "", segs[i]);
        if (path.oom || !repo_ref_make(&rr, dataset, segs, k)) {
            http_send_error(r, 400, NULL, "bad repo id", NULL);
        } else {
            serve_resolve(r, &rr, segs[k + 1], path.data);
        }
        repo_ref_free(&rr);
        lmt_sb_free(&path);
        return;
    }
    /* REPO.git/info/lfs/objects/batch */
    if ((n == 5 || n == 6) && strcmp(segs[n - 4], "info") == 0 && strcmp(segs[n - 3], "lfs") == 0 &&
        strcmp(segs[n - 2], "objects") == 0 && strcmp(segs[n - 1], "batch") == 0) {
        char *last = segs[n - 5];
        size_t len = strlen(last);
        if (len > 4 && strcmp(last + len - 4, ".git") == 0) {
            last[len - 4] = '\0';
            if (repo_ref_make(&rr, dataset, segs, n - 4)) upload_lfs_batch(r, &rr);
            else http_send_error(r, 400, NULL, "bad repo id", NULL);
            repo_ref_free(&rr);
            return;
        }
    }
    http_send_error(r, 404, NULL, "Not Found", NULL);
}

static void route(http_req *r) {
    bool cdn = r->port == g_hub.cdn_port;
    if (!cdn && (strcmp(r->path, "/_control") == 0 || strcmp(r->path, "/_log") == 0)) {
        route_control(r);
        return;
    }
    log_request(r);
    int fail = control_fail_status();
    if (fail) {
        http_send_error(r, fail, NULL, "injected failure", NULL);
        return;
    }
    char *segs[HUB_MAX_SEGS];
    int n = 0;
    if (strstr(r->path, "/../") || !split_path(r->path, segs, &n)) {
        http_send_error(r, 400, NULL, "bad path", NULL);
        return;
    }
    if (cdn) {
        if (strcmp(r->method, "PUT") == 0) upload_put_blob(r, segs, n);
        else serve_cdn(r, segs, n);
    } else if (n >= 1 && strcmp(segs[0], "api") == 0) {
        if (n == 2 && strcmp(segs[1], "whoami-v2") == 0) api_whoami(r);
        else if (n == 3 && strcmp(segs[1], "repos") == 0 && strcmp(segs[2], "create") == 0) upload_create_repo(r);
        else api_dispatch(r, segs + 1, n - 1);
    } else if (n >= 1 && strcmp(segs[0], "datasets") == 0) {
        route_repo_path(r, true, segs + 1, n - 1);
    } else {
        route_repo_path(r, false, segs, n);
    }
    free_segs(segs, n);
}

typedef struct { int fd, port; } conn_arg;

static void *conn_main(void *arg) {
    conn_arg c = *(conn_arg *)arg;
    free(arg);
    struct timeval tv = { 60, 0 };
    setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    http_req *r = malloc(sizeof *r);
    if (r) {
        int st = http_read_request(c.fd, r);
        r->port = c.port;
        if (st == 0) route(r);
        else if (st > 0) http_send_error(r, st, NULL, "bad request", NULL);
        http_req_free(r);
        free(r);
    }
    /* let the client read the answer before the socket goes away */
    shutdown(c.fd, SHUT_WR);
    struct timeval drain = { 1, 0 };
    setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &drain, sizeof drain);
    char buf[4096];
    while (recv(c.fd, buf, sizeof buf, 0) > 0) {}
    close(c.fd);
    return NULL;
}

static int listen_local(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 128) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        perror("lmt_hub_server: listen");
        exit(1);
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static void write_port_file(const char *path, const char *line) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f || fputs(line, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        perror(path);
        exit(1);
    }
}

static void usage(void) {
    fprintf(stderr, "usage: lmt_hub_server --root DIR [--token TOKEN]... [--port-file FILE]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *port_file = NULL;
    static const char *tokens[64];
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) usage();
        if (strcmp(argv[i], "--root") == 0) g_hub.root = argv[++i];
        else if (strcmp(argv[i], "--port-file") == 0) port_file = argv[++i];
        else if (strcmp(argv[i], "--token") == 0 && g_hub.ntokens < 64) tokens[g_hub.ntokens++] = argv[++i];
        else usage();
    }
    if (!g_hub.root) usage();
    g_hub.tokens = tokens;
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) return 0;   /* the parent died before prctl */
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    control_init();
    int fds[2] = { listen_local(&g_hub.hub_port), listen_local(&g_hub.cdn_port) };
    char line[64];
    snprintf(line, sizeof line, "%d %d\n", g_hub.hub_port, g_hub.cdn_port);
    if (port_file) write_port_file(port_file, line);
    fputs(line, stdout);
    fflush(stdout);
    struct pollfd pf[2] = { { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 } };
    while (!stop) {
        if (poll(pf, 2, 500) < 0 && errno != EINTR) break;
        for (int i = 0; i < 2 && !stop; i++) {
            if (!(pf[i].revents & POLLIN)) continue;
            int fd = accept4(fds[i], NULL, NULL, SOCK_CLOEXEC);
            conn_arg *c = fd >= 0 ? malloc(sizeof *c) : NULL;
            pthread_t t;
            pthread_attr_t at;
            if (!c) { if (fd >= 0) close(fd); continue; }
            c->fd = fd;
            c->port = i == 0 ? g_hub.hub_port : g_hub.cdn_port;
            pthread_attr_init(&at);
            pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
            if (pthread_create(&t, &at, conn_main, c) != 0) { close(fd); free(c); }
            pthread_attr_destroy(&at);
        }
    }
    close(fds[0]);
    close(fds[1]);
    return 0;
}
