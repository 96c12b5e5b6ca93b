/* lmt_system_info and lmt_check_environment: the CPU, the level in use and
 * the kernels it picks (what `lmtune info` prints). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include "api/api.h"
#include "core/cpu.h"
#include "core/error.h"
#include "kernels/gemm.h"
#include "kernels/matmul.h"
#include "train/dist.h"

/* The variant of the element-wise kernels (softmax, LayerNorm, GELU,
 * AdamW, ...) the active level runs: on x86-64 they are compiled once per
 * level (AMX has no element-wise instructions of its own: its CPUs run the
 * AVX-512 variant); on ARM64 once, vectorised for Advanced SIMD. */
static const char *element_variant(lmt_isa level) {
    switch (level) {
    case LMT_ISA_AMX:
    case LMT_ISA_AVX512: return "avx512";
    case LMT_ISA_AVX2: return "avx2";
    case LMT_ISA_NEON: return "neon";
    default: return "generic";
    }
}

const char *lmt_system_info(void) {
    static _Thread_local char info[2048];
    char model[256], features[512];
    lmt_cpu_describe(model, sizeof model, features, sizeof features);
    const lmt_isa cpu = lmt_cpu_isa(), active = lmt_isa_active();
    const char *env = getenv("LMT_ISA");
    char level[160];
    if (active == cpu)
        snprintf(level, sizeof level, "%s (the CPU's best)", lmt_isa_name(active));
    else
        snprintf(level, sizeof level, "%s (capped by LMT_ISA=%s; the CPU's best is %s)", lmt_isa_name(active),
                 env ? env : "?", lmt_isa_name(cpu));
    /* data parallelism: whether the build has MPI (mpirun -np N lmtune train ...) */
    char mpi[160];
    if (lmt_dist_backend())
        snprintf(mpi, sizeof mpi, "%s (mpirun -np N lmtune train ...: docs/DISTRIBUTED.md)", lmt_dist_backend());
    else
        snprintf(mpi, sizeof mpi, "no (built without MPI: one process; install libopenmpi-dev and rebuild)");
    snprintf(info, sizeof info,
             "cpu: %s\n"
             "features: %s\n"
             "level: %s\n"
             "matrix products: %s\n"
             "element kernels: %s\n"
             "threads: %d\n"
             "mpi: %s\n"
             "build: %s, %s\n",
             model, features, level, lmt_matmul_backend(), element_variant(active), omp_get_max_threads(), mpi,
#if defined(__x86_64__)
#if defined(__AVX512F__)
             "x86-64, AVX-512 as the baseline (-march=native or LMT_MARCH)",
#elif defined(__AVX2__)
             "x86-64, AVX2 as the baseline (-march=native or LMT_MARCH)",
#else
             "x86-64, portable (LMT_NATIVE=OFF: each level reached by run-time dispatch)",
#endif
#elif defined(__aarch64__)
             "aarch64",
#else
             "portable C",
#endif
#if defined(__clang__)
             "clang " __clang_version__
#elif defined(__GNUC__)
             "gcc " __VERSION__
#else
             "unknown compiler"
#endif
    );
    return info;
}

lmt_status lmt_check_environment(void) {
    char err[256];
    if (!lmt_isa_check(err, sizeof err)) return lmt_fail(LMT_ERR_ARG, "%s", err);
    return LMT_OK;
}
