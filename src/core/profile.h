/* A step profiler: wall time, call count and floating-point work per named
 * section, grouped by phase ("forward", "backward", "optimizer", ...).
 * Off by default; when off a section costs one branch. Sections are named by
 * string literals ("forward/attention"), the text before '/' being the phase.
 * Not thread-safe: sections are opened from the thread that drives the step
 * (the kernels inside them may be parallel). */
#ifndef LMT_CORE_PROFILE_H
#define LMT_CORE_PROFILE_H
#include <stdbool.h>
#include <stdio.h>

extern bool lmt_profile_on;

void lmt_profile_enable(bool on);
/* Forgets every section's totals (e.g. after a warm-up step). */
void lmt_profile_reset(void);
/* Adds one call of `name` that took `seconds` and did `flops` operations. */
void lmt_profile_add(const char *name, double seconds, double flops);
/* Time another thread spent beside the step (the overlapped all-reduce):
 * printed after the step's total, not part of it. */
void lmt_profile_add_background(const char *name, double seconds);
double lmt_profile_now(void);
/* The trainer counts its optimizer steps, for the per-step figures. */
void lmt_profile_count_step(void);
long lmt_profile_steps(void);
/* Prints the table (per section: total and per-step ms, share of the step,
 * GFLOP/s), phases with their totals, and the whole, over `steps` steps
 * (0: the steps counted by lmt_profile_count_step, at least 1). */
void lmt_profile_print(FILE *f, int steps);

/* LMT_PROFILE("forward/qkv", flops, call...) times one statement. */
#define LMT_PROFILE(name, flops, ...)                                                 \
    do {                                                                              \
        if (lmt_profile_on) {                                                         \
            double lmt_t0_ = lmt_profile_now();                                       \
            __VA_ARGS__;                                                              \
            lmt_profile_add((name), lmt_profile_now() - lmt_t0_, (double)(flops));    \
        } else {                                                                      \
            __VA_ARGS__;                                                              \
        }                                                                             \
    } while (0)
#endif
