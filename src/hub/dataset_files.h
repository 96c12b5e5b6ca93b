/* The data files of a dataset repo without a loading script, split by
 * name as the `datasets` library does (data_files.py's default patterns):
 *   1. data/{split}-NNNNN-of-NNNNN*.* (sharded, any split name);
 *   2. a folder named after the split, at any depth: "train", "train-2",
 *      "my_train" (the keyword alone or next to one of "-._ 0-9");
 *   3. a file named after it the same way: "train.jsonl", "data/my-train-0.csv";
 *   4. else every file is "train".
 * Keywords: train, training / validation, valid, dev, val / test, testing,
 * eval, evaluation. The first of 2-3 that finds a file for some split
 * decides. Hidden files and folders ('.' or '__' first) and README.md,
 * config.json, dataset_info(s).json, dataset_dict.json, dummy_data.zip are
 * not data; nor are files of no data format. The format is the most common
 * data extension's (json: .json/.jsonl; csv: .csv/.tsv; text: .txt; and
 * parquet, arrow, ... which lmtune cannot read), and only its files stay.
 * A config name is a folder: <config>/ is searched instead of the root.
 * Patterns are fsspec globs: '*' stays within a folder, a '**' part
 * matches any number of folders. */
#ifndef LMT_HUB_DATASET_FILES_H
#define LMT_HUB_DATASET_FILES_H
#include <stdbool.h>
#include "hub/repo_files.h"

typedef struct lmt_hub_split { char *name; lmt_hub_names files; } lmt_hub_split;
typedef struct lmt_hub_data_files {
    lmt_hub_split *splits;   /* train, validation, test first, then others by name */
    size_t n;
    const char *format;      /* "json", "csv", "text", or one lmtune cannot read ("parquet", ...) */
    bool supported;          /* format is json, csv or text */
} lmt_hub_data_files;

/* fsspec's glob match of a repo path. */
bool lmt_hub_glob_match(const char *pattern, const char *path);

/* files (the repo's paths) -> the splits; data_dir (NULL: the root) limits
 * the search to that folder. what names the repo in errors. A repo with no
 * data file is LMT_ERR_NOT_FOUND (the message names what it has, e.g. a
 * loading script). */
lmt_status lmt_hub_dataset_data_files(const char *const *files, size_t n, const char *data_dir, const char *what,
                                      lmt_hub_data_files *out);
/* The split's files, or NULL. */
const lmt_hub_names *lmt_hub_data_files_split(const lmt_hub_data_files *d, const char *name);
void lmt_hub_data_files_free(lmt_hub_data_files *d);

/* The dataset repo's data files, downloaded: the file list at the
 * revision (lmt_hub_repo_files), the splits above, every file of a
 * readable format fetched into the cache; the splits then hold the local
 * paths. An unreadable format is LMT_ERR_UNSUPPORTED naming the repo and
 * the files found. */
lmt_status lmt_hub_dataset_download(const char *repo_id, const char *config, const lmt_hub_options *o, lmt_hub_data_files *out);
#endif
