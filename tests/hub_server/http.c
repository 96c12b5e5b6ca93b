/* The HTTP/1.1 layer of lmt_hub_server: reads one request (headers bounded
 * by HUB_MAX_HEAD, a Content-Length or chunked body), writes one response.
 * Every response says Connection: close; the server closes after it. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include "hub.h"
#include "core/json.h"

static bool write_all(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len > 0) {
        ssize_t k = send(fd, p, len, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        p += k;
        len -= (size_t)k;
    }
    return true;
}

/* ---- reading ---- */

/* Reads into buf until at least want bytes are there (or EOF/error). */
static bool read_more(int fd, char *buf, size_t *have, size_t cap) {
    if (*have >= cap) return false;
    ssize_t k;
    do k = recv(fd, buf + *have, cap - *have, 0); while (k < 0 && errno == EINTR);
    if (k <= 0) return false;
    *have += (size_t)k;
    return true;
}

static char *find_head_end(char *buf, size_t n) {
    for (size_t i = 0; i + 3 < n; i++)
        if (memcmp(buf + i, "\r\n\r\n", 4) == 0) return buf + i;
    return NULL;
}

static int parse_head(http_req *r, char *end) {
    *end = '\0';
    char *line = r->head, *eol = strstr(line, "\r\n");
    if (eol) *eol = '\0';
    char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || (size_t)(sp1 - line) >= sizeof r->method || sp1 == line) return 400;
    *sp1 = *sp2 = '\0';
    for (char *m = line; *m; m++) if (!isupper((unsigned char)*m)) return 400;
    strcpy(r->method, line);
    if (strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || sp1[1] != '/') return 400;
    r->path = sp1 + 1;
    char *q = strchr(r->path, '?');
    if (q) { *q = '\0'; r->query = q + 1; } else r->query = r->path + strlen(r->path);
    for (char *p = r->path; *p; p++) if ((unsigned char)*p <= ' ' || *p == 0x7f) return 400;
    r->nhdr = 0;
    for (line = eol ? eol + 2 : end; line < end; line = eol + 2) {
        eol = strstr(line, "\r\n");
        if (!eol) eol = end;
        *eol = '\0';
        char *colon = strchr(line, ':');
        if (!colon || colon == line) return 400;
        if (r->nhdr == HUB_MAX_HEADERS) return 431;
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t') v++;
        for (char *t = v + strlen(v); t > v && (t[-1] == ' ' || t[-1] == '\t'); ) *--t = '\0';
        r->hname[r->nhdr] = line;
        r->hvalue[r->nhdr++] = v;
        if (eol == end) break;
    }
    return 0;
}

/* The body: what is already in `extra` plus what is still on the socket. */
typedef struct { int fd; char *extra; size_t have, pos; } body_src;

static bool src_get(body_src *s, char *dst, size_t n) {
    size_t take = s->have - s->pos < n ? s->have - s->pos : n;
    memcpy(dst, s->extra + s->pos, take);
    s->pos += take;
    while (take < n) {
        ssize_t k = recv(s->fd, dst + take, n - take, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        take += (size_t)k;
    }
    return true;
}

static bool src_line(body_src *s, char *line, size_t cap) {
    size_t n = 0;
    while (n + 1 < cap) {
        if (!src_get(s, line + n, 1)) return false;
        if (line[n] == '\n') {
            line[n] = '\0';
            if (n > 0 && line[n - 1] == '\r') line[n - 1] = '\0';
            return true;
        }
        n++;
    }
    return false;
}

static int read_chunked(http_req *r, body_src *s) {
    lmt_strbuf b;
    lmt_sb_init(&b);
    char line[256];
    for (;;) {
        if (!src_line(s, line, sizeof line)) break;
        char *endp;
        unsigned long long size = strtoull(line, &endp, 16);
        if (endp == line || size > HUB_MAX_BODY || b.len + size > HUB_MAX_BODY) break;
        if (size == 0) {   /* trailers until the empty line */
            while (src_line(s, line, sizeof line) && line[0]) {}
            r->body_len = b.len;
            r->body = b.len ? lmt_sb_take(&b) : calloc(1, 1);
            lmt_sb_free(&b);
            return r->body ? 0 : 413;
        }
        size_t at = b.len;
        char *tmp = malloc(size ? size : 1);
        bool ok = tmp && src_get(s, tmp, size) && src_line(s, line, sizeof line) && !line[0];
        if (ok) lmt_sb_append(&b, tmp, size);
        free(tmp);
        if (!ok || b.oom || b.len != at + size) break;
    }
    lmt_sb_free(&b);
    return 400;
}

int http_read_request(int fd, http_req *r) {
    memset(r, 0, sizeof *r);
    r->fd = fd;
    size_t have = 0;
    char *end;
    while (!(end = find_head_end(r->head, have))) {
        if (have >= HUB_MAX_HEAD) return 431;
        if (!read_more(fd, r->head, &have, HUB_MAX_HEAD)) return have ? 400 : -1;
    }
    size_t head_len = (size_t)(end - r->head) + 4;
    int st = parse_head(r, end);
    if (st) return st;
    body_src src = { fd, r->head + head_len, have - head_len, 0 };
    const char *expect = http_header(r, "Expect");
    if (expect && strcasecmp(expect, "100-continue") == 0 && src.have == 0)   /* libcurl waits 1 s for it */
        write_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    const char *te = http_header(r, "Transfer-Encoding");
    const char *cl = http_header(r, "Content-Length");
    if (te && strcasecmp(te, "chunked") == 0) return read_chunked(r, &src);
    if (te) return 400;
    size_t len = 0;
    if (cl) {
        char *endp;
        unsigned long long v = strtoull(cl, &endp, 10);
        if (endp == cl || *endp || !isdigit((unsigned char)*cl)) return 400;
        if (v > HUB_MAX_BODY) return 413;
        len = (size_t)v;
    }
    r->body = malloc(len + 1);
    if (!r->body) return 413;
    if (!src_get(&src, r->body, len)) return 400;
    r->body[len] = '\0';
    r->body_len = len;
    return 0;
}

void http_req_free(http_req *r) { free(r->body); r->body = NULL; }

const char *http_header(const http_req *r, const char *name) {
    for (int i = 0; i < r->nhdr; i++)
        if (strcasecmp(r->hname[i], name) == 0) return r->hvalue[i];
    return NULL;
}

bool http_is_head(const http_req *r) { return strcmp(r->method, "HEAD") == 0; }

/* ---- writing ---- */

static const char *reason(int status) {
    switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 302: return "Found";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 416: return "Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
    }
}

