#!/usr/bin/env bash
# lmtune's default job for `make run`. Until the Trainer lands (issue 4), it
# inspects the bundled tiny GPT-2 checkpoint and writes it back as an HF folder.
set -euo pipefail
build="${1:-build}"
cd "$(dirname "$0")/.."
fixture=tests/fixtures/models/gpt2
"$build/lmtune" inspect "$fixture"
out="${LMT_OUT:-out/gpt2-converted}"
"$build/lmtune" convert "$fixture" "$out"
