/* safetensors reader and writer against files the Python safetensors
 * library wrote (tests/fixtures/io, made by tools/reference). */
#include <stdlib.h>
#include <unistd.h>
#include "harness.h"
#include "core/util.h"
#include "io/tensor_file.h"

#define IO LMT_SOURCE_DIR "/tests/fixtures/io/"

static bool same_file(const char *a, const char *b) {
    char *x, *y;
    size_t nx, ny;
    if (lmt_read_file(a, &x, &nx) != LMT_OK) return false;
    if (lmt_read_file(b, &y, &ny) != LMT_OK) { free(x); return false; }
    bool same = nx == ny && memcmp(x, y, nx) == 0;
    free(x);
    free(y);
    return same;
}

int main(void) {
    lmt_tensor_file *f = NULL;
    CHECK_OK(lmt_safetensors_open(IO "mixed.safetensors", &f));
    if (!f) return lmt_test_finish();
    CHECK(f->n == 11);
    const lmt_tensor_entry *e = lmt_tensor_file_find(f, "i64");
    CHECK(e && e->dtype == LMT_I64 && e->ndim == 2 && e->shape[0] == 3 && e->shape[1] == 4);
    if (e) { const int64_t *v = e->data; CHECK(v[0] == -5 && v[11] == 6); }
    e = lmt_tensor_file_find(f, "i32");
    CHECK(e && e->dtype == LMT_I32 && ((const int32_t *)e->data)[9] == 9);
    e = lmt_tensor_file_find(f, "bool");
    CHECK(e && e->dtype == LMT_BOOL && e->nbytes == 3 && ((const uint8_t *)e->data)[0] == 1 && ((const uint8_t *)e->data)[1] == 0);
    e = lmt_tensor_file_find(f, "scalar");
    CHECK(e && e->ndim == 0 && e->nbytes == 4 && *(const float *)e->data == 2.5f);
    e = lmt_tensor_file_find(f, "empty");
    CHECK(e && e->ndim == 2 && e->shape[0] == 0 && e->shape[1] == 3 && e->nbytes == 0);
    e = lmt_tensor_file_find(f, "a.b.weight");
    CHECK(e && e->ndim == 3 && e->shape[2] == 4 && e->dtype == LMT_F32);
    CHECK(lmt_tensor_file_find(f, "bf16") && lmt_tensor_file_find(f, "bf16")->dtype == LMT_BF16);
    CHECK(lmt_tensor_file_find(f, "f16") && lmt_tensor_file_find(f, "f64")->dtype == LMT_F64);
    const lmt_json *note = lmt_json_get(f->metadata, "note");
    CHECK(note && note->type == LMT_JSON_STRING && !strcmp(note->str, "\xc3\xa9"));

    /* Writing the same tensors back gives the library's bytes exactly. */
    lmt_tensor_out *outs = calloc(f->n, sizeof *outs);
    for (size_t i = 0; i < f->n; i++) {
        outs[i].name = f->entries[i].name;
        outs[i].dtype = f->entries[i].dtype;
        outs[i].ndim = f->entries[i].ndim;
        memcpy(outs[i].shape, f->entries[i].shape, sizeof outs[i].shape);
        outs[i].data = f->entries[i].data;
    }
    char tmp[] = "/tmp/lmt-st-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/out.safetensors", tmp);
    const char *meta[] = {"format", "pt", "note", "\xc3\xa9", NULL};
    CHECK_OK(lmt_safetensors_write(path, outs, f->n, meta));
    CHECK_MSG(same_file(path, IO "mixed.safetensors"), "rewritten file differs from the safetensors library's");
    free(outs);
    lmt_tensor_file_free(f);

    /* Tensors built in C, written as save_file({...}) writes them. */
    float ones4[4] = {1, 1, 1, 1}, zeros3[3] = {0, 0, 0};
    int64_t ar[4] = {0, 1, 2, 3};
    uint16_t h[2] = {0x3c00, 0x3c00};
    lmt_tensor_out w[4] = {
        {"b.weight", LMT_F32, 2, {2, 2}, ones4}, {"a.bias", LMT_F32, 1, {3}, zeros3},
        {"c", LMT_I64, 1, {4}, ar}, {"h", LMT_F16, 1, {2}, h}};
    const char *pt[] = {"format", "pt", NULL};
    CHECK_OK(lmt_safetensors_write(path, w, 4, pt));
    CHECK_MSG(same_file(path, IO "writer_ref.safetensors"), "writer output differs from safetensors.torch.save_file");
    /* no temporary file is left behind */
    char cmd[300];
    snprintf(cmd, sizeof cmd, "test $(ls %s | wc -l) -eq 1", tmp);
    CHECK(system(cmd) == 0);
    /* duplicate names are refused */
    lmt_tensor_out dup[2] = {w[0], w[0]};
    CHECK(lmt_safetensors_write(path, dup, 2, pt) == LMT_ERR_ARG);
    unlink(path);
    rmdir(tmp);
    return lmt_test_finish();
}
