/* Loading and saving HF model folders (config.json, generation_config.json,
 * model.safetensors or pytorch_model.bin), following from_pretrained /
 * save_pretrained: prefix handling for bare-model checkpoints, tied weights,
 * fresh heads with a warning, unused keys reported. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "io/tensor_file.h"
#include "models/model.h"

static lmt_status push_name(char ***list, size_t *n, const char *name) {
    char **nl = realloc(*list, (*n + 1) * sizeof *nl);
    if (!nl) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    *list = nl;
    nl[*n] = lmt_strdup(name);
    if (!nl[*n]) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    (*n)++;
    return LMT_OK;
}

static void shape_str(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && n < cap; d++) n += (size_t)snprintf(buf + n, cap - n, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
}

/* Resolves a checkpoint key to a parameter index, the way transformers maps
 * old and bare-model names: LayerNorm gamma/beta, missing base prefix. */
static long resolve_key(const lmt_layout *l, const char *key, bool *added_prefix) {
    long i = lmt_layout_find(l, key);
    if (i >= 0) return i;
    char buf[300];
    const char *k = key;
    size_t kl = strlen(key);
    if (kl > 6 && !strcmp(key + kl - 6, ".gamma")) { snprintf(buf, sizeof buf, "%.*s.weight", (int)(kl - 6), key); k = buf; }
    else if (kl > 5 && !strcmp(key + kl - 5, ".beta")) { snprintf(buf, sizeof buf, "%.*s.bias", (int)(kl - 5), key); k = buf; }
    if (k != key && (i = lmt_layout_find(l, k)) >= 0) return i;
    size_t pl = strlen(l->base_prefix);
    if (strncmp(k, l->base_prefix, pl) != 0) {
        char full[300];
        snprintf(full, sizeof full, "%s%s", l->base_prefix, k);
        i = lmt_layout_find(l, full);
        if (i >= 0) { *added_prefix = true; return i; }
    }
    return -1;
}

/* One checkpoint file's tensors into m; got[i]: 0 = not loaded, 1 = via an
 * alias, 2 = by its own name (across the shards of a sharded checkpoint). */
static lmt_status load_file(lmt_model *m, const char *path, unsigned char *got) {
    lmt_tensor_file *f;
    LMT_TRY(lmt_tensor_file_open(path, &f));
    lmt_layout *l = &m->layout;
    lmt_status s = LMT_OK;
    for (size_t e = 0; e < f->n && s == LMT_OK; e++) {
        const lmt_tensor_entry *t = &f->entries[e];
        bool prefixed = false;
        long i = resolve_key(l, t->name, &prefixed);
        if (i < 0) {
            if (!lmt_layout_is_ignored_key(l, t->name)) s = push_name(&m->report.unused, &m->report.n_unused, t->name);
            continue;
        }
        const lmt_param_spec *p = &l->params[i];
        bool is_alias = strcmp(p->name, t->name) != 0 && !prefixed;
        if (got[i] == 2 && is_alias) continue;  /* the canonical tensor wins */
        size_t numel = 1;
        for (int d = 0; d < t->ndim; d++) numel *= (size_t)t->shape[d];
        bool same = t->ndim == p->ndim;
        for (int d = 0; same && d < p->ndim; d++) same = t->shape[d] == p->shape[d];
        if (!same) {
            char a[128], b[128];
            shape_str(a, sizeof a, t->ndim, t->shape);
            shape_str(b, sizeof b, p->ndim, p->shape);
            s = lmt_fail(LMT_ERR_FORMAT, "%s: tensor \"%s\" has shape %s but %s implies %s", path, t->name, a, m->cfg.source, b);
            break;
        }
        if (numel != p->numel) { s = lmt_fail(LMT_ERR_INTERNAL, "%s: size mismatch for %s", path, t->name); break; }
        s = lmt_convert_to_f32(t->dtype, t->data, numel, m->params + p->offset);
        if (s != LMT_OK) { s = lmt_fail_wrap(s, "%s: tensor \"%s\"", path, t->name); break; }
        m->report.src_dtype[i] = t->dtype;
        got[i] = is_alias ? 1 : 2;
        if (prefixed) m->report.added_prefix = true;
    }
    lmt_tensor_file_free(f);
    return s;
}

