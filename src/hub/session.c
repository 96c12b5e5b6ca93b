/* Hub options and environment (hub/session.h), read as huggingface_hub
 * reads them (constants.py: HF_ENDPOINT, HF_TOKEN, HF_TOKEN_PATH,
 * HF_HUB_OFFLINE, the timeouts), and the Hub's errors as it reports them
 * (utils/_http.py hf_raise_for_status). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "hub/cache.h"
#include "hub/session.h"

bool lmt_hub_valid_repo_id(const char *name) {
    /* huggingface_hub's validate_repo_id: [\w\-.]+ with at most one "/", no "--" or "..", no edge "-" or "." */
    if (!name || !*name || strlen(name) > 96) return false;
    int slashes = 0;
    for (const char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '/') {
            if (++slashes > 1 || p == name || !p[1]) return false;
        } else if (!(isalnum(c) || c == '_' || c == '-' || c == '.')) return false;
    }
    if (strstr(name, "--") || strstr(name, "..")) return false;
    size_t n = strlen(name);
    if (name[0] == '-' || name[0] == '.' || name[n - 1] == '-' || name[n - 1] == '.') return false;
    return true;
}

const char *lmt_hub_type_name(lmt_repo_type t) { return t == LMT_REPO_DATASET ? "dataset" : "model"; }

static double env_seconds(const char *name, double dflt) {
    const char *v = getenv(name);
    if (!v || !*v) return dflt;
    char *end = NULL;
    double x = strtod(v, &end);
    return end != v && *end == '\0' && x > 0 ? x : dflt;
}

/* HF_TOKEN, else the token file (HF_TOKEN_PATH, default HF_HOME/token) */
static char *find_token(void) {
    const char *v = getenv("HF_TOKEN");
    if (v && *v) return lmt_strdup(v);
    const char *path_env = getenv("HF_TOKEN_PATH");
    char *home = NULL, *path = NULL;
    if (path_env && *path_env) path = lmt_strdup(path_env);
    else {
        home = lmt_hub_home();
        path = home ? lmt_path_join(home, "token") : NULL;
    }
    char *data = NULL;
    size_t len = 0;
    if (path && lmt_file_exists(path) && lmt_read_file(path, &data, &len) == LMT_OK) {
        while (len && isspace((unsigned char)data[len - 1])) data[--len] = '\0';
        size_t lead = 0;
        while (lead < len && isspace((unsigned char)data[lead])) lead++;
        if (lead) memmove(data, data + lead, len - lead + 1);
        if (!*data) { free(data); data = NULL; }
    }
    lmt_clear_error();
    free(home);
    free(path);
    return data;
}

lmt_status lmt_hub_session_init(lmt_hub_session *s, const char *repo_id, const lmt_hub_options *o) {
    static const lmt_hub_options none;
    memset(s, 0, sizeof *s);
    s->o = o ? o : &none;
    if (!lmt_hub_valid_repo_id(repo_id))
        return lmt_fail(LMT_ERR_ARG, "'%s' is not a valid Hub repo id (NAME or ORG/NAME: letters, digits, '-', '_', '.')",
                        repo_id ? repo_id : "(null)");
    s->repo_id = repo_id;
    s->type = s->o->repo_type;
    s->revision = s->o->revision && *s->o->revision ? s->o->revision : "main";
    const char *ep = s->o->endpoint && *s->o->endpoint ? s->o->endpoint : getenv("HF_ENDPOINT");
    s->endpoint = lmt_strdup(ep && *ep ? ep : "https://huggingface.co");
    if (s->endpoint) {
        size_t n = strlen(s->endpoint);
        while (n && s->endpoint[n - 1] == '/') s->endpoint[--n] = '\0';
    }
    s->cache = lmt_hub_cache_dir(s->o);
    s->repo_folder = lmt_hub_repo_folder(repo_id, s->type);
    s->storage = s->cache && s->repo_folder ? lmt_path_join(s->cache, s->repo_folder) : NULL;
    s->token = s->o->token ? (*s->o->token ? lmt_strdup(s->o->token) : NULL) : find_token();
    s->offline = s->o->local_files_only || lmt_hub_env_true("HF_HUB_OFFLINE") || lmt_hub_env_true("TRANSFORMERS_OFFLINE");
    s->etag_timeout = env_seconds("HF_HUB_ETAG_TIMEOUT", 10);
    s->download_timeout = env_seconds("HF_HUB_DOWNLOAD_TIMEOUT", 10);
    if (!s->endpoint || !s->cache || !s->storage) {
        lmt_hub_session_free(s);
        return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    }
    return LMT_OK;
}

