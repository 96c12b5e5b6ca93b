/* Smoke test of lmt_hub_server (the Hub stand-in of the Hub tests): starts it
 * on tests/fixtures/hub/root and checks, with libcurl, the answers the Hub
 * client depends on: a regular file's HEAD headers, an LFS file's 302 to the
 * CDN port (which refuses an Authorization header), Range, the Hub's error
 * codes, a renamed repo's relative redirect, the fault controls, the request
 * log, malformed requests; then one upload (create + commit) into a
 * temporary root. The expected hashes are those of the fixture files
 * (tools/reference/make_hub_fixtures.py). */
#include <curl/curl.h>
#include <strings.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"

#define MAIN_COMMIT "5632ccbbae4f90811b88d41e8c26af8711709b70"
#define V1_COMMIT "06de167fe8eea1c55a3028cc804c8d4b955b40bf"
#define CONFIG_SHA1 "4773fde9db0bd6871c93cc9ac03210a2a118ea16"
#define MODEL_SHA256 "3e375e4ef31099b702ce90da3e794227a3df3eaf2e5014d82e816a8a2163698a"
#define TOKEN "hf_lmtune_test_token"

typedef struct { pid_t pid; int hub, cdn; } server;

static bool start_server(server *s, const char *root, const char *dir) {
    char port_file[512];
    snprintf(port_file, sizeof port_file, "%s/ports", dir);
    s->pid = fork();
    if (s->pid == 0) {
        freopen("/dev/null", "w", stdout);
        execl(LMT_HUB_SERVER, LMT_HUB_SERVER, "--root", root, "--token", TOKEN, "--port-file", port_file,
              (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {   /* up to 10 s */
        FILE *f = fopen(port_file, "r");
        if (f) {
            bool ok = fscanf(f, "%d %d", &s->hub, &s->cdn) == 2;
            fclose(f);
            if (ok) return true;
        }
        struct timespec ts = { 0, 20000000 };
        nanosleep(&ts, NULL);
    }
    return false;
}

static void stop_server(server *s) {
    kill(s->pid, SIGTERM);
    int st;
    waitpid(s->pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

typedef struct { char *data; size_t len; } buf;
typedef struct { long status; CURLcode rc; buf head, body; } reply;

static size_t collect(char *p, size_t size, size_t n, void *user) {
    buf *b = user;
    char *grown = realloc(b->data, b->len + size * n + 1);
    if (!grown) return 0;
    memcpy(grown + b->len, p, size * n);
    b->data = grown;
    b->len += size * n;
    b->data[b->len] = '\0';
    return size * n;
}

/* One request; headers: NULL-terminated list of "Name: value". */
static reply request(const char *method, const char *url, const char **headers, const char *body) {
    reply r = { 0 };
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    for (int i = 0; headers && headers[i]; i++) h = curl_slist_append(h, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.head);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    if (strcmp(method, "HEAD") == 0) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    r.rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return r;
}

static void reply_free(reply *r) { free(r->head.data); free(r->body.data); }

/* A response header's value (copied into out), or "" if absent. */
static const char *header(const reply *r, const char *name, char *out, size_t cap) {
    out[0] = '\0';
    size_t n = strlen(name);
    for (const char *p = r->head.data; p && *p; ) {
        const char *eol = strstr(p, "\r\n");
        if (!eol) break;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ') v++;
            snprintf(out, cap, "%.*s", (int)(eol - v), v);
            break;
        }
        p = eol + 2;
    }
    return out;
}

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *d = malloc(*len + 1);
    if (d && fread(d, 1, *len, f) != *len) { free(d); d = NULL; }
    fclose(f);
    return d;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static char hub_url[128], cdn_url[128];

static reply hub(const char *method, const char *path, const char **headers) {
    char url[1024];
    snprintf(url, sizeof url, "%s%s", hub_url, path);
    return request(method, url, headers, NULL);
}

static void check_error(const char *method, const char *path, const char **headers, long status, const char *code) {
    char v[256];
    reply r = hub(method, path, headers);
    CHECK_MSG(r.status == status, "%s %s: %ld, expected %ld", method, path, r.status, status);
    CHECK_STREQ(header(&r, "X-Error-Code", v, sizeof v), code);
    reply_free(&r);
}

static void check_resolve(void) {
    char v[512];
    size_t cfg_len, model_len;
    char *cfg = read_all(LMT_HUB_ROOT "/../../models/gpt2/config.json", &cfg_len);
    char *model = read_all(LMT_HUB_ROOT "/../../models/gpt2/model.safetensors", &model_len);
    CHECK(cfg && model);
    if (!cfg || !model) return;

    reply r = hub("HEAD", "/lmtune-test/tiny-gpt2/resolve/main/config.json", NULL);
    CHECK(r.status == 200);
    CHECK_STREQ(header(&r, "ETag", v, sizeof v), "\"" CONFIG_SHA1 "\"");
    CHECK_STREQ(header(&r, "X-Repo-Commit", v, sizeof v), MAIN_COMMIT);
    CHECK(atol(header(&r, "Content-Length", v, sizeof v)) == (long)cfg_len);
    reply_free(&r);

    r = hub("GET", "/lmtune-test/tiny-gpt2/resolve/main/config.json", NULL);
    CHECK(r.status == 200 && r.body.len == cfg_len && memcmp(r.body.data, cfg, cfg_len) == 0);
    reply_free(&r);

    const char *range[] = { "Range: bytes=800-", NULL };
    r = hub("GET", "/lmtune-test/tiny-gpt2/resolve/main/config.json", range);
    CHECK(r.status == 206 && r.body.len == cfg_len - 800 && memcmp(r.body.data, cfg + 800, cfg_len - 800) == 0);
    char want[256];
    snprintf(want, sizeof want, "bytes 800-%zu/%zu", cfg_len - 1, cfg_len);
    CHECK_STREQ(header(&r, "Content-Range", v, sizeof v), want);
    reply_free(&r);

    r = hub("HEAD", "/lmtune-test/tiny-gpt2/resolve/v1.0/config.json", NULL);
    CHECK(r.status == 200);
    CHECK_STREQ(header(&r, "X-Repo-Commit", v, sizeof v), V1_COMMIT);
    reply_free(&r);

    r = hub("HEAD", "/lmtune-test/tiny-gpt2/resolve/main/model.safetensors", NULL);
    CHECK(r.status == 302);
    CHECK_STREQ(header(&r, "X-Linked-Etag", v, sizeof v), "\"" MODEL_SHA256 "\"");
    CHECK(atol(header(&r, "X-Linked-Size", v, sizeof v)) == (long)model_len);
    CHECK_STREQ(header(&r, "X-Repo-Commit", v, sizeof v), MAIN_COMMIT);
    char location[512];
    header(&r, "Location", location, sizeof location);
    snprintf(want, sizeof want, "%s/repos/", cdn_url);
    CHECK_MSG(strncmp(location, want, strlen(want)) == 0 && strstr(location, MODEL_SHA256), "%s", location);
    reply_free(&r);

    const char *auth[] = { "Authorization: Bearer " TOKEN, NULL };
    r = request("GET", location, auth, NULL);
    CHECK(r.status == 400);                              /* the CDN takes no token */
    reply_free(&r);
    r = request("GET", location, NULL, NULL);
    CHECK(r.status == 200 && r.body.len == model_len && memcmp(r.body.data, model, model_len) == 0);
    reply_free(&r);
    const char *tail[] = { "Range: bytes=120000-", NULL };
    r = request("GET", location, tail, NULL);
    CHECK(r.status == 206 && r.body.len == model_len - 120000 &&
          memcmp(r.body.data, model + 120000, r.body.len) == 0);
    reply_free(&r);

    /* faults: a dropped body, an injected status, a corrupted blob */
    reply c = hub("GET", "/_control?drop_after=1000&drop_count=1", NULL);
    CHECK(c.status == 200);
    reply_free(&c);
    r = request("GET", location, NULL, NULL);
    CHECK_MSG(r.rc == CURLE_PARTIAL_FILE && r.body.len == 1000, "rc %d, %zu bytes", (int)r.rc, r.body.len);
    reply_free(&r);
    r = request("GET", location, NULL, NULL);
    CHECK(r.rc == CURLE_OK && r.body.len == model_len);
    reply_free(&r);
    c = hub("GET", "/_control?fail_status=503&fail_count=1&corrupt_count=1", NULL);
    reply_free(&c);
    r = hub("HEAD", "/lmtune-test/tiny-gpt2/resolve/main/config.json", NULL);
    CHECK(r.status == 503);
    reply_free(&r);
    r = request("GET", location, NULL, NULL);
    CHECK(r.status == 200 && r.body.len == model_len && memcmp(r.body.data, model, model_len) != 0);
    reply_free(&r);
    /* slow_ms delays every answer but the controls' own */
    c = hub("GET", "/_control?reset=1&slow_ms=300", NULL);
    reply_free(&c);
    double t0 = now_s();
    r = hub("HEAD", "/lmtune-test/tiny-gpt2/resolve/main/config.json", NULL);
    CHECK(r.status == 200 && now_s() - t0 >= 0.3);
    reply_free(&r);
    t0 = now_s();
    c = hub("GET", "/_control?reset=1", NULL);
    CHECK(c.status == 200 && now_s() - t0 < 0.25);
    reply_free(&c);
    free(cfg);
    free(model);
}

static void check_errors(void) {
    char v[512];
    const char *auth[] = { "Authorization: Bearer " TOKEN, NULL };
    const char *wrong[] = { "Authorization: Bearer nope", NULL };
    check_error("HEAD", "/lmtune-test/tiny-gpt2/resolve/main/nope.json", NULL, 404, "EntryNotFound");
    reply r = hub("HEAD", "/lmtune-test/tiny-gpt2/resolve/main/nope.json", NULL);
    CHECK_STREQ(header(&r, "X-Repo-Commit", v, sizeof v), MAIN_COMMIT);
    reply_free(&r);
    check_error("HEAD", "/lmtune-test/tiny-gpt2/resolve/v9/config.json", NULL, 404, "RevisionNotFound");
    check_error("HEAD", "/lmtune-test/nothing/resolve/main/config.json", NULL, 401, "RepoNotFound");
    check_error("HEAD", "/lmtune-test/nothing/resolve/main/config.json", auth, 404, "RepoNotFound");
    check_error("HEAD", "/lmtune-test/private-gpt2/resolve/main/config.json", NULL, 401, "RepoNotFound");
    check_error("HEAD", "/lmtune-test/private-gpt2/resolve/main/config.json", wrong, 401, "RepoNotFound");
    check_error("HEAD", "/lmtune-test/gated-gpt2/resolve/main/config.json", NULL, 401, "GatedRepo");
    check_error("HEAD", "/lmtune-test/gated-gpt2/resolve/main/config.json", auth, 403, "GatedRepo");
    r = hub("HEAD", "/lmtune-test/private-gpt2/resolve/main/config.json", auth);
    CHECK(r.status == 200);
    reply_free(&r);
    r = hub("HEAD", "/distilgpt2/resolve/main/config.json", NULL);
    CHECK(r.status == 200);
    reply_free(&r);
    r = hub("HEAD", "/datasets/lmtune-test/tiny-text/resolve/main/train.jsonl", NULL);
    CHECK(r.status == 200);
    reply_free(&r);
    r = hub("HEAD", "/lmtune-test/old-gpt2/resolve/main/config.json", NULL);
    CHECK(r.status == 307);
    CHECK_STREQ(header(&r, "Location", v, sizeof v), "/lmtune-test/tiny-gpt2/resolve/main/config.json");
    reply_free(&r);
    r = hub("GET", "/api/models/lmtune-test/tiny-gpt2/revision/v1.0", NULL);
    CHECK(r.status == 200 && r.body.data && strstr(r.body.data, "\"sha\": \"" V1_COMMIT "\""));
    reply_free(&r);
    r = hub("GET", "/api/models/lmtune-test/sharded-gpt2/tree/main?recursive=true", NULL);
    CHECK(r.status == 200 && r.body.data && strstr(r.body.data, "model-00002-of-00002.safetensors"));
    reply_free(&r);
    r = hub("GET", "/api/whoami-v2", auth);
    CHECK(r.status == 200 && r.body.data && strstr(r.body.data, "lmtune-tester"));
    reply_free(&r);
    check_error("GET", "/lmtune-test/tiny-gpt2/resolve/main/../../x", NULL, 400, "");
    check_error("GET", "/lmtune-test/tiny-gpt2/resolve/main/%zz", NULL, 400, "");

    /* raw garbage on a socket: a 400, and the server lives on */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(strrchr(hub_url, ':') + 1)),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    char got[64] = "";
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        send(fd, "GARBAGE\r\n\r\n", 11, 0);
        recv(fd, got, sizeof got - 1, MSG_WAITALL);
    }
    close(fd);
    CHECK_MSG(strncmp(got, "HTTP/1.1 400", 12) == 0, "%s", got);

    r = hub("GET", "/_log?clear=1", NULL);   /* the log, then it starts again */
    CHECK(r.body.data && strstr(r.body.data, "GET /repos/models--lmtune-test--tiny-gpt2/" MODEL_SHA256 " - yes\n"));
    CHECK(r.body.data && strstr(r.body.data, "GET /repos/models--lmtune-test--tiny-gpt2/" MODEL_SHA256 " bytes=120000- no\n"));
    reply_free(&r);
    r = hub("GET", "/_log", NULL);
    CHECK(r.status == 200 && r.body.len == 0);
    reply_free(&r);
}

static void check_upload(void) {
    char dir[] = "/tmp/lmt-hub-test-XXXXXX";
    if (!mkdtemp(dir)) { CHECK(!"mkdtemp"); return; }
    char root[600];
    snprintf(root, sizeof root, "%s/root", dir);
    mkdir(root, 0755);
    server s;
    CHECK(start_server(&s, root, dir));
    snprintf(hub_url, sizeof hub_url, "http://127.0.0.1:%d", s.hub);
    const char *auth[] = { "Authorization: Bearer " TOKEN, "Content-Type: application/json", NULL };
    char url[256];
    snprintf(url, sizeof url, "%s/api/repos/create", hub_url);
    reply r = request("POST", url, NULL, "{\"name\": \"up\", \"organization\": \"org\"}");
    CHECK(r.status == 401);
    reply_free(&r);
    r = request("POST", url, auth, "{\"name\": \"up\", \"organization\": \"org\"}");
    CHECK(r.status == 200 && r.body.data && strstr(r.body.data, "/org/up\""));
    reply_free(&r);
    r = request("POST", url, auth, "{\"name\": \"up\", \"organization\": \"org\"}");
    CHECK(r.status == 409);
    reply_free(&r);
    snprintf(url, sizeof url, "%s/api/models/org/up/commit/main", hub_url);
    r = request("POST", url, auth,
                "{\"key\": \"header\", \"value\": {\"summary\": \"add\"}}\n"
                "{\"key\": \"file\", \"value\": {\"content\": \"aGVsbG8K\", \"path\": \"a/b.txt\", \"encoding\": \"base64\"}}\n");
    CHECK(r.status == 200 && r.body.data && strstr(r.body.data, "commitOid"));
    reply_free(&r);
    r = hub("GET", "/org/up/resolve/main/a/b.txt", NULL);
    CHECK(r.status == 200 && r.body.len == 6 && memcmp(r.body.data, "hello\n", 6) == 0);
    reply_free(&r);
    r = hub("HEAD", "/org/up/resolve/main/.gitattributes", NULL);
    CHECK(r.status == 200);
    reply_free(&r);
    stop_server(&s);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char dir[] = "/tmp/lmt-hub-test-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    server s;
    if (!start_server(&s, LMT_HUB_ROOT, dir)) {
        fprintf(stderr, "lmt_hub_server did not start\n");
        return 1;
    }
    snprintf(hub_url, sizeof hub_url, "http://127.0.0.1:%d", s.hub);
    snprintf(cdn_url, sizeof cdn_url, "http://127.0.0.1:%d", s.cdn);
    check_resolve();
    check_errors();
    stop_server(&s);
    char port_file[600];
    snprintf(port_file, sizeof port_file, "%s/ports", dir);
    unlink(port_file);
    rmdir(dir);
    check_upload();
    curl_global_cleanup();
    return lmt_test_finish();
}
