/* lmtune plot OUTPUT_DIR: the training curves (loss, learning rate,
 * perplexity) of trainer_state.json as a PNG. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "core/util.h"
#include "train/plot.h"

static const char *usage_text =
    "usage: lmtune plot OUTPUT_DIR [--output FILE] [--width W] [--height H]\n\n"
    "Draws the curves of a training run from OUTPUT_DIR/trainer_state.json (an output_dir or a\n"
    "checkpoint-N folder; a trainer_state.json path also works): training and evaluation loss,\n"
    "the learning rate, and perplexity = exp(eval_loss) (exp(loss) when the run never evaluated),\n"
    "each against the global step, side by side in one PNG.\n\n"
    "options:\n"
    "  --output FILE   the PNG (default OUTPUT_DIR/training_curves.png)\n"
    "  --width W       pixels (default 1200, at least 300)\n"
    "  --height H      pixels (default 400, at least 150)\n";

/* a whole number in [lo, hi], or an error naming the flag */
static bool parse_side(const char *flag, const char *v, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi) {
        fprintf(stderr, "lmtune: error: %s %s: must be a whole number of pixels in [%d, %d]\n", flag, v, lo, hi);
        return false;
    }
    *out = (int)x;
    return true;
}

int lmt_cmd_plot(int argc, char **argv) {
    const char *dir = NULL, *png = NULL;
    int w = 1200, h = 400;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(usage_text, stdout); return 0; }
        if (strncmp(a, "--", 2)) {
            if (dir) { fprintf(stderr, "lmtune: error: unexpected argument '%s' (see lmtune plot --help)\n", a); return 2; }
            dir = a;
            continue;
        }
        const char *eq = strchr(a, '='), *v;
        char name[32];
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
        if (strcmp(name, "--output") && strcmp(name, "--width") && strcmp(name, "--height")) {
            fprintf(stderr, "lmtune: error: unknown option '%s' (see lmtune plot --help)\n", name);
            return 2;
        }
        if (eq) v = eq + 1;
        else if (i + 1 < argc) v = argv[++i];
        else { fprintf(stderr, "lmtune: error: %s needs a value\n", name); return 2; }
        if (!strcmp(name, "--output")) png = v;
        else if (!parse_side(name, v, !strcmp(name, "--width") ? LMT_PLOT_MIN_WIDTH : LMT_PLOT_MIN_HEIGHT, LMT_PLOT_MAX_SIDE,
                             !strcmp(name, "--width") ? &w : &h))
            return 2;
    }
    if (!dir) { fputs(usage_text, stderr); return 2; }
    char *def = NULL;
    if (!png) {
        def = lmt_is_dir(dir) ? lmt_path_join(dir, "training_curves.png") : NULL;
        if (!def) {
            fprintf(stderr, "lmtune: error: %s is not a folder: give the PNG's path with --output\n", dir);
            return 2;
        }
        png = def;
    }
    lmt_plot_summary sum;
    lmt_status s = lmt_plot_training_curves(dir, png, w, h, &sum);
    if (s != LMT_OK) {
        fprintf(stderr, "lmtune: error: %s\n", lmt_last_error());
        free(def);
        return 1;
    }
    printf("wrote %s (%dx%d): %lld training losses, %lld evaluation losses, %lld learning rates, up to step %lld\n", png, w, h,
           (long long)sum.train_loss, (long long)sum.eval_loss, (long long)sum.learning_rate, (long long)sum.last_step);
    free(def);
    return 0;
}
