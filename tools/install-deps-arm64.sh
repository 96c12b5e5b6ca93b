#!/usr/bin/env bash
# Installs what the arm64 cross build and its emulated tests need on Debian
# (as root or via sudo): the aarch64 cross compiler, qemu's user-mode
# emulator, and the arm64 builds of the libraries lmtune links (multiarch).
# Packages already present are not reinstalled, so repeated runs are quick.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
# (libgfortran-12-dev-arm64-cross: the static link of libopenblas.a that
# tests/check_install.sh does needs -lgfortran)
pkgs=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross libgfortran-12-dev-arm64-cross qemu-user-static
      libonig-dev libopenblas-dev:arm64 libutf8proc-dev:arm64 libonig5:arm64 libgomp1:arm64 libcurl4-openssl-dev:arm64 libssl-dev:arm64)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
# The :arm64 packages need the architecture enabled (and its indexes fetched).
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $SUDO dpkg --add-architecture arm64
fi
echo "install-deps-arm64: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