void http_resp_init(http_resp *p, int status) {
    p->status = status;
    lmt_sb_init(&p->head);
}

void http_resp_header(http_resp *p, const char *name, const char *fmt, ...) {
    char value[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    lmt_sb_printf(&p->head, "%s: %s\r\n", name, value);
}

void http_send(http_req *r, http_resp *p, const void *body, size_t len, body_kind kind) {
    body_plan plan = { len, len, false, false };
    bool head = http_is_head(r);
    if (!r->plumbing) control_delay();
    if (!r->plumbing && !head && len > 0) plan = control_plan_body(len, kind);
    lmt_strbuf out;
    lmt_sb_init(&out);
    lmt_sb_printf(&out, "HTTP/1.1 %d %s\r\n", p->status, reason(p->status));
    lmt_sb_append(&out, p->head.data ? p->head.data : "", p->head.len);
    lmt_sb_printf(&out, "Content-Length: %zu\r\nConnection: close\r\n\r\n", plan.length);
    lmt_sb_free(&p->head);
    if (!write_all(r->fd, out.data, out.len) || head) { lmt_sb_free(&out); return; }
    lmt_sb_free(&out);
    if (plan.corrupt && plan.send > 0) {
        char *copy = malloc(plan.send);
        if (!copy) return;
        memcpy(copy, body, plan.send);
        copy[plan.send / 2] ^= 0x5a;
        write_all(r->fd, copy, plan.send);
        free(copy);
    } else {
        write_all(r->fd, body, plan.send);
    }
    if (plan.close_after) {
        shutdown(r->fd, SHUT_RDWR);
    }
}

void http_send_json(http_req *r, int status, const lmt_strbuf *json) {
    http_resp p;
    http_resp_init(&p, status);
    http_resp_header(&p, "Content-Type", "application/json; charset=utf-8");
    http_send(r, &p, json->data ? json->data : "", json->len, BODY_PLAIN);
}

void http_send_error(http_req *r, int status, const char *code, const char *message, const char *commit) {
    http_resp p;
    http_resp_init(&p, status);
    http_resp_header(&p, "Content-Type", "application/json; charset=utf-8");
    if (code) http_resp_header(&p, "X-Error-Code", "%s", code);
    /* a header value holds no CR/LF: messages are ours or sanitised here */
    char clean[512];
    snprintf(clean, sizeof clean, "%s", message);
    for (char *c = clean; *c; c++) if ((unsigned char)*c < ' ') *c = ' ';
    http_resp_header(&p, "X-Error-Message", "%s", clean);
    if (commit) http_resp_header(&p, "X-Repo-Commit", "%s", commit);
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_puts(&b, "{\"error\": ");
    lmt_json_write_string(&b, message, strlen(message), false);
    lmt_sb_puts(&b, "}");
    http_send(r, &p, b.data, b.len, BODY_PLAIN);
    lmt_sb_free(&b);
}

/* ---- URLs ---- */

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

char *url_decode(const char *s, size_t n) {
    char *out = malloc(n + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) { free(out); return NULL; }
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0') { free(out); return NULL; }
        *o++ = c;
    }
    *o = '\0';
    return out;
}

void free_segs(char **segs, int n) {
    for (int i = 0; i < n; i++) free(segs[i]);
}

bool split_path(const char *path, char **segs, int *nsegs) {
    int n = 0;
    const char *p = path;
    while (*p == '/') p++;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        char *seg = n < HUB_MAX_SEGS ? url_decode(p, len) : NULL;
        if (!seg || strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0) {
            free(seg);
            free_segs(segs, n);
            return false;
        }
        segs[n++] = seg;
        p += len;
        while (*p == '/') p++;
    }
    *nsegs = n;
    return true;
}

char *query_param(const char *query, const char *key) {
    size_t klen = strlen(key);
    for (const char *p = query; p && *p; ) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > klen && strncmp(p, key, klen) == 0 && p[klen] == '=')
            return url_decode(p + klen + 1, len - klen - 1);
        if (len == klen && strncmp(p, key, klen) == 0) return calloc(1, 1);
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}
