/* Loading and saving HF model folders (config.json, generation_config.json,
 * model.safetensors or pytorch_model.bin), following from_pretrained /
 * save_pretrained: prefix handling for bare-model checkpoints, tied weights,
 * fresh heads with a warning, unused keys reported. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
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
    /* every tensor the index names is in the shard it names */
    for (size_t k = 0; k < n && s == LMT_OK; k++) {
        lmt_tensor_file *f = NULL;
        if ((s = lmt_tensor_file_open(paths[k], &f)) != LMT_OK) break;
        const char *base = strrchr(paths[k], '/') ? strrchr(paths[k], '/') + 1 : paths[k];
        for (size_t i = 0; i < map->len && s == LMT_OK; i++)
            if (!strcmp(map->items[i].str, base) && !lmt_tensor_file_find(f, map->keys[i]))
                s = lmt_fail(LMT_ERR_FORMAT, "%s: weight_map names tensor \"%s\" in %s, which does not hold it", idx_path, map->keys[i], base);
        lmt_tensor_file_free(f);
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
static const char *dtype_torch_name(lmt_dtype t);
static lmt_dtype save_dtype(const lmt_model *m);
static lmt_status save_weights(const lmt_model *m, const char *dir);

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
    const char *dt = dtype_torch_name(save_dtype(m));
    /* save_pretrained stamps the writing version over the one read */
    if (lmt_json_object_set(j, "transformers_version", lmt_json_new_string(LMT_TRANSFORMERS_VERSION)) != LMT_OK ||
        lmt_json_object_set(j, "dtype", lmt_json_new_string(dt)) != LMT_OK ||
        (lmt_json_get(j, "torch_dtype") && lmt_json_object_set(j, "torch_dtype", lmt_json_new_string(dt)) != LMT_OK)) {
        lmt_json_free(j);
        return NULL;
    }
    lmt_config tmp = m->cfg;
    tmp.raw = j;
    char *text = lmt_config_to_json(&tmp);
    lmt_json_free(j);
    return text;
}

/* ---- the weights' dtype and shards on save ---- */

static const char *dtype_torch_name(lmt_dtype t) {
    return t == LMT_BF16 ? "bfloat16" : t == LMT_F16 ? "float16" : "float32";
}

static int dtype_from_torch_name(const char *s) {
    if (!strcmp(s, "float32")) return LMT_F32;
    if (!strcmp(s, "bfloat16")) return LMT_BF16;
    if (!strcmp(s, "float16")) return LMT_F16;
    return -1;
}

/* The dtype the weights are written in: as asked, else the checkpoint's
 * (transformers 5 loads with dtype="auto" and saves the model's dtype). */
static lmt_dtype save_dtype(const lmt_model *m) {
    if (m->save_dtype >= 0) return (lmt_dtype)m->save_dtype;
    static const char *const keys[] = {"dtype", "torch_dtype"};
    for (int k = 0; k < 2; k++) {
        const lmt_json *v = lmt_json_get(m->cfg.raw, keys[k]);
        if (v && v->type == LMT_JSON_STRING && dtype_from_torch_name(v->str) >= 0) return (lmt_dtype)dtype_from_torch_name(v->str);
    }
    if (m->report.weights_file)
        for (size_t i = 0; i < m->layout.n_params; i++) {
            lmt_dtype t = m->report.src_dtype[i];
            if (t == LMT_BF16 || t == LMT_F16 || t == LMT_F32) return t;
        }
    return LMT_F32;
}

/* huggingface_hub's parse_size_to_int: "<number><KB|MB|GB|TB>" (powers of
 * 1000, case-insensitive), or a plain byte count. */
