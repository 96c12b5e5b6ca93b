#!/usr/bin/env bash
# The libFuzzer harnesses of fuzz/ (docs/FUZZING.md).
#   tools/fuzz.sh NAME SECONDS   build if needed, run fuzz_NAME for SECONDS over
#                                its corpus (build-fuzz/corpus/NAME, grown by the
#                                run) and seeds; prints executions, coverage
#                                (cov/ft) and findings (build-fuzz/findings/NAME/)
#   tools/fuzz.sh --all SECONDS  every harness in turn
#   tools/fuzz.sh --ci SECONDS   every harness over its seeds alone (no corpus
#                                kept); skips, saying so, without clang + libFuzzer
#   tools/fuzz.sh --list         the harness names
#   tools/fuzz.sh --install      installs clang and libFuzzer (Debian)
# Runs niced (nice -n 19). Environment: FUZZ_BUILD (build-fuzz), FUZZ_RSS_MB
# (2048: -rss_limit_mb), FUZZ_TIMEOUT (10: seconds one input may take),
# FUZZ_JOBS (2: build jobs), TMPDIR (the harnesses' scratch files; default
# /dev/shm when writable). Exit status: 0 when no finding, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${FUZZ_BUILD:-build-fuzz}
RSS=${FUZZ_RSS_MB:-2048}
TIMEOUT=${FUZZ_TIMEOUT:-10}
JOBS=${FUZZ_JOBS:-2}
# The harnesses write each input to a file: on a disk the fuzzers wait for
# the journal (a third of their time here), on a tmpfs they do not.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
names() { for f in fuzz/fuzz_*.c; do n=$(basename "$f" .c); echo "${n#fuzz_}"; done; }
have_libfuzzer() {
  command -v clang >/dev/null || return 1
  local d; d=$(mktemp -d)
  printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }\n' > "$d/t.c"
  clang -fsanitize=fuzzer,address,undefined "$d/t.c" -o "$d/t" >/dev/null 2>&1; local rc=$?
  rm -rf "$d"; return $rc
}
build() {   # configures and builds the harnesses (and the replay programs the seeds need)
  if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    CC=clang cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLMT_FUZZ=ON -DLMT_BUILD_TESTS=OFF -DLMT_NATIVE=OFF >/dev/null
  fi
  local targets=()
  for n in "$@"; do
    targets+=(--target "fuzz_$n")
    # the harnesses that write their own seeds (fuzz/make_seeds.sh runs them)
    grep -q '^int lmt_fuzz_make_seeds' "fuzz/fuzz_$n.c" && targets+=(--target "fuzz_replay_$n")
  done
  nice -n 19 cmake --build "$BUILD" -j"$JOBS" "${targets[@]}" >"$BUILD/build.log" 2>&1 ||
    { tail -30 "$BUILD/build.log"; echo "fuzz: the build failed ($BUILD/build.log)"; exit 2; }
}
run_one() {   # run_one NAME SECONDS CORPUS_KEPT(0/1)
  local name=$1 secs=$2 keep=$3
  local seeds="$BUILD/seeds/$name" corpus="$BUILD/corpus/$name" findings="$BUILD/findings/$name" log="$BUILD/logs/$name.log"
  mkdir -p "$corpus" "$findings" "$BUILD/logs"
  local dict=() dirs=("$corpus" "$seeds")
  [ -f "fuzz/$name.dict" ] && dict=(-dict="fuzz/$name.dict")
  if [ "$keep" = 0 ]; then corpus=$(mktemp -d); dirs=("$corpus" "$seeds"); fi
  local before; before=$(ls "$findings" | wc -l)
  local t0=$SECONDS
  nice -n 19 "$BUILD/fuzz_$name" "${dirs[@]}" "${dict[@]}" -max_total_time="$secs" -rss_limit_mb="$RSS" -timeout="$TIMEOUT" \
    -malloc_limit_mb="$RSS" -artifact_prefix="$findings/" -print_final_stats=1 -close_fd_mask=1 >"$log" 2>&1 || true
  local execs cov ft corp
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
  corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 | cut -d' ' -f2)
  local after; after=$(ls "$findings" | wc -l)
  [ "$keep" = 0 ] && rm -rf "$corpus"
  printf 'fuzz %-15s %5ss  execs %-10s cov %-6s ft %-6s corpus %-12s findings %s\n' "$name" "$((SECONDS - t0))" \
    "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$((after - before))"
  if [ "$after" -gt "$before" ] || grep -qE '^==[0-9]+==ERROR|runtime error:|^SUMMARY: ' "$log"; then
    grep -E '^==[0-9]+==ERROR|runtime error:|SUMMARY:|Test unit written' "$log" | head -5 | sed 's/^/    /'
    echo "    log: $log"
    return 1
  fi
}
case "${1:-}" in
  --list) names; exit 0 ;;
  --install)
    if have_libfuzzer; then exit 0; fi
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang libclang-rt-dev >/dev/null 2>&1 ||
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang "libclang-rt-$(clang --version | grep -oE '[0-9]+' | head -1)-dev" >/dev/null
    exit 0 ;;
  --all|--ci)
    mode=$1; secs=${2:?usage: tools/fuzz.sh $1 SECONDS}
    if ! have_libfuzzer; then echo "fuzz: skipped: no clang with libFuzzer (tools/fuzz.sh --install)"; exit 0; fi
    mapfile -t all < <(names)
    build "${all[@]}"
    fuzz/make_seeds.sh "$BUILD/seeds" "$BUILD" >/dev/null 2>&1
    rc=0
    for n in "${all[@]}"; do run_one "$n" "$secs" "$([ "$mode" = --ci ] && echo 0 || echo 1)" || rc=1; done
    exit $rc ;;
  ""|-h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
name=$1; secs=${2:?usage: tools/fuzz.sh NAME SECONDS}
[ -f "fuzz/fuzz_$name.c" ] || { echo "fuzz: no harness \"$name\" (one of: $(names | tr '\n' ' '))"; exit 2; }
have_libfuzzer || { echo "fuzz: no clang with libFuzzer (tools/fuzz.sh --install)"; exit 2; }
build "$name"
fuzz/make_seeds.sh "$BUILD/seeds" "$BUILD" >/dev/null 2>&1
run_one "$name" "$secs" 1
