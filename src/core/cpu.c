/* CPU feature detection (cpuid / xgetbv on x86-64, getauxval on ARM64) and
 * the LMT_ISA level cap. */
#include "core/cpu.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define LMT_CPU_X86 1
#include <cpuid.h>
#include <unistd.h>
#include <sys/syscall.h>
#else
#define LMT_CPU_X86 0
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP2_BF16
#define HWCAP2_BF16 (1UL << 14)
#endif
#endif

static const char *const level_names[] = {"generic", "neon", "avx2", "avx512", "amx"};

const char *lmt_isa_name(lmt_isa level) {
    return level >= LMT_ISA_GENERIC && level <= LMT_ISA_AMX ? level_names[level] : "?";
}

bool lmt_isa_parse(const char *s, lmt_isa *out) {
    for (int i = 0; i <= LMT_ISA_AMX; i++)
        if (s && !strcmp(s, level_names[i])) {
            *out = (lmt_isa)i;
            return true;
        }
    return false;
}

#if LMT_CPU_X86
static unsigned long long xcr0(void) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}
static bool os_saves_avx(void) {   /* OSXSAVE, and XMM + YMM state enabled */
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && ((c >> 27) & 1) && (xcr0() & 6) == 6;
}
static bool os_saves_avx512(void) { return os_saves_avx() && (xcr0() & 0xe0) == 0xe0; }
/* AMX needs the CPU bits, the OS's XTILECFG/XTILEDATA state in XCR0, and
 * (Linux) this process's permission to use the 8 KiB tile data state. */
static bool amx_usable(void) {
#if defined(__linux__)
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !((d >> 22) & 1) || !((d >> 24) & 1)) return false;
    if (!os_saves_avx() || (xcr0() & (3ull << 17)) != (3ull << 17)) return false;
    return syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XTILEDATA */) == 0;
#else
    return false;
#endif
}
#endif

static int detected = -1, has_bf16 = 0;

static void detect(void) {
    if (__atomic_load_n(&detected, __ATOMIC_ACQUIRE) >= 0) return;
    int l = LMT_ISA_GENERIC, bf16 = 0;
#if LMT_CPU_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && os_saves_avx()) l = LMT_ISA_AVX2;
    if (l == LMT_ISA_AVX2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && os_saves_avx512()) {
        l = LMT_ISA_AVX512;
        bf16 = __builtin_cpu_supports("avx512bf16");
        if (bf16 && amx_usable()) l = LMT_ISA_AMX;
    }
#elif defined(__aarch64__)
    l = LMT_ISA_NEON;   /* Advanced SIMD is part of every ARMv8-A CPU */
#if defined(__linux__)
    bf16 = (getauxval(AT_HWCAP2) & HWCAP2_BF16) != 0;
#endif
#endif
    has_bf16 = bf16;
    __atomic_store_n(&detected, l, __ATOMIC_RELEASE);   /* racing first calls agree */
}

lmt_isa lmt_cpu_isa(void) {
    detect();
    return (lmt_isa)detected;
}

/* -2: not read yet; -1: no cap; else the capped level. */
static int forced = -2;

static int env_cap(void) {
    int f = __atomic_load_n(&forced, __ATOMIC_ACQUIRE);
    if (f == -2) {
        lmt_isa l;
        const char *e = getenv("LMT_ISA");
        f = e && *e && lmt_isa_parse(e, &l) ? (int)l : -1;   /* malformed: lmt_isa_check reports it */
        __atomic_store_n(&forced, f, __ATOMIC_RELEASE);
    }
    return f;
}

lmt_isa lmt_isa_active(void) {
    const int cpu = (int)lmt_cpu_isa(), cap = env_cap();
    if (cap < 0 || cap >= cpu) return (lmt_isa)cpu;
    /* NEON and the x86 levels never meet: on x86 a NEON cap means the portable C */
    return LMT_CPU_X86 && cap == LMT_ISA_NEON ? LMT_ISA_GENERIC : (lmt_isa)cap;
}

void lmt_isa_force(lmt_isa level) { __atomic_store_n(&forced, (int)level, __ATOMIC_RELEASE); }
void lmt_isa_unforce(void) { __atomic_store_n(&forced, -2, __ATOMIC_RELEASE); }

bool lmt_isa_runnable(lmt_isa level) {
    const lmt_isa cpu = lmt_cpu_isa();
    if (level == LMT_ISA_GENERIC) return true;
    if (cpu == LMT_ISA_NEON) return level == LMT_ISA_NEON;   /* ARM64: no x86 level */
    return level != LMT_ISA_NEON && level <= cpu;
}

bool lmt_isa_check(char *err, size_t errlen) {
    const char *e = getenv("LMT_ISA");
    if (!e || !*e) return true;
    lmt_isa l;
    if (!lmt_isa_parse(e, &l)) {
        snprintf(err, errlen, "LMT_ISA=%s: not an instruction-set level (generic, neon, avx2, avx512, amx)", e);
        return false;
    }
    if (!lmt_isa_runnable(l)) {
        snprintf(err, errlen, "LMT_ISA=%s: this CPU cannot run that level (its best is %s)", e, lmt_isa_name(lmt_cpu_isa()));
        return false;
    }
    return true;
}

bool lmt_cpu_has_avx512bf16(void) {
    detect();
    return has_bf16 && lmt_isa_active() >= LMT_ISA_AVX512;
}

bool lmt_cpu_has_arm_bf16(void) {
    detect();
    return has_bf16 && lmt_isa_active() == LMT_ISA_NEON;
}

void lmt_cpu_describe(char *model, size_t model_len, char *features, size_t features_len) {
    detect();
    snprintf(model, model_len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            /* x86: "model name"; ARM64 kernels print no name, only "CPU part" */
            if (!strncmp(line, "model name", 10) || !strncmp(line, "Model", 5)) {
                const char *v = strchr(line, ':');
                if (v) {
                    v++;
                    while (*v == ' ' || *v == '\t') v++;
                    snprintf(model, model_len, "%.*s", (int)strcspn(v, "\n"), v);
                    break;
                }
            }
        }
        fclose(f);
    }
    size_t n = 0;
    features[0] = '\0';
#define ADD(cond, name)                                                                   \
    if ((cond) && n + strlen(name) + 2 < features_len) n += (size_t)snprintf(features + n, features_len - n, "%s%s", n ? " " : "", name);
#if LMT_CPU_X86
    __builtin_cpu_init();
    ADD(__builtin_cpu_supports("sse4.2"), "sse4.2")
    ADD(__builtin_cpu_supports("avx2"), "avx2")
    ADD(__builtin_cpu_supports("fma"), "fma")
    ADD(__builtin_cpu_supports("avx512f"), "avx512f")
    ADD(__builtin_cpu_supports("avx512bw"), "avx512bw")
    ADD(__builtin_cpu_supports("avx512vl"), "avx512vl")
    ADD(__builtin_cpu_supports("avx512dq"), "avx512dq")
    ADD(has_bf16, "avx512bf16")
    ADD(detected == LMT_ISA_AMX, "amx-bf16")
#elif defined(__aarch64__)
    ADD(1, "neon")
    ADD(has_bf16, "bf16")
#endif
#undef ADD
    if (!n) snprintf(features, features_len, "(none used)");
}