static lmt_status parse_size(const char *s, uint64_t *out) {
    static const char *const units[] = {"KB", "MB", "GB", "TB"};
    static const double mult[] = {1e3, 1e6, 1e9, 1e12};
    size_t n = strlen(s);
    double scale = 1;
    char num[64];
    if (n >= 2) {
        for (int u = 0; u < 4; u++) {
            if ((s[n - 2] == units[u][0] || s[n - 2] == units[u][0] + 32) && (s[n - 1] == 'B' || s[n - 1] == 'b')) {
                scale = mult[u];
                n -= 2;
                break;
            }
        }
    }
    while (n && s[n - 1] == ' ') n--;
    if (!n || n >= sizeof num) return lmt_fail(LMT_ERR_ARG, "max_shard_size \"%s\": expected a size such as 5GB, 500MB or 100KB", s);
    memcpy(num, s, n);
    num[n] = 0;
    char *end;
    double v = strtod(num, &end);
    if (*end || !(v > 0) || v * scale > 1e18) return lmt_fail(LMT_ERR_ARG, "max_shard_size \"%s\": expected a size such as 5GB, 500MB or 100KB", s);
    *out = (uint64_t)(v * scale);   /* int(value * multiplier) */
    return *out ? LMT_OK : lmt_fail(LMT_ERR_ARG, "max_shard_size \"%s\" is below one byte", s);
}

lmt_status lmt_model_set_save_options(lmt_model *m, const char *dtype, const char *max_shard_size) {
    if (dtype) {
        int t = !strcmp(dtype, "auto") ? -1 : dtype_from_torch_name(dtype);
        if (t < 0 && strcmp(dtype, "auto"))
            return lmt_fail(LMT_ERR_ARG, "save dtype \"%s\": expected auto, float32, bfloat16 or float16", dtype);
        m->save_dtype = t;
    }
    if (max_shard_size) {
        uint64_t v;
        LMT_TRY(parse_size(max_shard_size, &v));
        m->max_shard_size = v;
    }
    return LMT_OK;
}

typedef struct { size_t param; size_t bytes; int shard; } saved_tensor;

static int cmp_saved_name(const void *a, const void *b, void *ctx) {
    const lmt_layout *l = ctx;
    return strcmp(l->params[((const saved_tensor *)a)->param].name, l->params[((const saved_tensor *)b)->param].name);
}

/* Removes what an earlier save left that this one does not replace:
 * model-0000N-of-0000M.safetensors shards, and the single file or index of
 * the other layout (which from_pretrained would otherwise prefer). */
static void remove_stale(const char *dir, int n_shards) {
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int k, total, len = 0;
        if (sscanf(e->d_name, "model-%5d-of-%5d.safetensors%n", &k, &total, &len) != 2 || len != 32 || e->d_name[len]) continue;
        if (total == n_shards && n_shards > 1) continue;
        char *p = lmt_path_join(dir, e->d_name);
        if (p) remove(p);
        free(p);
    }
    if (d) closedir(d);
    char *p = lmt_path_join(dir, n_shards > 1 ? "model.safetensors" : "model.safetensors.index.json");
    if (p && lmt_file_exists(p)) remove(p);
    free(p);
}

/* One shard: its tensors converted to dtype. */
static lmt_status write_shard(const lmt_model *m, const char *path, const saved_tensor *t, size_t n, int shard, lmt_dtype dtype) {
    const lmt_layout *l = &m->layout;
    size_t cnt = 0;
    for (size_t k = 0; k < n; k++) cnt += t[k].shard == shard;
    lmt_tensor_out *outs = calloc(cnt ? cnt : 1, sizeof *outs);
    void **bufs = calloc(cnt ? cnt : 1, sizeof *bufs);
    lmt_status s = outs && bufs ? LMT_OK : lmt_fail(LMT_ERR_NOMEM, "out of memory");
    size_t j = 0;
    for (size_t k = 0; k < n && s == LMT_OK; k++) {
        if (t[k].shard != shard) continue;
        const lmt_param_spec *p = &l->params[t[k].param];
        const float *src = m->params + p->offset;
        outs[j].name = p->name;
        outs[j].dtype = dtype;
        outs[j].ndim = p->ndim;
        for (int d = 0; d < p->ndim; d++) outs[j].shape[d] = p->shape[d];
        outs[j].data = src;
        if (dtype != LMT_F32) {
            uint16_t *h = malloc(p->numel ? p->numel * sizeof *h : 1);
            if (!h) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory"); break; }
            for (size_t e = 0; e < p->numel; e++) h[e] = dtype == LMT_BF16 ? lmt_f32_to_bf16(src[e]) : lmt_f32_to_f16(src[e]);
            outs[j].data = bufs[j] = h;
        }
        j++;
    }
    static const char *const meta[] = {"format", "pt", NULL};
    if (s == LMT_OK) s = lmt_safetensors_write(path, outs, cnt, meta);
    for (size_t k = 0; bufs && k < cnt; k++) free(bufs[k]);
    free(bufs);
    free(outs);
    return s;
}

