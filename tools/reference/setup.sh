#!/usr/bin/env bash
# Creates the Python reference environment (outside the repository) and, with
# --fixtures, regenerates every reference fixture under tests/fixtures/.
# The product and its tests never need Python; only this tool does.
#   tools/reference/setup.sh              # create/update the venv only
#   tools/reference/setup.sh --fixtures   # ... and rewrite the fixtures
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${LMT_REF_VENV:-$HOME/.cache/lmtune/ref-venv}"
if [ ! -x "$venv/bin/python" ]; then
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
fi
# every pinned requirement present at its version, else install them all
missing=$(comm -23 <(grep -v '^#' "$here/requirements.txt" | grep . | tr 'A-Z_' 'a-z-' | sort) \
                   <("$venv/bin/pip" freeze 2>/dev/null | tr 'A-Z_' 'a-z-' | sort))
if [ -n "$missing" ]; then
  "$venv/bin/pip" install -q -r "$here/requirements.txt"
fi
echo "reference venv: $venv"
if [ "${1:-}" = "--fixtures" ]; then
  py="$venv/bin/python"
  cd "$root"
  for script in "$here"/make_*_fixtures.py; do
    echo "running $(basename "$script")"
    "$py" "$script"
  done
  if [ -x "$here/roundtrip.sh" ]; then "$here/roundtrip.sh"; fi
fi
