#!/usr/bin/env bash
# Writes every model fixture back through lmtune (from model.safetensors and
# from pytorch_model.bin) and has transformers load the result and compare it
# with the fixture. The verdicts are recorded in tests/fixtures/models/roundtrip.json.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${LMT_REF_VENV:-$HOME/.cache/lmtune/ref-venv}"
build="${LMT_BUILD_DIR:-build}"   # another build folder, e.g. when several people share the tree
cd "$root"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target lmtune_cli >/dev/null
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
out="tests/fixtures/models/roundtrip.json"
echo "[" > "$tmp/verdicts"
first=1
for fx in tests/fixtures/models/*/; do
  fx="${fx%/}"
  name="$(basename "$fx")"
  [ -f "$fx/config.json" ] || continue
  for fmt in model.safetensors pytorch_model.bin; do
    [ -f "$fx/$fmt" ] || continue
    src="$tmp/src-$name-$fmt"; dst="$tmp/dst-$name-$fmt"
    mkdir -p "$src"
    cp "$fx/config.json" "$src/"
    [ -f "$fx/generation_config.json" ] && cp "$fx/generation_config.json" "$src/"
    cp "$fx/$fmt" "$src/"
    "./$build/lmtune" convert "$src" "$dst" >/dev/null
    verdict="$("$venv/bin/python" "$here/check_roundtrip.py" "$dst" "$fx")"
    [ $first -eq 1 ] || echo "," >> "$tmp/verdicts"
    first=0
    printf '{"fixture": "%s", "read_from": "%s", "verdict": %s}\n' "$name" "$fmt" "$verdict" >> "$tmp/verdicts"
  done
done
echo "]" >> "$tmp/verdicts"
"$venv/bin/python" -c "import json,sys; d=json.load(open(sys.argv[1])); json.dump(d, open(sys.argv[2],'w'), indent=1); print(sum(1 for v in d if v['verdict'].get('ok')), 'of', len(d), 'round trips ok')" "$tmp/verdicts" "$out"