/* paths[0..n): one checkpoint file, or the shards of one; path names it in messages */
static lmt_status load_weights(lmt_model *m, const char *path, char *const *paths, size_t n) {
    lmt_layout *l = &m->layout;
    unsigned char *got = calloc(l->n_params ? l->n_params : 1, 1);
    if (!got) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    lmt_status s = LMT_OK;
    for (size_t k = 0; k < n && s == LMT_OK; k++) s = load_file(m, paths[k], got);
    for (size_t i = 0; i < l->n_params && s == LMT_OK; i++) {
        const lmt_param_spec *p = &l->params[i];
        if (got[i]) continue;
        m->report.src_dtype[i] = LMT_F32;
        if (p->flags & LMT_PARAM_STATIC) continue;   /* computed, same values either way */
        s = push_name(&m->report.missing, &m->report.n_missing, p->name);
    }
    free(got);
    if (s != LMT_OK) return s;
    m->report.weights_file = lmt_strdup(path);
    if (m->report.n_missing) {
        bool head_only = true;
        for (size_t k = 0; k < m->report.n_missing; k++) {
            long i = lmt_layout_find(l, m->report.missing[k]);
            if (i >= 0 && !(l->params[i].flags & (LMT_PARAM_HEAD | LMT_PARAM_BUFFER))) head_only = false;
        }
        lmt_warn("%s: %zu weight(s) of %s were not in the checkpoint and are newly initialized%s (first: %s)", path,
                 m->report.n_missing, lmt_arch_class_name(m->cfg.arch),
                 head_only ? " (the task head): train the model before using it for predictions" : "",
                 m->report.missing[0]);
    }
    if (m->report.n_unused)
        lmt_note("%s: %zu weight(s) in the checkpoint are not used by %s (first: %s)", path, m->report.n_unused,
                 lmt_arch_class_name(m->cfg.arch), m->report.unused[0]);
    return LMT_OK;
}

/* model.safetensors.index.json: its weight_map names the shards (each once) */
static lmt_status load_sharded(lmt_model *m, const char *dir, const char *idx_path) {
    lmt_json *idx = NULL;
    LMT_TRY(lmt_json_parse_file(idx_path, &idx));
    const lmt_json *map = lmt_json_get(idx, "weight_map");
    char **paths = NULL;
    size_t n = 0;
    lmt_status s = LMT_OK;
    if (!map || map->type != LMT_JSON_OBJECT || map->len == 0)
        s = lmt_fail(LMT_ERR_FORMAT, "%s: no \"weight_map\" object naming the shards", idx_path);
    else if (!(paths = calloc(map->len, sizeof *paths))) s = lmt_fail(LMT_ERR_NOMEM, "out of memory");
    for (size_t i = 0; s == LMT_OK && i < map->len; i++) {
        const lmt_json *v = &map->items[i];
        if (v->type != LMT_JSON_STRING || !v->len || strchr(v->str, '/')) {
            s = lmt_fail(LMT_ERR_FORMAT, "%s: weight_map[\"%s\"] is not a file name in the folder", idx_path, map->keys[i]);
            break;
        }
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++) seen = !strcmp(map->items[k].str, v->str);
        if (seen) continue;
        paths[n] = lmt_path_join(dir, v->str);
        if (!paths[n]) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory"); break; }
        if (!lmt_file_exists(paths[n++])) s = lmt_fail(LMT_ERR_NOT_FOUND, "%s: shard %s is missing", idx_path, v->str);
    }
    if (s == LMT_OK) s = load_weights(m, idx_path, paths, n);
    for (size_t k = 0; k < n; k++) free(paths[k]);
    free(paths);
    lmt_json_free(idx);
    return s;
}

lmt_status lmt_model_load(const char *dir, lmt_model **out) {
    *out = NULL;
    if (!lmt_is_dir(dir)) return lmt_fail(LMT_ERR_NOT_FOUND, "%s: not a directory (expected an HF model folder)", dir);
    char *cfg_path = lmt_path_join(dir, "config.json");
    char *gen_path = lmt_path_join(dir, "generation_config.json");
    char *st_path = lmt_path_join(dir, "model.safetensors");
    char *bin_path = lmt_path_join(dir, "pytorch_model.bin");
    lmt_status s = LMT_OK;
    lmt_model *m = NULL;
    lmt_json *gen = NULL;
    if (!cfg_path || !gen_path || !st_path || !bin_path) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory"); goto done; }
    if (!lmt_file_exists(cfg_path)) { s = lmt_fail(LMT_ERR_NOT_FOUND, "%s: missing (every model folder needs a config.json)", cfg_path); goto done; }
    lmt_config cfg;
    if ((s = lmt_config_load(cfg_path, &cfg)) != LMT_OK) goto done;
    if (lmt_file_exists(gen_path)) {
        if ((s = lmt_json_parse_file(gen_path, &gen)) != LMT_OK) { lmt_config_free(&cfg); goto done; }
        if (gen->type != LMT_JSON_OBJECT) { s = lmt_fail(LMT_ERR_FORMAT, "%s: must hold a JSON object", gen_path); lmt_config_free(&cfg); goto done; }
    }
    if ((s = lmt_model_init(&cfg, 42, &m)) != LMT_OK) { lmt_config_free(&cfg); goto done; }
    m->generation_config = gen;
    gen = NULL;
    m->dir = lmt_strdup(dir);
    char *idx = lmt_path_join(dir, "model.safetensors.index.json");
    if (lmt_file_exists(st_path)) s = load_weights(m, st_path, &st_path, 1);
    else if (idx && lmt_file_exists(idx)) s = load_sharded(m, dir, idx);
    else if (lmt_file_exists(bin_path)) s = load_weights(m, bin_path, &bin_path, 1);
    else s = lmt_fail(LMT_ERR_NOT_FOUND, "%s: no model.safetensors, model.safetensors.index.json or pytorch_model.bin", dir);
    free(idx);
done:
    if (s != LMT_OK) { lmt_model_free(m); m = NULL; }
    lmt_json_free(gen);
    free(cfg_path); free(gen_path); free(st_path); free(bin_path);
    *out = m;
    return s;
}

