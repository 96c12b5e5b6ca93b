/* pytorch_model.bin reading: views, offsets, shared storages and dtypes,
 * compared bit for bit with the contiguous tensors torch wrote alongside. */
#include <stdlib.h>
#include "harness.h"
#include "io/tensor_file.h"

#define IO LMT_SOURCE_DIR "/tests/fixtures/io/"

int main(void) {
    lmt_tensor_file *bin = NULL, *want = NULL;
    CHECK_OK(lmt_torch_bin_open(IO "views.bin", &bin));
    CHECK_OK(lmt_safetensors_open(IO "views_expected.safetensors", &want));
    if (!bin || !want) return lmt_test_finish();
    CHECK_MSG(bin->n == want->n, "%zu tensors, expected %zu", bin->n, want->n);
    for (size_t i = 0; i < want->n; i++) {
        const lmt_tensor_entry *w = &want->entries[i], *b = lmt_tensor_file_find(bin, w->name);
        CHECK_MSG(b != NULL, "missing %s", w->name);
        if (!b) continue;
        bool same = b->dtype == w->dtype && b->ndim == w->ndim && b->nbytes == w->nbytes;
        for (int d = 0; same && d < w->ndim; d++) same = b->shape[d] == w->shape[d];
        same = same && (w->nbytes == 0 || memcmp(b->data, w->data, w->nbytes) == 0);
        CHECK_MSG(same, "tensor %s differs from torch's", w->name);
    }
    lmt_tensor_file_free(bin);
    lmt_tensor_file_free(want);

    /* dispatch by content */
    lmt_tensor_file *f = NULL;
    CHECK_OK(lmt_tensor_file_open(IO "views.bin", &f));
    lmt_tensor_file_free(f);

    /* a pickle that would call os.system is refused, never run */
    CHECK(lmt_torch_bin_open(IO "evil.bin", &f) == LMT_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(lmt_last_error(), "evil.bin") && strstr(lmt_last_error(), "system") && strstr(lmt_last_error(), "not allowed"),
              "%s", lmt_last_error());

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
