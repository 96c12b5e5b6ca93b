/* `lmtune info` / `--version`: the CPU, the level in use and the kernels it
 * picks, for every level this CPU can run (LMT_ISA), and LMT_ISA values
 * that name no level, or one the CPU lacks, refused with exit status 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "cli_run.h"
#include "core/cpu.h"
#include "lmtune/lmtune.h"

static int run_with_isa(const char *isa, const char *args) {
    if (isa) setenv("LMT_ISA", isa, 1);
    else unsetenv("LMT_ISA");
    int rc = run(args);
    unsetenv("LMT_ISA");
    return rc;
}

int main(void) {
    CHECK(run_with_isa(NULL, "info") == 0);
    CHECK(strstr(out, "cpu: ") && strstr(out, "features: ") && strstr(out, "element kernels: "));
    char want[128];
    snprintf(want, sizeof want, "level: %s (the CPU's best)", lmt_isa_name(lmt_cpu_isa()));
    CHECK_MSG(strstr(out, want) != NULL, "no '%s' in:\n%s", want, out);
    CHECK(run_with_isa(NULL, "--version") == 0 && !strncmp(out, "lmtune " LMTUNE_VERSION "\n", strlen("lmtune " LMTUNE_VERSION "\n")));
    CHECK(run_with_isa(NULL, "info extra") == 2 && strstr(out, "info takes no arguments"));

    /* each level the CPU can run, and the products it picks */
    static const struct { lmt_isa isa; const char *gemm_f32; } levels[] = {
        {LMT_ISA_GENERIC, "fp32 generic"}, {LMT_ISA_NEON, "fp32 neon"}, {LMT_ISA_AVX2, "fp32 avx2"},
        {LMT_ISA_AVX512, "fp32 avx512f"}, {LMT_ISA_AMX, "fp32 amx-bf16x6"}};
    const lmt_isa cpu = lmt_cpu_isa();
    const bool arm = cpu == LMT_ISA_NEON;
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        const lmt_isa l = levels[i].isa;
        const bool runnable = l == LMT_ISA_GENERIC || (arm ? l == LMT_ISA_NEON : l != LMT_ISA_NEON && l <= cpu);
        const int rc = run_with_isa(lmt_isa_name(l), "info");
        if (!runnable) {
            CHECK_MSG(rc == 2 && strstr(out, "cannot run that level"), "LMT_ISA=%s on a %s CPU: rc %d\n%s",
                      lmt_isa_name(l), lmt_isa_name(cpu), rc, out);
            continue;
        }
        snprintf(want, sizeof want, "level: %s", lmt_isa_name(l));
        CHECK_MSG(rc == 0 && strstr(out, want), "LMT_ISA=%s: rc %d, no '%s' in:\n%s", lmt_isa_name(l), rc, want, out);
        CHECK_MSG(strstr(out, levels[i].gemm_f32) != NULL, "LMT_ISA=%s: products not '%s':\n%s", lmt_isa_name(l),
                  levels[i].gemm_f32, out);
    }
    /* what is no level at all, for any command */
    CHECK(run_with_isa("avx3", "info") == 2 && strstr(out, "LMT_ISA=avx3: not an instruction-set level"));
    CHECK(run_with_isa("AVX2", "inspect " LMT_SOURCE_DIR "/tests/fixtures/models/gpt2") == 2 && strstr(out, "LMT_ISA=AVX2"));
    /* --bf16 where the level has no bf16 arithmetic says it saves no time */
    const char *train = "train --task clm --config_name " LMT_SOURCE_DIR "/examples/gpt2-demo/config.json --tokenizer_name "
                        LMT_SHARED_DATA "/tokenizers/gpt2 --train_file /nonexistent-lmt-train.txt --output_dir /nonexistent-lmt-out --bf16";
    CHECK(run_with_isa("generic", train) != 0 && strstr(out, "no bf16 arithmetic at the level in use (products: generic)"));
    if (cpu == LMT_ISA_AMX) {
        CHECK(run_with_isa(NULL, train) != 0 && !strstr(out, "no bf16 arithmetic"));
        CHECK(run_with_isa("avx2", train) != 0 && strstr(out, "no bf16 arithmetic"));
    }
    return lmt_test_finish();
}
