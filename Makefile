# Thin wrapper over CMake so the README's commands stay short.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)

.PHONY: all deps build test test-release test-asan test-arm64 test-arm64-quick test-avx2-emulated run clean

all: build

deps:
	@tools/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

test-release: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DLMT_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 LMT_TEST_QUICK=1 ctest --output-on-failure -j$(JOBS)

# The whole suite: optimised build, then the sanitizer build.
test: test-release test-asan

# ARM64: cross build (cmake/aarch64-linux-gnu.cmake) and the suite under qemu,
# on an emulated CPU with BF16 and one without; installs what it needs.
ARM64_BUILD ?= build-arm64
test-arm64:
	@tools/test-arm64.sh $(ARM64_BUILD)

# CI's share of it: the kernel, block, parity and tokenizer tests.
# the kernel and parity tests of an -march=x86-64-v3 build on an emulated
# Haswell (AVX2, no AVX-512): what an AVX2-only CPU runs
test-avx2-emulated:
	@tools/test-avx2-emulated.sh

test-arm64-quick:
	@tools/test-arm64.sh --quick $(ARM64_BUILD)

run: build
	@tools/run-default.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(ARM64_BUILD)
