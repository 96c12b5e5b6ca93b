/* Oniguruma wrapper (see regex.h). */
#include <oniguruma.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "tokenizers/regex.h"

struct lmt_regex { regex_t *re; };

static pthread_once_t onig_once = PTHREAD_ONCE_INIT;

static void onig_setup(void) {
    OnigEncoding enc = ONIG_ENCODING_UTF8;
    onig_initialize(&enc, 1);
}

lmt_status lmt_regex_compile(const char *pattern, size_t len, const char *source, lmt_regex **out) {
    *out = NULL;
    pthread_once(&onig_once, onig_setup);
    lmt_regex *r = calloc(1, sizeof *r);
    if (!r) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    OnigErrorInfo einfo;
    int rc = onig_new(&r->re, (const OnigUChar *)pattern, (const OnigUChar *)pattern + len, ONIG_OPTION_CAPTURE_GROUP,
                      ONIG_ENCODING_UTF8, ONIG_SYNTAX_RUBY, &einfo);
    if (rc != ONIG_NORMAL) {
        OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
        onig_error_code_to_str(msg, rc, &einfo);
        free(r);
        return lmt_fail(LMT_ERR_FORMAT, "%s: invalid regex /%.*s/: %s", source, (int)(len > 200 ? 200 : len), pattern, (char *)msg);
    }
    *out = r;
    return LMT_OK;
}

lmt_status lmt_regex_literal(const char *s, size_t len, const char *source, lmt_regex **out) {
    /* \Q...\E is not in Ruby syntax: escape every non-alphanumeric ASCII byte */
    char *p = malloc(len * 2 + 1);
    if (!p) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80 && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
            if (c == '\n') { p[k++] = '\\'; p[k++] = 'n'; continue; }
            if (c == '\t') { p[k++] = '\\'; p[k++] = 't'; continue; }
            if (c == '\r') { p[k++] = '\\'; p[k++] = 'r'; continue; }
            p[k++] = '\\';
        }
        p[k++] = (char)c;
    }
    lmt_status st = lmt_regex_compile(p, k, source, out);
    free(p);
    return st;
}

void lmt_regex_free(lmt_regex *re) {
    if (!re) return;
    onig_free(re->re);
    free(re);
}

int lmt_regex_find(const lmt_regex *re, lmt_regex_region **region, const char *text, size_t n, size_t from, size_t *ms, size_t *me) {
    if (!*region && !(*region = (lmt_regex_region *)onig_region_new())) return -1;
    OnigRegion *tl_region = (OnigRegion *)*region;
    const OnigUChar *s = (const OnigUChar *)text, *end = s + n;
    int r = onig_search(re->re, s, end, s + from, end, tl_region, ONIG_OPTION_NONE);
    if (r == ONIG_MISMATCH) return 0;
    if (r < 0) return -1;
    *ms = (size_t)tl_region->beg[0];
    *me = (size_t)tl_region->end[0];
    return 1;
}

void lmt_regex_region_free(lmt_regex_region *r) {
    if (r) onig_region_free((OnigRegion *)r, 1);
}
