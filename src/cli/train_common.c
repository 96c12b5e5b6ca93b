#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/train_common.h"
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"

int lmt_cli_fail(const char *what) {
    fprintf(stderr, "lmtune: error: %s%s%s\n", what ? what : "", what ? ": " : "", lmt_last_error());
    return 1;
}

void lmt_cli_print_log(void *user, const char *json) {
    (void)user;
    printf("%s\n", json);
    fflush(stdout);
}

void lmt_cli_print_progress(void *user, int64_t step, int64_t max_steps, double epoch, double loss, double tps,
                            double left) {
    (void)user;
    if (!isatty(STDERR_FILENO)) return;
    fprintf(stderr, "\r  step %lld/%lld  epoch %.2f  loss %.4f  %.0f tokens/s  %02d:%02d left   ", (long long)step,
            (long long)max_steps, epoch, loss, tps, (int)(left / 60), (int)fmod(left, 60));
    if (step == max_steps) fputc('\n', stderr);
}

bool lmt_cli_dir_has_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return false;
    struct dirent *e;
    bool any = false;
    while (!any && (e = readdir(d))) any = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return any;
}

static lmt_status write_json(const char *dir, const char *name, const lmt_json *o) {
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_json_write_py(&b, o, 4, true);
    lmt_sb_putc(&b, '\n');
    char *p = lmt_path_join(dir, name);
    lmt_status s = p && !b.oom ? lmt_write_file_atomic(p, b.data, b.len) : lmt_fail(LMT_ERR_NOMEM, "out of memory");
    free(p);
    lmt_sb_free(&b);
    return s;
}

lmt_status lmt_cli_write_results(const char *dir, const char *name, const char *const *keys, const double *vals,
                                 size_t n) {
    lmt_json *o = lmt_json_new(LMT_JSON_OBJECT);
    if (!o) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) lmt_json_object_set(o, keys[i], lmt_json_new_num(vals[i]));
    lmt_status s = write_json(dir, name, o);
    lmt_json_free(o);
    if (s != LMT_OK) return s;
    /* save_metrics(combined=True): all_results.json collects every split's metrics */
    char *all_path = lmt_path_join(dir, "all_results.json");
    if (!all_path) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_json *all = NULL;
    if (lmt_file_exists(all_path) && lmt_json_parse_file(all_path, &all) == LMT_OK && all->type != LMT_JSON_OBJECT) {
        lmt_json_free(all);
        all = NULL;
    }
    free(all_path);
    if (!all && !(all = lmt_json_new(LMT_JSON_OBJECT))) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) lmt_json_object_set(all, keys[i], lmt_json_new_num(vals[i]));
    s = write_json(dir, "all_results.json", all);
    lmt_json_free(all);
    return s;
}