void lmt_hub_session_free(lmt_hub_session *s) {
    free(s->endpoint);
    free(s->cache);
    free(s->storage);
    free(s->repo_folder);
    free(s->token);
    memset(s, 0, sizeof *s);
}

char *lmt_hub_resolve_url(const lmt_hub_session *s, const char *revision, const char *file) {
    char *rev = lmt_http_escape(revision, false), *f = lmt_http_escape(file, true);
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_printf(&b, "%s%s/%s/resolve/%s/%s", s->endpoint, s->type == LMT_REPO_DATASET ? "/datasets" : "", s->repo_id,
                  rev ? rev : "", f ? f : "");
    free(rev);
    free(f);
    return lmt_sb_take(&b);
}

char *lmt_hub_api_url(const lmt_hub_session *s, const char *suffix) {
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_sb_printf(&b, "%s/api/%ss/%s%s", s->endpoint, lmt_hub_type_name(s->type), s->repo_id, suffix ? suffix : "");
    return lmt_sb_take(&b);
}

lmt_status lmt_hub_http_error(const lmt_hub_session *s, const lmt_http_response *rs, const char *file) {
    const char *code = rs->error_code ? rs->error_code : "";
    const char *msg = rs->error_message ? rs->error_message : "";
    const char *kind = lmt_hub_type_name(s->type);
    char what[1024];
    if (file) snprintf(what, sizeof what, "%s (%s %s, revision %s)", file, kind, s->repo_id, s->revision);
    else snprintf(what, sizeof what, "%s %s (revision %s)", kind, s->repo_id, s->revision);
    if (!strcmp(code, "GatedRepo"))
        return lmt_fail(LMT_ERR_ACCESS, "%s: the repo is gated (HTTP %ld%s%s): accept its conditions on the Hub and give a token "
                        "of that account (--token, HF_TOKEN or `hf auth login`)", what, rs->status, *msg ? ": " : "", msg);
    if (!strcmp(code, "RepoNotFound") || (rs->status == 401 && !*code))
        return lmt_fail(LMT_ERR_NOT_FOUND, "%s: repository not found (HTTP %ld): check the repo id%s; a private repo needs a token "
                        "(--token, HF_TOKEN or `hf auth login`)%s", what, rs->status,
                        s->type == LMT_REPO_MODEL ? " (a dataset needs the dataset repo type)" : "",
                        s->token ? " - the token given may lack access" : "");
    if (!strcmp(code, "RevisionNotFound"))
        return lmt_fail(LMT_ERR_NOT_FOUND, "%s: revision '%s' not found (no such branch, tag or commit)", what, s->revision);
    if (!strcmp(code, "EntryNotFound") || rs->status == 404)
        return lmt_fail(LMT_ERR_NOT_FOUND, "%s: no such file in the repo (HTTP %ld%s%s)", what, rs->status, *msg ? ": " : "", msg);
    if (rs->status == 401 || rs->status == 403)
        return lmt_fail(LMT_ERR_ACCESS, "%s: access refused (HTTP %ld%s%s): the token is missing, invalid or lacks access", what,
                        rs->status, *msg ? ": " : "", msg);
    if (rs->status >= 500)
        return lmt_fail(LMT_ERR_NETWORK, "%s: the Hub failed (HTTP %ld%s%s)", what, rs->status, *msg ? ": " : "", msg);
    return lmt_fail(LMT_ERR_NETWORK, "%s: unexpected answer from the Hub (HTTP %ld%s%s)", what, rs->status, *msg ? ": " : "", msg);
}
