/* A dataset repo's data files, fetched (hub/dataset_files.h's
 * lmt_hub_dataset_download): the file list at one commit, the splits as
 * `datasets` finds them, the files into the cache. */
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "hub/dataset_files.h"
#include "hub/download.h"

lmt_status lmt_hub_dataset_download(const char *repo_id, const char *config, const lmt_hub_options *o, lmt_hub_data_files *out) {
    memset(out, 0, sizeof *out);
    lmt_hub_options opts = o ? *o : (lmt_hub_options){0};
    opts.repo_type = LMT_REPO_DATASET;
    lmt_hub_session s;
    LMT_TRY(lmt_hub_session_init(&s, repo_id, &opts));
    char *commit = NULL;
    lmt_hub_names files = {0};
    bool from_cache = false;
    lmt_status st = lmt_hub_repo_files(&s, &commit, &files, &from_cache);
    if (st == LMT_OK) st = lmt_hub_dataset_data_files((const char *const *)files.v, files.n, config, repo_id, out);
    if (st == LMT_OK && !out->supported) {
        lmt_strbuf b;
        lmt_sb_init(&b);
        for (size_t i = 0; i < out->n; i++)
            for (size_t k = 0; k < out->splits[i].files.n && b.len < 400; k++)
                lmt_sb_printf(&b, "%s%s", b.len ? ", " : "", out->splits[i].files.v[k]);
        st = lmt_fail(LMT_ERR_UNSUPPORTED, "dataset %s: its data files are %s (%s); lmtune reads json, jsonl, csv, tsv and txt files "
                      "only: convert them (e.g. with the datasets library's to_json) into such a repo or pass --train_file",
                      repo_id, out->format ? out->format : "of no known format", b.data ? b.data : "");
        lmt_sb_free(&b);
    }
    if (st == LMT_OK) {
        s.revision = commit;   /* one commit for every file */
        if (from_cache) s.offline = true;
    }
    for (size_t i = 0; st == LMT_OK && i < out->n; i++)
        for (size_t k = 0; st == LMT_OK && k < out->splits[i].files.n; k++) {
            char *path = NULL;
            st = lmt_hub_download_in(&s, out->splits[i].files.v[k], &path, NULL);
            if (st == LMT_OK) {
                free(out->splits[i].files.v[k]);
                out->splits[i].files.v[k] = path;
            }
        }
    if (st != LMT_OK) lmt_hub_data_files_free(out);
    lmt_hub_names_free(&files);
    free(commit);
    lmt_hub_session_free(&s);
    return st;
}
