/* What the CPU can run, and which instruction-set level lmtune's kernels use.
 *
 * Levels, best last: generic (portable C) < neon (ARM64 Advanced SIMD) <
 * avx2 (AVX2 + FMA) < avx512 (AVX-512 F/BW/VL/DQ, with AVX512_BF16 where the
 * CPU has it) < amx (AMX-BF16 tiles, where the CPU and the OS allow them).
 * Every kernel with several implementations takes the best one at or below
 * the active level: the CPU's best, or lower when LMT_ISA in the environment
 * (or lmt_isa_force) asks for it (tests and benchmarks time each level on
 * one machine). A level the CPU lacks is never used: lmt_isa_check reports
 * such a request, and LMT_ISA values that are no level, as errors. */
#ifndef LMT_CORE_CPU_H
#define LMT_CORE_CPU_H
#include <stdbool.h>
#include <stddef.h>

typedef enum lmt_isa {
    LMT_ISA_GENERIC = 0,
    LMT_ISA_NEON = 1,
    LMT_ISA_AVX2 = 2,
    LMT_ISA_AVX512 = 3,
    LMT_ISA_AMX = 4,
} lmt_isa;

/* The best level this CPU (and OS) supports, detected once. */
lmt_isa lmt_cpu_isa(void);
/* The level kernels use now: min(lmt_cpu_isa(), forced level). */
lmt_isa lmt_isa_active(void);
/* Caps the level (LMT_ISA's effect); a level above the CPU's is capped at
 * the CPU's. lmt_isa_unforce undoes it (back to LMT_ISA or the CPU's). */
void lmt_isa_force(lmt_isa level);
void lmt_isa_unforce(void);
/* "generic", "neon", "avx2", "avx512", "amx". */
const char *lmt_isa_name(lmt_isa level);
/* Parses a level name; false for anything else. */
bool lmt_isa_parse(const char *s, lmt_isa *out);
/* Whether this CPU can run the level: generic always, NEON on ARM64, the
 * x86 levels up to the CPU's best on x86-64. */
bool lmt_isa_runnable(lmt_isa level);
/* Checks LMT_ISA in the environment: true when unset or a level this CPU
 * has; else false with the reason in err (names LMT_ISA and the value). */
bool lmt_isa_check(char *err, size_t errlen);

/* AVX512_BF16 (vdpbf16ps) present and usable at the active level. */
bool lmt_cpu_has_avx512bf16(void);
/* ARM64 BF16 (BFDOT/BFMMLA) reported by the kernel (HWCAP2_BF16). */
bool lmt_cpu_has_arm_bf16(void);
/* The CPU's model name and the features lmtune looks at, space separated
 * ("avx2 fma avx512f ... amx-bf16"), for `lmtune info` and benchmarks. */
void lmt_cpu_describe(char *model, size_t model_len, char *features, size_t features_len);
#endif
