#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/profile.h"

bool lmt_profile_on = false;

enum { MAX_SECTIONS = 96 };
/* background: time another thread spent beside the step (not part of it) */
typedef struct { const char *name; double seconds, flops; long calls; bool background; } section;
static section sections[MAX_SECTIONS];
static int n_sections;
static long n_steps;

/* LMT_PROFILE_CLOCK=cpu: the process's CPU time instead of wall time, so
 * that time spent preempted on a shared machine does not count (with one
 * thread the sections then add up to the work done; with more, to the
 * threads' CPU time, waiting included). */
static clockid_t clock_id = CLOCK_MONOTONIC;

void lmt_profile_enable(bool on) {
    const char *c = getenv("LMT_PROFILE_CLOCK");
    clock_id = c && !strcmp(c, "cpu") ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC;
    lmt_profile_on = on;
}

void lmt_profile_reset(void) { n_sections = 0; n_steps = 0; }

/* LMT_PROFILE_SKIP=N: the first N steps (warm-up: first touches, caches) are forgotten */
void lmt_profile_count_step(void) {
    static long skip = -1;
    if (skip < 0) {
        const char *e = getenv("LMT_PROFILE_SKIP");
        skip = e ? atol(e) : 0;
    }
    n_steps++;
    if (skip > 0 && n_steps == skip) {
        lmt_profile_reset();
        skip = 0;
    }
}

long lmt_profile_steps(void) { return n_steps; }

double lmt_profile_now(void) {
    struct timespec ts;
    clock_gettime(clock_id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void add(const char *name, double seconds, double flops, bool background) {
    for (int i = 0; i < n_sections; i++)
        if (sections[i].name == name || !strcmp(sections[i].name, name)) {
            sections[i].seconds += seconds;
            sections[i].flops += flops;
            sections[i].calls++;
            return;
        }
    if (n_sections == MAX_SECTIONS) return;   // a bounded table: extra names are dropped
    sections[n_sections++] = (section){name, seconds, flops, 1, background};
}

void lmt_profile_add(const char *name, double seconds, double flops) { add(name, seconds, flops, false); }
void lmt_profile_add_background(const char *name, double seconds) { add(name, seconds, 0, true); }

static size_t phase_len(const char *name) {
    const char *slash = strchr(name, '/');
    return slash ? (size_t)(slash - name) : strlen(name);
}

void lmt_profile_print(FILE *f, int steps) {
    if (steps < 1) steps = n_steps > 0 ? (int)n_steps : 1;
    double total = 0, total_flops = 0;
    bool done[MAX_SECTIONS] = {0};
    for (int i = 0; i < n_sections; i++) {
        done[i] = sections[i].background;
        if (done[i]) continue;
        total += sections[i].seconds;
        total_flops += sections[i].flops;
    }
    if (total <= 0) { fprintf(f, "profile: no sections recorded\n"); return; }
    fprintf(f, "%-34s %10s %8s %7s %9s\n", "section", "ms/step", "calls", "share", "GFLOP/s");
    for (int i = 0; i < n_sections; i++) {   // phases in order of first appearance
        if (done[i]) continue;
        size_t pl = phase_len(sections[i].name);
        double ps = 0, pf = 0;
        for (int j = i; j < n_sections; j++) {
            if (done[j] || phase_len(sections[j].name) != pl || strncmp(sections[j].name, sections[i].name, pl)) continue;
            const section *s = &sections[j];
            ps += s->seconds;
            pf += s->flops;
            fprintf(f, "  %-32s %10.2f %8ld %6.1f%%", s->name, 1e3 * s->seconds / steps, s->calls / steps,
                    100.0 * s->seconds / total);
            if (s->flops > 0) fprintf(f, " %9.1f", s->flops / s->seconds * 1e-9);
            fputc('\n', f);
            done[j] = true;
        }
        fprintf(f, "%-.*s%-*s %10.2f %8s %6.1f%%", (int)pl, sections[i].name, (int)(34 - pl), " (phase)",
                1e3 * ps / steps, "", 100.0 * ps / total);
        if (pf > 0) fprintf(f, " %9.1f", pf / ps * 1e-9);
        fputc('\n', f);
    }
    fprintf(f, "%-34s %10.2f %8s %6.1f%% %9.1f\n", "step (all sections)", 1e3 * total / steps, "", 100.0,
            total_flops / total * 1e-9);
    for (int i = 0; i < n_sections; i++)
        if (sections[i].background)
            fprintf(f, "  %-32s %10.2f %8ld   (another thread, beside the step)\n", sections[i].name,
                    1e3 * sections[i].seconds / steps, sections[i].calls / steps);
}
