#!/usr/bin/env bash
# Installs what lmtune needs to build and test on Debian (as root or via sudo).
# Packages already present are not reinstalled, so repeated runs are quick.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libopenblas-dev libutf8proc-dev libonig-dev libcurl4-openssl-dev libssl-dev zlib1g-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
