# Cross build for 64-bit ARM Linux with Debian's cross compiler
# (gcc-aarch64-linux-gnu) and the multiarch arm64 libraries
# (libopenblas-dev:arm64, libutf8proc-dev:arm64); tools/install-deps-arm64.sh
# installs them. The tests and the programs they spawn run under qemu's
# user-mode emulator (qemu-user-static), so `ctest` works on an x86 machine:
#
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
#
# or simply `make test-arm64` (tools/test-arm64.sh).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# Debian's multiarch layout: the cross libc under /usr/aarch64-linux-gnu, the
# :arm64 packages under /usr/lib/aarch64-linux-gnu and /usr/include.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)    # host tools (pkg-config, sh)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)     # pkg-config hands absolute multiarch paths
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# pkg-config must see only the arm64 .pc files, never the host's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

# ctest (and try_run) run the aarch64 binaries through qemu. The emulated
# loader is the multiarch one (/lib/ld-linux-aarch64.so.1 from libc6:arm64,
# which the :arm64 libraries pull in): no -L /usr/aarch64-linux-gnu, whose
# cross libc can be a different Debian revision than the libc6:arm64 the
# loader then also finds, and the two together hang in pthread_create.
find_program(LMT_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(LMT_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${LMT_QEMU_AARCH64})
endif()
