/* A model configuration from its model_type alone, as run_clm.py builds one
 * for --model_type: CONFIG_MAPPING[model_type]() (transformers' defaults,
 * generated into config_defaults.inc by tools/reference/make_config_defaults.py),
 * then --config_overrides applied as PretrainedConfig.update_from_string
 * ("n_embd=10,n_layer=2": existing keys only, or their attribute_map names;
 * each value parsed as the type the key holds: bool, int, float, string). */
#ifndef LMT_MODELS_CONFIG_DEFAULTS_H
#define LMT_MODELS_CONFIG_DEFAULTS_H
#include "lmtune/lmtune.h"
#include "core/json.h"

/* The config as a JSON object (caller frees); overrides may be NULL or "".
 * An unknown model_type, a malformed pair, an unknown key or a value of the
 * wrong type fail naming it. */
lmt_status lmt_config_for_model_type(const char *model_type, const char *overrides, lmt_json **out);
/* The model types lmt_config_for_model_type knows, comma-separated. */
const char *lmt_config_model_types(void);
#endif