/* model.safetensors, or shards of at most max_shard_size bytes and their
 * index, as save_pretrained (huggingface_hub's split_torch_state_dict_into_shards):
 * the tensors in state_dict order (a model from_pretrained loaded lists them
 * by name, a freshly built one in module order), a new shard when the next
 * tensor would overflow the current one, a tensor larger than the limit alone. */
static lmt_status save_weights(const lmt_model *m, const char *dir) {
    const lmt_layout *l = &m->layout;
    lmt_dtype dtype = save_dtype(m);
    uint64_t limit = m->max_shard_size ? m->max_shard_size : (uint64_t)50000000000ull;
    saved_tensor *t = calloc(l->n_params ? l->n_params : 1, sizeof *t);
    if (!t) return lmt_fail(LMT_ERR_NOMEM, "out of memory");
    size_t n = 0;
    uint64_t total_size = 0, total_params = 0;
    for (size_t i = 0; i < l->n_params; i++) {
        const lmt_param_spec *p = &l->params[i];
        if (p->flags & LMT_PARAM_STATIC) continue;  /* transformers 5 does not persist computed positions */
        t[n].param = i;
        t[n].bytes = p->numel * lmt_dtype_size(dtype);
        if (!(p->flags & LMT_PARAM_BUFFER)) total_params += p->numel;
        n++;
    }
    if (m->report.weights_file) qsort_r(t, n, sizeof *t, cmp_saved_name, (void *)l);
    int shard = 0;
    uint64_t cur = 0;
    bool open = false;
    for (size_t k = 0; k < n; k++) {
        total_size += t[k].bytes;
        if (t[k].bytes > limit) { t[k].shard = open ? ++shard : shard; shard++; open = false; cur = 0; continue; }
        if (open && cur + t[k].bytes > limit) { shard++; cur = 0; }
        t[k].shard = shard;
        cur += t[k].bytes;
        open = true;
    }
    int n_shards = open ? shard + 1 : shard;
    if (n_shards < 1) n_shards = 1;
    lmt_status s = LMT_OK;
    char name[64];
    lmt_json *idx = NULL, *map = NULL;
    if (n_shards > 1) {
        idx = lmt_json_new(LMT_JSON_OBJECT);
        lmt_json *meta = lmt_json_new(LMT_JSON_OBJECT);
        map = lmt_json_new(LMT_JSON_OBJECT);
        if (!idx || !meta || !map ||
            lmt_json_object_set(meta, "total_parameters", lmt_json_new_int((int64_t)total_params)) != LMT_OK ||
            lmt_json_object_set(meta, "total_size", lmt_json_new_int((int64_t)total_size)) != LMT_OK)
            s = lmt_fail(LMT_ERR_NOMEM, "out of memory");
        if (s == LMT_OK && lmt_json_object_set(idx, "metadata", meta) != LMT_OK) s = lmt_fail(LMT_ERR_NOMEM, "out of memory");
        else if (s != LMT_OK) lmt_json_free(meta);
        for (size_t k = 0; k < n && s == LMT_OK; k++) {
            snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", t[k].shard + 1, n_shards);
            if (lmt_json_object_set(map, l->params[t[k].param].name, lmt_json_new_string(name)) != LMT_OK)
                s = lmt_fail(LMT_ERR_NOMEM, "out of memory");
        }
    }
    for (int sh = 0; sh < n_shards && s == LMT_OK; sh++) {
        if (n_shards > 1) snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", sh + 1, n_shards);
        else snprintf(name, sizeof name, "model.safetensors");
        char *path = lmt_path_join(dir, name);
        s = path ? write_shard(m, path, t, n, sh, dtype) : lmt_fail(LMT_ERR_NOMEM, "out of memory");
        free(path);
    }
    if (s == LMT_OK && idx) {
        if (lmt_json_object_set(idx, "weight_map", map) != LMT_OK) s = lmt_fail(LMT_ERR_NOMEM, "out of memory");
        map = NULL;
        lmt_strbuf b;
        lmt_sb_init(&b);
        lmt_json_write_py(&b, idx, 2, true);
        lmt_sb_putc(&b, '\n');
        char *path = lmt_path_join(dir, "model.safetensors.index.json");
        if (s == LMT_OK) s = b.oom || !path ? lmt_fail(LMT_ERR_NOMEM, "out of memory") : lmt_write_file_atomic(path, b.data, b.len);
        free(path);
        lmt_sb_free(&b);
    }
    if (s == LMT_OK) remove_stale(dir, n_shards);
    lmt_json_free(map);
    lmt_json_free(idx);
    free(t);
    return s;
}

