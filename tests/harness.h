/* Minimal test harness: CHECK records a failure and continues; each test
 * binary ends with "N passed, N failed" and exits non-zero on any failure. */
#ifndef LMT_TEST_HARNESS_H
#define LMT_TEST_HARNESS_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "core/cpu.h"

static int lmt_test_passed_, lmt_test_failed_;

#define CHECK(cond) do { if (cond) lmt_test_passed_++; else { lmt_test_failed_++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_MSG(cond, ...) do { if (cond) lmt_test_passed_++; else { lmt_test_failed_++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
/* Expects an lmtune call to succeed; prints lmt_last_error() otherwise. */
#define CHECK_OK(expr) do { lmt_status s_ = (expr); if (s_ == LMT_OK) lmt_test_passed_++; else { \
    lmt_test_failed_++; fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr, \
    lmt_last_error()); } } while (0)
#define CHECK_STREQ(a, b) CHECK_MSG(strcmp((a), (b)) == 0, "\"%s\" != \"%s\"", (a), (b))
#define CHECK_NEAR(a, b, tol) CHECK_MSG(fabs((double)(a) - (double)(b)) <= (tol), "%.9g vs %.9g", (double)(a), (double)(b))

/* The suite also runs the parity tests with an instruction-set level forced
 * (LMT_ISA; the NAME@level ctest entries): on a CPU without that level the
 * test exits 77, which ctest reports as skipped. A value that names no level
 * is a mistake in the suite: it fails. Runs before main. */
__attribute__((constructor)) static void lmt_test_isa_check_(void) {
    char err[256];
    lmt_isa level;
    if (lmt_isa_check(err, sizeof err)) return;
    fprintf(stderr, "%s%s\n", lmt_isa_parse(getenv("LMT_ISA"), &level) ? "skipped: " : "", err);
    exit(lmt_isa_parse(getenv("LMT_ISA"), &level) ? 77 : 2);
}

static inline int lmt_test_finish(void) {
    printf("%d passed, %d failed\n", lmt_test_passed_, lmt_test_failed_);
    return lmt_test_failed_ ? 1 : 0;
}
#endif
