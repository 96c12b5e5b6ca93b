/* sha256 and git blob sha1 of a file (hub/digest.h), with OpenSSL's
 * libcrypto: the field's audited implementation, already a dependency of
 * the libcurl lmtune downloads with. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "core/error.h"
#include "hub/digest.h"

bool lmt_is_sha256_hex(const char *s) {
    if (!s || strlen(s) != 64) return false;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

#ifndef LMT_HUB_CURL
lmt_status lmt_sha256_file(const char *path, char hex[65]) {
    hex[0] = '\0';
    return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: this lmtune was built without libcurl/libcrypto (LMT_HUB=OFF)", path);
}
lmt_status lmt_git_blob_sha1_file(const char *path, char hex[41]) {
    hex[0] = '\0';
    return lmt_fail(LMT_ERR_UNSUPPORTED, "%s: this lmtune was built without libcurl/libcrypto (LMT_HUB=OFF)", path);
}
#else
#include <openssl/evp.h>

static lmt_status digest_file(const char *path, const EVP_MD *md, bool git_blob, char *hex) {
    FILE *f = fopen(path, "rb");
    if (!f) return lmt_fail(LMT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, md, NULL) != 1) {
        fclose(f);
        EVP_MD_CTX_free(ctx);
        return lmt_fail(LMT_ERR_INTERNAL, "libcrypto: cannot start a digest");
    }
    if (git_blob) {
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        rewind(f);
        char head[64];
        int n = snprintf(head, sizeof head, "blob %ld", size);
        EVP_DigestUpdate(ctx, head, (size_t)n + 1);   /* the NUL after the size is part of it */
    }
    static __thread unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) EVP_DigestUpdate(ctx, buf, n);
    bool bad = ferror(f);
    fclose(f);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, out, &len);
    EVP_MD_CTX_free(ctx);
    if (bad) return lmt_fail(LMT_ERR_IO, "%s: read error", path);
    for (unsigned int i = 0; i < len; i++) sprintf(hex + 2 * i, "%02x", out[i]);
    return LMT_OK;
}

lmt_status lmt_sha256_file(const char *path, char hex[65]) { return digest_file(path, EVP_sha256(), false, hex); }
lmt_status lmt_git_blob_sha1_file(const char *path, char hex[41]) { return digest_file(path, EVP_sha1(), true, hex); }
#endif