/* GenerationConfig.from_model_config, as save_pretrained writes it for a
 * model that can generate and has no generation_config.json: the special
 * token ids config.json sets, and the generation settings older configs
 * still carry (opus-mt's num_beams, max_length, bad_words_ids), which
 * transformers 5 moves into the generation config on load. A model made
 * from a config (no weights file: from_config) also gets
 * output_attentions / output_hidden_states, as transformers 5.23 writes. */
lmt_json *lmt_model_generation_config_default(const lmt_model *m) {
    static const char *const keys[] = {
        "bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id", "forced_bos_token_id", "forced_eos_token_id",
        "max_length", "min_length", "do_sample", "early_stopping", "num_beams", "num_beam_groups", "diversity_penalty",
        "temperature", "top_k", "top_p", "typical_p", "repetition_penalty", "length_penalty", "no_repeat_ngram_size",
        "encoder_no_repeat_ngram_size", "bad_words_ids", "num_return_sequences", "remove_invalid_values",
        "exponential_decay_length_penalty", "suppress_tokens", "begin_suppress_tokens"};
    lmt_json *g = lmt_json_new(LMT_JSON_OBJECT);
    if (!g || lmt_json_object_set(g, "_from_model_config", lmt_json_new_bool(true)) != LMT_OK) goto fail;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const lmt_json *v = lmt_json_get(m->cfg.raw, keys[i]);
        if (!v || v->type == LMT_JSON_NULL) continue;
        lmt_json *c = lmt_json_clone(v);
        if (!c || lmt_json_object_set(g, keys[i], c) != LMT_OK) goto fail;
    }
    if (!m->report.weights_file && (lmt_json_object_set(g, "output_attentions", lmt_json_new_bool(false)) != LMT_OK ||
                                    lmt_json_object_set(g, "output_hidden_states", lmt_json_new_bool(false)) != LMT_OK))
        goto fail;
    if (lmt_json_object_set(g, "transformers_version", lmt_json_new_string(LMT_TRANSFORMERS_VERSION)) != LMT_OK ||
        lmt_json_object_set(g, "use_cache", lmt_json_new_bool(true)) != LMT_OK)
        goto fail;
    return g;
fail:
    lmt_json_free(g);
    return NULL;
}

lmt_status lmt_model_save(const lmt_model *m, const char *dir) {
    LMT_TRY(lmt_mkdirs(dir));
    lmt_status s = LMT_OK;
    char *path = NULL, *text = NULL;

    if (!(text = config_json(m))) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory writing config.json"); goto done; }
    if (!(path = lmt_path_join(dir, "config.json"))) { s = lmt_fail(LMT_ERR_NOMEM, "out of memory"); goto done; }
    if ((s = lmt_write_file_atomic(path, text, strlen(text))) != LMT_OK) goto done;
    free(path); path = NULL;
    free(text); text = NULL;

    lmt_json *gen = m->generation_config, *made = NULL;
    if (!gen && lmt_arch_can_generate(m->cfg.arch) && !(gen = made = lmt_model_generation_config_default(m))) {
        s = lmt_fail(LMT_ERR_NOMEM, "out of memory writing generation_config.json");
        goto done;
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

    s = save_weights(m, dir);
done:
    free(path);
    free(text);
    return s;
}
