/* The dataset harnesses' common part: a loaded dataset's every cell is read
 * (offsets past an arena show up under ASan), then it is freed. */
#ifndef LMT_FUZZ_DS_COMMON_H
#define LMT_FUZZ_DS_COMMON_H
#include "fuzz_common.h"
#include "data/dataset.h"

static void lmt_fuzz_read_dataset(const lmt_dataset *ds) {
    volatile size_t sum = 0;
    for (size_t c = 0; c < ds->n_cols; c++) {
        const lmt_ds_column *col = ds->cols[c];
        if (col->n != ds->n_rows) abort();
        for (int64_t r = 0; r < col->n; r++) {
            size_t n = 0;
            switch (col->type) {
            case LMT_DS_STR: { const char *s = lmt_col_str(col, r, &n); if (n) sum += (unsigned char)s[n - 1]; break; }
            case LMT_DS_INT: case LMT_DS_BOOL: sum += (size_t)col->i64[r]; break;
            case LMT_DS_FLOAT: sum += col->f64[r] > 0; break;
            case LMT_DS_INTS: { const int32_t *v = lmt_col_ints(col, r, &n); if (n) sum += (size_t)v[n - 1]; break; }
            case LMT_DS_FLOATS: { const double *v = lmt_col_floats(col, r, &n); if (n) sum += v[n - 1] > 0; break; }
            case LMT_DS_STRS:
                for (size_t k = 0; k < lmt_col_list_len(col, r); k++) {
                    const char *s = lmt_col_strs_at(col, r, k, &n);
                    if (n) sum += (unsigned char)s[n - 1];
                }
                break;
            }
            sum += lmt_col_is_null(col, r);
        }
    }
}
#endif
