#include "models/blocks/kv_weights.h"
#include <stdio.h>

bool lmt_kv_bind_module(lmt_model *m, const char *prefix, int layer, const char *module, const float **w,
                        const float **b) {
    char name[256];
    snprintf(name, sizeof name, "%s.%d.%s.weight", prefix, layer, module);
    *w = lmt_model_tensor(m, name);
    snprintf(name, sizeof name, "%s.%d.%s.bias", prefix, layer, module);
    *b = lmt_model_tensor(m, name);
    return *w && *b;
}
