/* Model folders against the ones transformers wrote (tests of loading and
 * saving). Include after harness.h. */
#ifndef LMT_TESTS_MODEL_FILES_H
#define LMT_TESTS_MODEL_FILES_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/util.h"
#include "io/tensor_file.h"
#include "models/model.h"

/* The two files hold the same bytes. */
static inline bool files_equal(const char *a, const char *b) {
    char *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    bool ok = lmt_read_file(a, &x, &nx) == LMT_OK && lmt_read_file(b, &y, &ny) == LMT_OK && nx == ny && !memcmp(x, y, nx);
    free(x);
    free(y);
    return ok;
}

/* Parameters differing from the tensor of the same name in `ref`
 * (transformers' state dict, compared as fp32 bits); with every_key, also
 * the state-dict keys (aliases included) that are not in lmtune's layout.
 * The first three are named on stderr. */
static inline int compare_to(lmt_model *m, const lmt_tensor_file *ref, bool every_key) {
    int bad = 0;
    for (size_t i = 0; i < m->layout.n_params; i++) {
        const lmt_param_spec *p = &m->layout.params[i];
        const lmt_tensor_entry *e = lmt_tensor_file_find(ref, p->name);
        if (!e || e->dtype != LMT_F32 || e->nbytes != p->numel * 4 || memcmp(e->data, m->params + p->offset, e->nbytes))
            if (bad++ < 3) fprintf(stderr, "  %s differs from transformers' tensor\n", p->name);
    }
    if (every_key)
        for (size_t i = 0; i < ref->n; i++)
            if (lmt_layout_find(&m->layout, ref->entries[i].name) < 0)
                if (bad++ < 3) fprintf(stderr, "  %s is not in lmtune's layout\n", ref->entries[i].name);
    return bad;
}

/* Runs the shell command fmt (with two %s: a, b), which must succeed. */
static inline void run_cmd(const char *fmt, const char *a, const char *b) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    CHECK_MSG(system(cmd) == 0, "%s", cmd);
}
#endif
