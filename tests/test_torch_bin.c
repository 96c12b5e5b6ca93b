/* pytorch_model.bin reading: views, offsets, shared storages, stride-0
 * expansions and every dtype, compared bit for bit with the contiguous
 * tensors the safetensors library wrote alongside (make_io_fixtures.py). */
#include <stdlib.h>
#include "harness.h"
#include "io/tensor_file.h"

#define IO LMT_SOURCE_DIR "/tests/fixtures/io/"

/* Every tensor of `want` is in `got` with the same dtype, shape and bytes. */
static void same_tensors(const char *got_path, const char *want_path) {
    lmt_tensor_file *got = NULL, *want = NULL;
    CHECK_OK(lmt_tensor_file_open(got_path, &got));
    CHECK_OK(lmt_safetensors_open(want_path, &want));
    if (got && want) {
        CHECK_MSG(got->kind == 2, "%s: not read as a torch archive", got_path);
        CHECK_MSG(got->n == want->n, "%s: %zu tensors, expected %zu", got_path, got->n, want->n);
        for (size_t i = 0; i < want->n; i++) {
            const lmt_tensor_entry *w = &want->entries[i], *b = lmt_tensor_file_find(got, w->name);
            CHECK_MSG(b != NULL, "%s: missing %s", got_path, w->name);
            if (!b) continue;
            bool same = b->dtype == w->dtype && b->ndim == w->ndim && b->nbytes == w->nbytes;
            for (int d = 0; same && d < w->ndim; d++) same = b->shape[d] == w->shape[d];
            same = same && (w->nbytes == 0 || memcmp(b->data, w->data, w->nbytes) == 0);
            CHECK_MSG(same, "%s: tensor %s differs from torch's", got_path, w->name);
        }
    }
    lmt_tensor_file_free(got);
    lmt_tensor_file_free(want);
}

int main(void) {
    /* transposed, sliced, offset, shared-storage, 0-d, empty, expanded views */
    same_tensors(IO "views.bin", IO "views_expected.safetensors");
    /* F64 I32 I16 I8 U8 BOOL F32 F16 BF16 I64; pickle protocol 4; top folder "archive" */
    same_tensors(IO "dtypes.bin", IO "dtypes_expected.safetensors");
    /* the same archive with every size and offset in ZIP64 form */
    same_tensors(IO "zip64.bin", IO "views_expected.safetensors");

    /* tensors sharing a storage: contiguous views point into the same member */
    lmt_tensor_file *f = NULL;
    CHECK_OK(lmt_torch_bin_open(IO "views.bin", &f));
    if (f) {
        const lmt_tensor_entry *all = lmt_tensor_file_find(f, "shared_a"), *row = lmt_tensor_file_find(f, "row_slice");
        CHECK(all && row && (const char *)row->data == (const char *)all->data + 2 * 8 * 4);
        const lmt_tensor_entry *sc = lmt_tensor_file_find(f, "scalar_in_storage");
        CHECK(all && sc && sc->ndim == 0 && sc->nbytes == 4 && (const char *)sc->data == (const char *)all->data + 39 * 4);
    }
    lmt_tensor_file_free(f);

    /* a pickle that would call os.system is refused, never run */
    f = NULL;
    CHECK(lmt_torch_bin_open(IO "evil.bin", &f) == LMT_ERR_UNSUPPORTED && f == NULL);
    CHECK_MSG(strstr(lmt_last_error(), "evil.bin") && strstr(lmt_last_error(), "system") && strstr(lmt_last_error(), "not allowed"),
              "%s", lmt_last_error());
    /* a safetensors file given to the torch reader */
    CHECK(lmt_torch_bin_open(IO "mixed.safetensors", &f) == LMT_ERR_FORMAT && strstr(lmt_last_error(), "not a zip archive"));

    /* every model fixture's pytorch_model.bin equals its model.safetensors */
    const char *archs[] = {"gpt2", "bert", "roberta", "distilbert", "marian"};
    for (int a = 0; a < 5; a++) {
        char p1[512], p2[512];
        snprintf(p1, sizeof p1, "%s/tests/fixtures/models/%s/pytorch_model.bin", LMT_SOURCE_DIR, archs[a]);
        snprintf(p2, sizeof p2, "%s/tests/fixtures/models/%s/model.safetensors", LMT_SOURCE_DIR, archs[a]);
        lmt_tensor_file *x = NULL, *y = NULL;
        CHECK_OK(lmt_tensor_file_open(p1, &x));
        CHECK_OK(lmt_tensor_file_open(p2, &y));
        if (!x || !y) { lmt_tensor_file_free(x); lmt_tensor_file_free(y); continue; }
        int differ = 0;
        for (size_t i = 0; i < y->n; i++) {
            const lmt_tensor_entry *e = lmt_tensor_file_find(x, y->entries[i].name);
            if (!e || e->nbytes != y->entries[i].nbytes || memcmp(e->data, y->entries[i].data, e->nbytes)) differ++;
        }
        CHECK_MSG(differ == 0, "%s: %d tensors differ between pytorch_model.bin and model.safetensors", archs[a], differ);
        lmt_tensor_file_free(x);
        lmt_tensor_file_free(y);
    }
    return lmt_test_finish();
}
