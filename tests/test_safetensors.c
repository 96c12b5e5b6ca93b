/* safetensors reader and writer against files the Python safetensors
 * library wrote (tests/fixtures/io, made by tools/reference/make_io_fixtures.py). */
#include <stdlib.h>
#include <unistd.h>
#include "harness.h"
#include "core/util.h"
#include "io/tensor_file.h"

#define IO LMT_SOURCE_DIR "/tests/fixtures/io/"

static char tmpdir[] = "/tmp/lmt-st-XXXXXX";
static char outpath[300];

static bool same_file(const char *a, const char *b) {
    char *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    bool ok = lmt_read_file(a, &x, &nx) == LMT_OK && lmt_read_file(b, &y, &ny) == LMT_OK;
    bool same = ok && nx == ny && memcmp(x, y, nx) == 0;
    if (ok && !same) fprintf(stderr, "  %s (%zu bytes) vs %s (%zu bytes)\n", a, nx, b, ny);
    free(x);
    free(y);
    return same;
}

/* Reads a file the library wrote, hands its tensors to the writer in
 * reversed order with the same metadata, and expects the same bytes. */
static void rewrite_same(const char *name) {
    char ref[512];
    snprintf(ref, sizeof ref, IO "%s", name);
    lmt_tensor_file *f = NULL;
    CHECK_OK(lmt_safetensors_open(ref, &f));
    if (!f) return;
    lmt_tensor_out *outs = calloc(f->n + 1, sizeof *outs);
    for (size_t i = 0; i < f->n; i++) {
        const lmt_tensor_entry *e = &f->entries[f->n - 1 - i];
        outs[i].name = e->name;
        outs[i].dtype = e->dtype;
        outs[i].ndim = e->ndim;
        memcpy(outs[i].shape, e->shape, sizeof outs[i].shape);
        outs[i].data = e->data;
    }
    const char *meta[16] = {NULL};
    size_t m = 0;
    for (size_t k = 0; f->metadata && k < f->metadata->len && m + 2 < 16; k++) {
        meta[m++] = f->metadata->keys[k];
        meta[m++] = f->metadata->items[k].str;
    }
    CHECK_OK(lmt_safetensors_write(outpath, outs, f->n, f->metadata ? meta : NULL));
    CHECK_MSG(same_file(outpath, ref), "rewriting %s does not give the safetensors library's bytes", name);
    free(outs);
    lmt_tensor_file_free(f);
}

static void read_mixed(void) {
    lmt_tensor_file *f = NULL;
    CHECK_OK(lmt_safetensors_open(IO "mixed.safetensors", &f));
    if (!f) return;
    CHECK(f->n == 11);
    const lmt_tensor_entry *e = lmt_tensor_file_find(f, "i64");
    CHECK(e && e->dtype == LMT_I64 && e->ndim == 2 && e->shape[0] == 3 && e->shape[1] == 4 && e->nbytes == 96);
    if (e) { const int64_t *v = e->data; CHECK(v[0] == -5 && v[11] == 6); }
    e = lmt_tensor_file_find(f, "i32");
    CHECK(e && e->dtype == LMT_I32 && ((const int32_t *)e->data)[9] == 9);
    e = lmt_tensor_file_find(f, "u8");
    CHECK(e && e->dtype == LMT_U8 && ((const uint8_t *)e->data)[5] == 5);
    e = lmt_tensor_file_find(f, "bool");
    CHECK(e && e->dtype == LMT_BOOL && e->nbytes == 3 && ((const uint8_t *)e->data)[0] == 1 && ((const uint8_t *)e->data)[1] == 0);
    e = lmt_tensor_file_find(f, "scalar");
    CHECK(e && e->ndim == 0 && e->nbytes == 4 && *(const float *)e->data == 2.5f);
    e = lmt_tensor_file_find(f, "empty");
    CHECK(e && e->ndim == 2 && e->shape[0] == 0 && e->shape[1] == 3 && e->nbytes == 0);
    e = lmt_tensor_file_find(f, "a.b.weight");
    CHECK(e && e->ndim == 3 && e->shape[2] == 4 && e->dtype == LMT_F32 && e->nbytes == 96);
    CHECK(lmt_tensor_file_find(f, "bf16") && lmt_tensor_file_find(f, "bf16")->dtype == LMT_BF16);
    CHECK(lmt_tensor_file_find(f, "f16") && lmt_tensor_file_find(f, "f16")->dtype == LMT_F16);
    CHECK(lmt_tensor_file_find(f, "f64") && lmt_tensor_file_find(f, "f64")->dtype == LMT_F64);
    CHECK(lmt_tensor_file_find(f, "nope") == NULL && lmt_tensor_file_find(f, "") == NULL);
    /* entries are in file (data offset) order */
    for (size_t i = 1; i < f->n; i++)
        CHECK((const char *)f->entries[i].data >= (const char *)f->entries[i - 1].data + f->entries[i - 1].nbytes);
    const lmt_json *note = lmt_json_get(f->metadata, "note");
    CHECK(note && note->type == LMT_JSON_STRING && !strcmp(note->str, "\xc3\xa9"));
    lmt_tensor_file_free(f);
    /* content dispatch reaches the same reader */
    CHECK_OK(lmt_tensor_file_open(IO "mixed.safetensors", &f));
    CHECK(f && f->kind == 1 && f->n == 11);
    lmt_tensor_file_free(f);
}