/* config.json as save_pretrained leaves it: the config we read, with the
 * class we are and model_type made explicit. */
static char *config_json(const lmt_model *m) {
    lmt_json *j = lmt_json_clone(m->cfg.raw);
    if (!j) return NULL;
    lmt_json *archs = lmt_json_new(LMT_JSON_ARRAY);
    if (!archs || lmt_json_array_push(archs, lmt_json_new_string(lmt_arch_class_name(m->cfg.arch))) != LMT_OK ||
        lmt_json_object_set(j, "architectures", archs) != LMT_OK ||
        lmt_json_object_set(j, "model_type", lmt_json_new_string(lmt_arch_name(m->cfg.arch))) != LMT_OK) {
        lmt_json_free(j);
        return NULL;
    }
    lmt_config tmp = m->cfg;
    tmp.raw = j;
    char *text = lmt_config_to_json(&tmp);
    lmt_json_free(j);
    return text;
}

lmt_status lmt_model_save(const lmt_model *m, const char *dir) {
    LMT_TRY(lmt_mkdirs(dir));
    lmt_status s = LMT_OK;
    char *path = NULL, *text = NULL;
    lmt_tensor_out *outs = NULL;

    if (!(text = config_json(m))) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory writing config.json"); goto done; }
    if (!(path = lmt_path_join(dir, "config.json"))) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory"); goto done; }
    if ((s = lmt_write_file_atomic(path, text, strlen(text))) != LMT_OK) goto done;
    free(path); path = NULL;
    free(text); text = NULL;

    lmt_json *gen = m->generation_config, *made = NULL;
    if (!gen && m->cfg.arch == LMT_ARCH_GPT2) {
        /* GenerationConfig.from_model_config, as save_pretrained writes it for a GPT-2 */
        const lmt_json *tv = lmt_json_get(m->cfg.raw, "transformers_version");
        made = lmt_json_new(LMT_JSON_OBJECT);
        if (made) {
            lmt_json_object_set(made, "_from_model_config", lmt_json_new_bool(true));
            if (m->cfg.bos_token_id >= 0) lmt_json_object_set(made, "bos_token_id", lmt_json_new_int(m->cfg.bos_token_id));
            if (m->cfg.eos_token_id >= 0) lmt_json_object_set(made, "eos_token_id", lmt_json_new_int(m->cfg.eos_token_id));
            lmt_json_object_set(made, "transformers_version", lmt_json_new_string(tv && tv->type == LMT_JSON_STRING ? tv->str : "5.23.0"));
            lmt_json_object_set(made, "use_cache", lmt_json_new_bool(true));
        }
        gen = made;
    }
    if (gen) {
        lmt_config tmp = m->cfg;
        tmp.raw = gen;
        text = lmt_config_to_json(&tmp);
        lmt_json_free(made);
        if (!text || !(path = lmt_path_join(dir, "generation_config.json"))) {
            s = lmt_fail(LMT_ERR_NOMEM, "out of memory"); goto done;
        }
        if ((s = lmt_write_file_atomic(path, text, strlen(text))) != LMT_OK) goto done;
        free(path); path = NULL;
        free(text); text = NULL;
    }

    const lmt_layout *l = &m->layout;
    outs = calloc(l->n_params ? l->n_params : 1, sizeof *outs);
    if (!outs) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory"); goto done; }
    size_t n = 0;
    for (size_t i = 0; i < l->n_params; i++) {
        const lmt_param_spec *p = &l->params[i];
        if (p->flags & LMT_PARAM_STATIC) continue;  /* transformers 5 does not persist computed positions */
        outs[n].name = p->name;
        outs[n].dtype = LMT_F32;
        outs[n].ndim = p->ndim;
        for (int d = 0; d < p->ndim; d++) outs[n].shape[d] = p->shape[d];
        outs[n].data = m->params + p->offset;
        n++;
    }
    static const char *const meta[] = {"format", "pt", NULL};
    if (!(path = lmt_path_join(dir, "model.safetensors"))) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory"); goto done; }
    s = lmt_safetensors_write(path, outs, n, meta);
done:
    free(outs);
    free(path);
    free(text);
    return s;
}
