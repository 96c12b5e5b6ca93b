/* The public entry points of the per-level element kernels
 * (kernels/variant.h): each calls its generic, avx2 or avx512 build for the
 * active level (core/cpu.h; amx runs the avx512 build: AMX itself is for
 * the GEMM). The kernels work on whole rows or tensors per call, so the
 * level read (two cached atomic loads) costs nothing measurable.
 *
 * Compiled empty where CMake builds no variants (LMT_ISA_VARIANTS unset:
 * every architecture but x86-64): there the kernel sources define the
 * public names themselves. */
#ifdef LMT_ISA_VARIANTS
#include "core/cpu.h"

/* 2: avx512, 1: avx2, 0: generic (neon never occurs on x86) */
static inline int variant(void) {
    const lmt_isa l = lmt_isa_active();
    return l >= LMT_ISA_AVX512 ? 2 : l == LMT_ISA_AVX2 ? 1 : 0;
}

#define LMT_KERNEL(ret, name, params, args)                                   \
    ret name##_generic params;                                                \
    ret name##_avx2 params;                                                   \
    ret name##_avx512 params;                                                 \
    ret name params {                                                         \
        switch (variant()) {                                                  \
        case 2: return name##_avx512 args;                                    \
        case 1: return name##_avx2 args;                                      \
        default: return name##_generic args;                                  \
        }                                                                     \
    }
#define LMT_KERNEL_VOID(name, params, args)                                   \
    void name##_generic params;                                               \
    void name##_avx2 params;                                                  \
    void name##_avx512 params;                                                \
    void name params {                                                        \
        switch (variant()) {                                                  \
        case 2: name##_avx512 args; break;                                    \
        case 1: name##_avx2 args; break;                                      \
        default: name##_generic args;                                         \
        }                                                                     \
    }
#include "kernels/dispatch_list.h"
#else
typedef int lmt_dispatch_unused;   /* ISO C wants something in a translation unit */
#endif
