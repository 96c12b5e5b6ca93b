/* HTTP requests for the Hub (hub/http.h) over libcurl. Redirects are
 * followed here, not by curl, so the rule for the token is ours: it travels
 * only to the origin it was given for. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "core/error.h"
#include "core/util.h"
#include "hub/http.h"

void lmt_http_response_free(lmt_http_response *rs) {
    if (!rs) return;
    free(rs->url);
    free(rs->location);
    free(rs->etag);
    free(rs->linked_etag);
    free(rs->repo_commit);
    free(rs->error_code);
    free(rs->error_message);
    free(rs->content_type);
    free(rs->body);
    memset(rs, 0, sizeof *rs);
}

/* the "scheme://host:port" prefix of a URL, with the default port made explicit */
static size_t origin_of(const char *url, char *out, size_t cap) {
    const char *p = strstr(url, "://");
    if (!p) { out[0] = '\0'; return 0; }
    size_t scheme = (size_t)(p - url);
    const char *host = p + 3, *end = host;
    while (*end && *end != '/' && *end != '?' && *end != '#') end++;
    bool has_port = false;
    for (const char *q = host; q < end; q++) if (*q == ':') has_port = true;
    int n = snprintf(out, cap, "%.*s://%.*s%s", (int)scheme, url, (int)(end - host), host,
                     has_port ? "" : (scheme == 5 && !strncasecmp(url, "https", 5) ? ":443" : ":80"));
    for (char *c = out; *c; c++) if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
    return n > 0 ? (size_t)n : 0;
}

bool lmt_http_same_origin(const char *a, const char *b) {
    char oa[512], ob[512];
    origin_of(a, oa, sizeof oa);
    origin_of(b, ob, sizeof ob);
    return oa[0] && !strcmp(oa, ob);
}

char *lmt_http_escape(const char *s, bool keep_slash) {
    lmt_strbuf b;
    lmt_sb_init(&b);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                     c == '_' || c == '.' || c == '~' || (keep_slash && c == '/');
        if (plain) lmt_sb_putc(&b, (char)c);
        else lmt_sb_printf(&b, "%%%02X", c);
    }
    return lmt_sb_take(&b);
}

#ifndef LMT_HUB_CURL
lmt_status lmt_http_perform(const lmt_http_request *rq, lmt_http_response *rs) {
    memset(rs, 0, sizeof *rs);
    return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: this lmtune was built without libcurl (LMT_HUB=OFF): only the cache can be read",
                    rq->url);
}
#else
#include <pthread.h>
#include <curl/curl.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

enum { MAX_REDIRECTS = 10, MAX_ERROR_BODY = 1 << 20 };

typedef struct {
    const lmt_http_request *rq;
    lmt_http_response *rs;
    lmt_strbuf body;
    int64_t offset;        /* where the next sink byte goes */
    bool to_sink, sink_failed;
    int sink_errno;
} transfer;

static char *trimmed_value(const char *v, size_t n) {
    while (n && (*v == ' ' || *v == '\t')) { v++; n--; }
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
    return lmt_strndup(v, n);
}

static void set_field(char **field, const char *v, size_t n) {
    free(*field);
    *field = trimmed_value(v, n);
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *user) {
    transfer *t = user;
    size_t n = size * nmemb;
    lmt_http_response *rs = t->rs;
    if (n > 5 && !strncmp(data, "HTTP/", 5)) {   /* a new response (after 100 Continue): start over */
        const char *sp = memchr(data, ' ', n);
        rs->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        char **fields[] = {&rs->etag, &rs->linked_etag, &rs->repo_commit, &rs->error_code, &rs->error_message,
                           &rs->content_type, &rs->location};
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) { free(*fields[i]); *fields[i] = NULL; }
        rs->content_length = rs->linked_size = -1;
        return n;
    }
    const char *colon = memchr(data, ':', n);
    if (!colon) return n;
    size_t klen = (size_t)(colon - data);
    const char *v = colon + 1;
    size_t vlen = n - klen - 1;
#define IS(name) (klen == sizeof(name) - 1 && !strncasecmp(data, name, klen))
    if (IS("ETag")) set_field(&rs->etag, v, vlen);
    else if (IS("X-Linked-Etag")) set_field(&rs->linked_etag, v, vlen);
    else if (IS("X-Repo-Commit")) set_field(&rs->repo_commit, v, vlen);
    else if (IS("X-Error-Code")) set_field(&rs->error_code, v, vlen);
    else if (IS("X-Error-Message")) set_field(&rs->error_message, v, vlen);
    else if (IS("Content-Type")) set_field(&rs->content_type, v, vlen);
    else if (IS("Location")) set_field(&rs->location, v, vlen);
    else if (IS("Content-Length") || IS("X-Linked-Size")) {
        char *s = trimmed_value(v, vlen);
        char *end = NULL;
        long long x = s ? strtoll(s, &end, 10) : -1;
        if (s && end != s && *end == '\0' && x >= 0) {
            if (IS("Content-Length")) rs->content_length = x;
            else rs->linked_size = x;
        }
        free(s);
    }
