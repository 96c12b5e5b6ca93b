/* Text files, one example per line, as the HF `text` builder (StringIO
 * readlines over universal newlines) and the HF `wikitext` script read them. */
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "data/dataset.h"
#include "data/text_util.h"

lmt_status lmt_ds_load_text(const char *path, lmt_text_mode mode, lmt_dataset *out) {
    lmt_ds_init(out);
    char *d;
    size_t len;
    LMT_TRY(lmt_read_file(path, &d, &len));
    lmt_status s = lmt_data_check_utf8(path, d, len, 1);
    if (s != LMT_OK) { free(d); return s; }
    if (len == 0) { free(d); return lmt_fail(LMT_ERR_FORMAT, "%s: the file is empty (no examples)", path); }
    lmt_ds_column *c = lmt_col_new("text", LMT_DS_STR);
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_line_iter it;
    lmt_line_iter_init(&it, d, len);
    const char *line;
    size_t n;
    bool nl;
    while (c && !c->oom && lmt_line_next(&it, &line, &n, &nl)) {
        if (mode == LMT_TEXT_STRIP_LINEBREAKS) { lmt_col_push_str(c, line, n); continue; }
        if (mode == LMT_TEXT_WIKITEXT) {
            size_t sb, se;
            lmt_data_py_strip(line, n, &sb, &se);
            if (se == sb) { lmt_col_push_str(c, "", 0); continue; }
        }
        b.len = 0;
        lmt_sb_append(&b, line, n);
        if (nl) lmt_sb_putc(&b, '\n');
        if (b.oom) { c->oom = true; break; }
        lmt_col_push_str(c, b.data, b.len);
    }
    lmt_sb_free(&b);
    free(d);
    s = lmt_ds_add_column(out, c);
    if (s != LMT_OK) return lmt_fail_wrap(s, "%s", path);
    return LMT_OK;
}
