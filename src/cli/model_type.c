/* run_clm.py's --model_type / --config_overrides: CONFIG_MAPPING[model_type]()
 * updated from the overrides (models/config_defaults.h), handed to the run
 * as a --config_name file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/train_common.h"
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "models/config_defaults.h"

static char tmp_config[4096];

static void remove_tmp_config(void) {
    if (tmp_config[0]) unlink(tmp_config);
}

int lmt_cli_model_type_config(lmt_cli_train *c) {
    if (c->config_overrides && !c->model_type) {
        fprintf(stderr, "lmtune: error: --config_overrides needs --model_type (it updates that type's default config)\n");
        return 2;
    }
    if (c->model_dir || c->config) {   /* ModelArguments.__post_init__ */
        fprintf(stderr, "lmtune: error: --model_type%s can't be used in combination with --config_name or --model_name_or_path\n",
                c->config_overrides ? " / --config_overrides" : "");
        return 2;
    }
    lmt_json *cfg;
    if (lmt_config_for_model_type(c->model_type, c->config_overrides, &cfg) != LMT_OK) {
        fprintf(stderr, "lmtune: error: --model_type %s: %s\n", c->model_type, lmt_last_error());
        return 2;
    }
    lmt_strbuf b;
    lmt_sb_init(&b);
    lmt_json_write_py(&b, cfg, 2, false);
    lmt_sb_putc(&b, '\n');
    lmt_json_free(cfg);
    const char *dir = getenv("TMPDIR");
    snprintf(tmp_config, sizeof tmp_config, "%s/lmtune-config-XXXXXX.json", dir && *dir ? dir : "/tmp");
    int fd = b.oom ? -1 : mkstemps(tmp_config, 5);
    bool ok = fd >= 0 && write(fd, b.data, b.len) == (ssize_t)b.len;
    if (fd >= 0) close(fd);
    lmt_sb_free(&b);
    if (!ok) {
        if (fd >= 0) unlink(tmp_config);
        tmp_config[0] = 0;
        fprintf(stderr, "lmtune: error: --model_type: cannot write the config to a temporary file in %s\n", dir && *dir ? dir : "/tmp");
        return 1;
    }
    atexit(remove_tmp_config);
    c->config = tmp_config;
    return 0;
}
