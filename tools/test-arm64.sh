#!/usr/bin/env bash
# Cross-builds lmtune for ARM64 (cmake/aarch64-linux-gnu.cmake) and runs the
# test suite under qemu's user-mode emulator, twice: on a CPU with the BF16
# extension (QEMU_CPU=max: BFDOT/BFMMLA kernels) and on one without
# (cortex-a72: the plain NEON kernels). Installs what it needs first
# (tools/install-deps-arm64.sh). Emulation is slow: LMT_TEST_QUICK=1 as in
# the sanitizer build; timings mean nothing here, only results.
#
#   tools/test-arm64.sh [--quick] [BUILD_DIR]
#
# --quick runs only the kernel, block, GPT-2 parity and tokenizer tests (CI).
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
if [ "${1:-}" = --quick ]; then quick=1; shift; fi
build=${1:-build-arm64}
start=$(date +%s)
tools/install-deps-arm64.sh
data_flag=()
if [ ! -d ../shared/data ] && [ -n "${LMT_SHARED_DATA:-}" ]; then data_flag=(-DLMT_SHARED_DATA="$LMT_SHARED_DATA"); fi
cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DCMAKE_BUILD_TYPE=Release \
      "${data_flag[@]}" >/dev/null
# --quick: the whole subset on the BF16 CPU, and on the plain one only what
# takes another path there (the GEMM and bf16 products).
filter_max=() filter_plain=()
if [ $quick = 1 ]; then
  filter_max=(-R '^(test_gemm|test_kernels|test_blocks|test_gpt2_parity|test_llama_parity|test_bf16|test_tok_.*)$')
  filter_plain=(-R '^(test_gemm|test_bf16)$')
  cmake --build "$build" -j"$(nproc)" --target lmtune_cli test_gemm test_kernels test_blocks test_gpt2_parity test_llama_parity \
        test_bf16 $(cd tests && ls test_tok_*.c | sed 's/\.c$//')
else
  cmake --build "$build" -j"$(nproc)"
fi
built=$(date +%s)
echo "test-arm64: installs + cross build $((built - start)) s"
rc=0
for cpu in max cortex-a72; do
  t0=$(date +%s)
  echo "test-arm64: QEMU_CPU=$cpu"
  if [ $cpu = max ]; then filter=("${filter_max[@]}"); else filter=("${filter_plain[@]}"); fi
  (cd "$build" && QEMU_CPU=$cpu LMT_TEST_QUICK=1 ctest --output-on-failure -j"$(nproc)" --timeout 1500 ${filter[@]+"${filter[@]}"}) || rc=1
  echo "test-arm64: QEMU_CPU=$cpu took $(($(date +%s) - t0)) s"
done
echo "test-arm64: total $(($(date +%s) - start)) s"
exit $rc
