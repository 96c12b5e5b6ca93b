/* Element kernels built once per x86 instruction-set level.
 *
 * Why whole sources compiled several times (and not target attributes or
 * target_clones): the kernels are plain C loops that gcc vectorises, with
 * OpenMP regions inside. A function-level target attribute does not reach
 * the outlined OpenMP region bodies nor the `omp declare simd` clones of
 * fastmath.h, and target_clones picks by CPU at load time, which LMT_ISA
 * (tests, benchmarks) could not override. A source compiled with the level's
 * flags gets everything in it - loops, outlined regions, inlined helpers -
 * vectorised for that level and nothing above it.
 *
 * On x86-64 CMake compiles each source listed in its "ISA variants" block
 * three times (generic: x86-64 baseline, avx2: AVX2 + FMA, avx512: AVX-512
 * F/BW/VL/DQ with 512-bit vectors), each with LMT_ISA_SUFFIX set (_generic,
 * _avx2, _avx512): the entry points, written LMT_KERNEL_FN(name), become
 * name_generic, name_avx2, name_avx512, and kernels/dispatch.c defines
 * `name` itself, calling the one for lmt_isa_active(). Elsewhere (ARM64,
 * whose baseline Advanced SIMD the compiler already targets) the sources
 * compile once and LMT_KERNEL_FN(name) is just name. */
#ifndef LMT_KERNELS_VARIANT_H
#define LMT_KERNELS_VARIANT_H

#define LMT_VARIANT_CAT_(a, b) a##b
#define LMT_VARIANT_CAT(a, b) LMT_VARIANT_CAT_(a, b)

#ifdef LMT_ISA_SUFFIX
#define LMT_KERNEL_FN(name) LMT_VARIANT_CAT(name, LMT_ISA_SUFFIX)
/* This level's prototypes, from the one list: a definition whose type
 * drifts from the public header's is a compile error, not a link surprise. */
#define LMT_KERNEL(ret, name, params, args) ret LMT_KERNEL_FN(name) params;
#define LMT_KERNEL_VOID(name, params, args) void LMT_KERNEL_FN(name) params;
#include "kernels/dispatch_list.h"
#undef LMT_KERNEL
#undef LMT_KERNEL_VOID
#else
#define LMT_KERNEL_FN(name) name
#endif

/* Functions of a variant source that do not depend on the level (scratch
 * sizes) are compiled in one copy: the generic one, or the only one. */
#if !defined(LMT_ISA_SUFFIX) || defined(LMT_ISA_PRIMARY)
#define LMT_KERNEL_ONCE 1
#else
#define LMT_KERNEL_ONCE 0
#endif
#endif