/* Tensors built in C (not read from a file), written as save_file({...}, metadata={"format": "pt"}). */
static void write_from_c(void) {
    float ones4[4] = {1, 1, 1, 1}, zeros3[3] = {0, 0, 0};
    int64_t ar[4] = {0, 1, 2, 3};
    uint16_t h[2] = {0x3c00, 0x3c00};
    lmt_tensor_out w[4] = {
        {"b.weight", LMT_F32, 2, {2, 2}, ones4}, {"a.bias", LMT_F32, 1, {3}, zeros3},
        {"c", LMT_I64, 1, {4}, ar}, {"h", LMT_F16, 1, {2}, h}};
    const char *pt[] = {"format", "pt", NULL};
    CHECK_OK(lmt_safetensors_write(outpath, w, 4, pt));
    CHECK_MSG(same_file(outpath, IO "writer_ref.safetensors"), "writer output differs from safetensors.torch.save_file");

    /* refusals, each naming the file and leaving nothing behind */
    lmt_tensor_out dup[2] = {w[0], w[0]};
    CHECK(lmt_safetensors_write(outpath, dup, 2, pt) == LMT_ERR_ARG && strstr(lmt_last_error(), outpath));
    lmt_tensor_out dup2[2] = {w[0], w[0]};
    dup2[1].dtype = LMT_F16;
    CHECK(lmt_safetensors_write(outpath, dup2, 2, pt) == LMT_ERR_ARG && strstr(lmt_last_error(), "twice"));
    lmt_tensor_out neg = w[0];
    neg.shape[1] = -2;
    CHECK(lmt_safetensors_write(outpath, &neg, 1, pt) == LMT_ERR_ARG);
    lmt_tensor_out meta_name = w[0];
    meta_name.name = "__metadata__";
    CHECK(lmt_safetensors_write(outpath, &meta_name, 1, pt) == LMT_ERR_ARG);
    lmt_tensor_out nodata = w[0];
    nodata.data = NULL;
    CHECK(lmt_safetensors_write(outpath, &nodata, 1, pt) == LMT_ERR_ARG);
    const char *odd[] = {"format", NULL};
    CHECK(lmt_safetensors_write(outpath, w, 1, odd) == LMT_ERR_ARG && strstr(lmt_last_error(), "no value"));
    const char *twice[] = {"k", "1", "k", "2", NULL};
    CHECK(lmt_safetensors_write(outpath, w, 1, twice) == LMT_ERR_ARG && strstr(lmt_last_error(), "twice"));
    char missing[400];
    snprintf(missing, sizeof missing, "%s/no/such/dir/x.safetensors", tmpdir);
    CHECK(lmt_safetensors_write(missing, w, 1, pt) == LMT_ERR_IO && strstr(lmt_last_error(), missing));
    /* the file written before the refusals is untouched */
    CHECK(same_file(outpath, IO "writer_ref.safetensors"));
}

int main(void) {
    CHECK(mkdtemp(tmpdir) != NULL);
    snprintf(outpath, sizeof outpath, "%s/out.safetensors", tmpdir);
    read_mixed();
    rewrite_same("mixed.safetensors");        /* two metadata keys, in the file's order */
    rewrite_same("writer_ref.safetensors");   /* {"format": "pt"}, as save_pretrained */
    rewrite_same("writer_dtypes.safetensors"); /* every dtype, 0-d, empty, 8-d, metadata={} */
    rewrite_same("writer_names.safetensors");  /* escaped and non-ASCII names, no metadata */
    rewrite_same("writer_empty.safetensors");  /* no tensors */
    rewrite_same("views_expected.safetensors");
    write_from_c();
    /* only the output file remains: no temporary left behind */
    char cmd[400];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", tmpdir);
    CHECK(system(cmd) == 0);
    unlink(outpath);
    rmdir(tmpdir);
    return lmt_test_finish();
}
