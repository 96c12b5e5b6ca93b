#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/util.h"
#include "models/config_defaults.h"
#include "config_defaults.inc"

#define N_TYPES (sizeof config_defaults / sizeof config_defaults[0])

const char *lmt_config_model_types(void) {
    static char list[256];
    if (!list[0]) {
        size_t at = 0;
        for (size_t i = 0; i < N_TYPES && at < sizeof list; i++)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", i ? ", " : "", config_defaults[i].model_type);
    }
    return list;
}

static bool lower_in(const char *v, const char *const *words) {
    char low[8] = {0};
    size_t n = strlen(v);
    if (n >= sizeof low) return false;
    for (size_t i = 0; i < n; i++) low[i] = (char)(v[i] >= 'A' && v[i] <= 'Z' ? v[i] + 32 : v[i]);
    for (; *words; words++)
        if (!strcmp(low, *words)) return true;
    return false;
}

/* key=value onto cfg, typed by the value the key holds now. */
static lmt_status apply(lmt_json *cfg, const lmt_json *amap, const char *key, const char *v, const char *mt) {
    const lmt_json *alias = lmt_json_get(amap, key);
    if (alias && alias->type == LMT_JSON_STRING) key = alias->str;
    const lmt_json *old = lmt_json_get(cfg, key);
    if (!old) return lmt_fail(LMT_ERR_ARG, "config_overrides: key %s isn't in the original config dict (%s)", key, mt);
    static const char *const yes[] = {"true", "1", "y", "yes", NULL}, *const no[] = {"false", "0", "n", "no", NULL};
    lmt_json *nv = NULL;
    char *end;
    errno = 0;
    if (old->type == LMT_JSON_BOOL) {
        if (lower_in(v, yes)) nv = lmt_json_new_bool(true);
        else if (lower_in(v, no)) nv = lmt_json_new_bool(false);
        else return lmt_fail(LMT_ERR_ARG, "config_overrides: can't derive true or false from %s (key %s)", v, key);
    } else if (old->type == LMT_JSON_NUMBER && old->is_int) {
        long long x = strtoll(v, &end, 10);
        if (errno || end == v || *end) return lmt_fail(LMT_ERR_ARG, "config_overrides: %s expects an integer, got \"%s\"", key, v);
        nv = lmt_json_new_int(x);
    } else if (old->type == LMT_JSON_NUMBER) {
        double x = strtod(v, &end);
        if (errno || end == v || *end) return lmt_fail(LMT_ERR_ARG, "config_overrides: %s expects a number, got \"%s\"", key, v);
        nv = lmt_json_new_num(x);
    } else if (old->type == LMT_JSON_STRING) {
        nv = lmt_json_new_string(v);
    } else {
        return lmt_fail(LMT_ERR_ARG, "config_overrides: you can only update int, float, bool or string values in the config, "
                        "got %s for key %s (which is %s)", v, key, lmt_json_type_name(old->type));
    }
    return lmt_json_object_set(cfg, key, nv);
}

lmt_status lmt_config_for_model_type(const char *model_type, const char *overrides, lmt_json **out) {
    *out = NULL;
    size_t k = 0;
    while (k < N_TYPES && strcmp(config_defaults[k].model_type, model_type)) k++;
    if (k == N_TYPES)
        return lmt_fail(LMT_ERR_UNSUPPORTED, "model_type \"%s\" is not one lmtune builds (%s)", model_type, lmt_config_model_types());
    lmt_json *cfg = NULL, *amap = NULL;
    lmt_status s = lmt_json_parse(config_defaults[k].config, strlen(config_defaults[k].config), "config defaults", &cfg);
    if (s == LMT_OK)
        s = lmt_json_parse(config_defaults[k].attribute_map, strlen(config_defaults[k].attribute_map), "attribute map", &amap);
    char *copy = s == LMT_OK && overrides && *overrides ? lmt_strdup(overrides) : NULL;
    if (s == LMT_OK && overrides && *overrides && !copy) s = lmt_fail(LMT_ERR_NOMEM, "out of memory");
    for (char *item = copy; s == LMT_OK && item;) {
        char *comma = strchr(item, ',');
        if (comma) *comma = 0;
        char *eq = strchr(item, '=');
        if (!eq || strchr(eq + 1, '='))
            s = lmt_fail(LMT_ERR_ARG, "config_overrides: \"%s\" is not key=value (e.g. \"n_embd=10,n_layer=2\")", item);
        else {
            *eq = 0;
            s = apply(cfg, amap, item, eq + 1, model_type);
        }
        item = comma ? comma + 1 : NULL;
    }
    free(copy);
    lmt_json_free(amap);
    if (s != LMT_OK) { lmt_json_free(cfg); return s; }
    *out = cfg;
    return LMT_OK;
}