#undef IS
    return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user) {
    transfer *t = user;
    size_t n = size * nmemb;
    long st = t->rs->status;
    if (st >= 200 && st < 300 && t->rq->sink_fd >= 0) {
        if (!t->to_sink) {
            t->to_sink = true;
            /* asked for a range but got the whole file: start the file over */
            if (t->rq->range_from > 0 && st == 200) {
                t->offset = 0;
                if (ftruncate(t->rq->sink_fd, 0) != 0) { t->sink_failed = true; t->sink_errno = errno; return 0; }
            }
        }
        size_t done = 0;
        while (done < n) {
            ssize_t w = pwrite(t->rq->sink_fd, data + done, n - done, t->offset);
            if (w < 0) {
                if (errno == EINTR) continue;
                t->sink_failed = true;
                t->sink_errno = errno;
                return 0;
            }
            done += (size_t)w;
            t->offset += w;
            t->rs->received += w;
        }
        return n;
    }
    if (!(st >= 200 && st < 300) && t->body.len + n > MAX_ERROR_BODY) return n;   /* keep the start of an error page */
    lmt_sb_append(&t->body, data, n);
    return t->body.oom ? 0 : n;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    transfer *t = user;
    const lmt_http_request *rq = t->rq;
    if (!rq->progress || !t->to_sink) {
        if (rq->progress && ultotal > 0) rq->progress(rq->progress_user, (int64_t)ulnow, (int64_t)ultotal);
        return 0;
    }
    int64_t base = t->offset - t->rs->received;   /* bytes the file had before this response */
    rq->progress(rq->progress_user, base + (int64_t)dlnow, dltotal > 0 ? base + (int64_t)dltotal : -1);
    return 0;
}

static lmt_status one_hop(CURL *h, const lmt_http_request *rq, const char *url, bool send_token, lmt_http_response *rs,
                          transfer *t) {
    curl_easy_reset(h);
    struct curl_slist *hdrs = NULL;
    char auth[4096];
    if (send_token && rq->token && *rq->token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", rq->token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    for (const char *const *x = rq->headers; x && *x; x++) hdrs = curl_slist_append(hdrs, *x);
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "lmtune/" LMTUNE_VERSION);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
    long ms = rq->timeout_s > 0 ? (long)ceil(rq->timeout_s * 1000) : 10000;
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms);
    if (rq->transfer) {
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)ceil(ms / 1000.0));
    } else {
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms);
    }
    if (rq->progress) {
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, t);
    }
    char range[64];
    if (rq->range_from > 0) {
        snprintf(range, sizeof range, "%lld-", (long long)rq->range_from);
        curl_easy_setopt(h, CURLOPT_RANGE, range);
    }
    FILE *upload = NULL;
    const char *m = rq->method ? rq->method : "GET";
    if (!strcmp(m, "HEAD")) curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else if (rq->upload_path) {
        upload = fopen(rq->upload_path, "rb");
        if (!upload) {
            curl_slist_free_all(hdrs);
            return lmt_fail(LMT_ERR_IO, "%s: cannot open: %s", rq->upload_path, strerror(errno));
        }
        fseek(upload, 0, SEEK_END);
        long sz = ftell(upload);
        rewind(upload);
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READDATA, upload);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)sz);
        if (strcmp(m, "PUT")) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    } else if (!strcmp(m, "POST") || !strcmp(m, "PUT") || rq->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body ? (const char *)rq->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
        if (strcmp(m, "POST")) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    } else if (strcmp(m, "GET")) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    char err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
    CURLcode rc = curl_easy_perform(h);
    if (upload) fclose(upload);
    curl_slist_free_all(hdrs);
    char *redirect = NULL;
    if (curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &redirect) == CURLE_OK && redirect) {
        free(rs->location);
        rs->location = lmt_strdup(redirect);
    }
    if (t->sink_failed)
        return lmt_fail(LMT_ERR_IO, "writing the download from %s: %s", url, strerror(t->sink_errno));
    if (rc != CURLE_OK) {
        if (rc == CURLE_OUT_OF_MEMORY) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
        return lmt_fail(LMT_ERR_NETWORK, "%s: %s", url, err[0] ? err : curl_easy_strerror(rc));
    }
    return LMT_OK;
}

lmt_status lmt_http_perform(const lmt_http_request *rq, lmt_http_response *rs) {
    memset(rs, 0, sizeof *rs);
    rs->content_length = rs->linked_size = -1;
    pthread_once(&curl_once, curl_init);
    CURL *h = curl_easy_init();
    if (!h) return lmt_fail(LMT_ERR_NOMEM, "libcurl: cannot make a handle");
    char *url = lmt_strdup(rq->url);
    lmt_status st = LMT_OK;
    for (int hop = 0;; hop++) {
        transfer t = {.rq = rq, .rs = rs, .offset = rq->range_from > 0 ? rq->range_from : 0};
        lmt_sb_init(&t.body);
        free(rs->body);
        rs->body = NULL;
        rs->body_len = 0;
        st = one_hop(h, rq, url, lmt_http_same_origin(url, rq->url), rs, &t);
        rs->body_len = t.body.len;
        rs->body = lmt_sb_take(&t.body);
        free(rs->url);
        rs->url = url;
        url = NULL;
        if (st != LMT_OK) break;
        bool redirect = rs->status >= 300 && rs->status < 400 && rs->status != 304 && rs->location;
        if (!redirect || rq->follow == LMT_FOLLOW_NONE) break;
        if (rq->follow == LMT_FOLLOW_RELATIVE && !lmt_http_same_origin(rs->location, rs->url)) break;
        if (hop + 1 >= MAX_REDIRECTS) {
            st = lmt_fail(LMT_ERR_NETWORK, "%s: more than %d redirects", rq->url, MAX_REDIRECTS);
            break;
        }
        url = lmt_strdup(rs->location);
    }
    free(url);
    curl_easy_cleanup(h);
    return st;
}
#endif
