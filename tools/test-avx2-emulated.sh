#!/usr/bin/env bash
# The AVX2 level on an AVX2-only CPU, emulated: builds lmtune for
# -march=x86-64-v3 (what a native build on AMD Zen 2/3 or an Intel client
# CPU is) and runs the kernel and parity tests under qemu's user-mode
# emulator as a Haswell CPU (AVX2 + FMA, no AVX-512). lmtune must detect
# avx2 as the CPU's best level, pick the AVX2 kernels, and never execute an
# AVX-512 instruction (qemu would stop the test with SIGILL) - which forcing
# LMT_ISA=avx2 on an AVX-512 machine cannot show. Installs qemu-user-static
# when missing. Emulation is slow (LMT_TEST_QUICK=1); timings mean nothing.
#   tools/test-avx2-emulated.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-x86-64-v3-tests}
[ "$(uname -m)" = x86_64 ] || { echo "test-avx2-emulated: needs an x86-64 machine" >&2; exit 2; }
if ! command -v qemu-x86_64-static >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -q qemu-user-static >/dev/null; else sudo apt-get install -y -q qemu-user-static >/dev/null; fi
fi
data_flag=()
if [ ! -d ../shared/data ] && [ -n "${LMT_SHARED_DATA:-}" ]; then data_flag=(-DLMT_SHARED_DATA="$LMT_SHARED_DATA"); fi
tests=(test_blocks test_gpt2_parity test_kv_cache test_adamw test_dropout test_bf16 test_generate test_lowrank)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLMT_MARCH=x86-64-v3 "${data_flag[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)" --target lmtune_cli "${tests[@]}" >/dev/null
emu() { OMP_NUM_THREADS=2 LMT_TEST_QUICK=1 qemu-x86_64-static -cpu Haswell "$@" 2> >(grep -v 'warning: TCG' >&2); }
info=$(emu "$build/lmtune" info)
echo "$info" | sed 's/^/test-avx2-emulated: /'
echo "$info" | grep -q '^level: avx2 (the CPU' && echo "$info" | grep -q 'fp32 avx2, bf16 avx2' \
  || { echo "test-avx2-emulated: FAILED: the emulated Haswell is not run at the avx2 level" >&2; exit 1; }
rc=0
for t in "${tests[@]}"; do
  s=$(date +%s)
  if out=$(emu "$build/$t" 2>&1); then
    echo "test-avx2-emulated: $t: $(echo "$out" | tail -1) ($(($(date +%s) - s)) s)"
  else
    echo "test-avx2-emulated: $t FAILED (exit $?; 132 = SIGILL, an instruction the CPU lacks):" >&2
    echo "$out" | tail -20 >&2
    rc=1
  fi
done
exit $rc
