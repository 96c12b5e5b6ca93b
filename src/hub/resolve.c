/* from_pretrained's resolution of a name (lmtune/hub.h): a local folder as
 * it is, else a repo id whose files are fetched into the cache. The files
 * are those transformers reads for our model and tokenizer classes; the
 * first one (config.json) pins the commit, as transformers pins
 * _commit_hash, so a branch that moves mid-way cannot mix two commits. */
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "hub/cache.h"
#include "hub/download.h"
#include "hub/session.h"

static const char *const optional_files[] = {
    "generation_config.json",
    /* tokenizers: every class's vocab_files_names, and the shared configs */
    "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "tokenizer.json", "vocab.json", "merges.txt",
    "vocab.txt", "source.spm", "target.spm", "spiece.model", "sentencepiece.bpe.model", "tokenizer.model",
    "chat_template.jinja", NULL};

/* file, when the repo has it; a file it lacks is no error */
static lmt_status fetch_optional(lmt_hub_session *s, const char *file) {
    char *path = NULL;
    lmt_status st = lmt_hub_download_in(s, file, &path, NULL);
    free(path);
    if (st == LMT_ERR_NOT_FOUND) { lmt_clear_error(); return LMT_OK; }
    return st;
}

/* model.safetensors.index.json's shards (weight_map's distinct values) */
static lmt_status fetch_shards(lmt_hub_session *s, const char *index_path) {
    lmt_json *idx = NULL;
    LMT_TRY(lmt_json_parse_file(index_path, &idx));
    const lmt_json *map = lmt_json_get(idx, "weight_map");
    lmt_status st = LMT_OK;
    if (!map || map->type != LMT_JSON_OBJECT || map->len == 0)
        st = lmt_fail(LMT_ERR_FORMAT, "%s: no \"weight_map\" object naming the shards", index_path);
    for (size_t i = 0; st == LMT_OK && i < map->len; i++) {
        const lmt_json *v = &map->items[i];
        if (v->type != LMT_JSON_STRING) {
            st = lmt_fail(LMT_ERR_FORMAT, "%s: weight_map[\"%s\"] is not a file name", index_path, map->keys[i]);
            break;
        }
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++) seen = !strcmp(map->items[k].str, v->str);
        if (seen) continue;
        char *path = NULL;
        st = lmt_hub_download_in(s, v->str, &path, NULL);
        free(path);
    }
    lmt_json_free(idx);
    return st;
}

static lmt_status fetch_weights(lmt_hub_session *s) {
    static const char *const singles[] = {"model.safetensors", "pytorch_model.bin"};
    char *path = NULL;
    lmt_status st = lmt_hub_download_in(s, singles[0], &path, NULL);
    if (st == LMT_ERR_NOT_FOUND) {
        lmt_clear_error();
        st = lmt_hub_download_in(s, "model.safetensors.index.json", &path, NULL);
        if (st == LMT_OK) st = fetch_shards(s, path);
        else if (st == LMT_ERR_NOT_FOUND) {
            lmt_clear_error();
            st = lmt_hub_download_in(s, singles[1], &path, NULL);
            if (st == LMT_ERR_NOT_FOUND)
                st = lmt_fail(LMT_ERR_NOT_FOUND, "%s (revision %s) has no model.safetensors, model.safetensors.index.json or "
                              "pytorch_model.bin%s", s->repo_id, s->revision,
                              s->offline ? " in the cache (offline: only cached files can be used)" : "");
        }
    }
    free(path);
    return st;
}

static bool looks_like_path(const char *name) {
    return name[0] == '/' || name[0] == '.' || name[0] == '~' || strchr(strchr(name, '/') ? strchr(name, '/') + 1 : "", '/');
}

/* weights: the model's files too; else AutoTokenizer's (config.json is optional then) */
static lmt_status resolve(const char *name, const lmt_hub_options *o, bool weights, char **folder, bool *from_hub) {
    if (folder) *folder = NULL;
    if (from_hub) *from_hub = false;
    if (!name || !*name || !folder) return lmt_fail(LMT_ERR_ARG, "lmt_hub_resolve_model: no name");
    if (lmt_is_dir(name)) {
        *folder = lmt_strdup(name);
        return *folder ? LMT_OK : lmt_fail(LMT_ERR_NOMEM, "out of memory");
    }
    if (lmt_file_exists(name))
        return lmt_fail(LMT_ERR_ARG, "%s: a file, not a model folder (give the folder that holds config.json, or a Hub repo id)", name);
    if (looks_like_path(name) || !lmt_hub_valid_repo_id(name))
        return lmt_fail(LMT_ERR_NOT_FOUND, "%s: not a directory (expected an HF model folder, or a Hub repo id: NAME or ORG/NAME)",
                        name);
    lmt_hub_session s;
    LMT_TRY(lmt_hub_session_init(&s, name, o));
    char *config = NULL;
    bool cached_only = false;
    const char *first = weights ? "config.json" : "tokenizer_config.json";
    lmt_status st = lmt_hub_download_in(&s, first, &config, &cached_only);
    if (st == LMT_ERR_NOT_FOUND && !weights && strstr(lmt_last_error(), "no such file")) {   /* older repos: vocab files only */
        lmt_clear_error();
        st = lmt_hub_download_in(&s, "config.json", &config, &cached_only);
    }
    char *slash = config ? strrchr(config, '/') : NULL;
    const char *snapshot = NULL;
    if (st == LMT_OK) {
        *slash = '\0';
        snapshot = strrchr(config, '/') ? strrchr(config, '/') + 1 : config;   /* snapshots/<commit> */
        if (cached_only) {
            lmt_warn("the Hub could not be reached; %s is read from the cache (%s, commit %s)", name, s.cache, snapshot);
            s.offline = true;
        }
        s.revision = snapshot;   /* every other file from the same commit */
        st = weights ? fetch_weights(&s) : fetch_optional(&s, "config.json");
    }
    for (size_t i = 0; st == LMT_OK && optional_files[i]; i++) st = fetch_optional(&s, optional_files[i]);
    if (st == LMT_OK) {
        *folder = config;
        config = NULL;
        if (from_hub) *from_hub = true;
    }
    free(config);
    lmt_hub_session_free(&s);
    return st;
}

lmt_status lmt_hub_resolve_model(const char *name, const lmt_hub_options *o, char **folder, bool *from_hub) {
    return resolve(name, o, true, folder, from_hub);
}

lmt_status lmt_hub_resolve_tokenizer(const char *name, const lmt_hub_options *o, char **folder, bool *from_hub) {
    return resolve(name, o, false, folder, from_hub);
}
