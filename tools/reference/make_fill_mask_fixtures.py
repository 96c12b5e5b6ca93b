"""Reference top-k for the fill-mask scorer (src/generate/fill_mask.c).

Logits come from a 64-bit LCG quantised to `levels` values (few levels ->
many ties, to pin torch.topk's tie order); the C test rebuilds the same
logits. Expected values are what FillMaskPipeline.postprocess computes:
probs = logits.softmax(-1); probs.topk(top_k).

Run: /root/.cache/lmtune/ref-venv/bin/python tools/reference/make_fill_mask_fixtures.py
Writes tests/fixtures/fill_mask/topk.txt: per case a line
"T V seed levels top_k n_pos pos...", then per position one line of
top_k "id score" pairs.
"""
import os
import numpy as np
import torch

M64 = (1 << 64) - 1


def logits(T, V, seed, levels):
    s = seed
    out = np.empty(T * V, dtype=np.float64)
    for j in range(T * V):
        s = (s * 6364136223846793005 + 1442695040888963407) & M64
        q = (s >> 33) % levels
        out[j] = q * (20.0 / levels) - 10.0
    return torch.from_numpy(out.astype(np.float32).reshape(T, V))


CASES = [  # T, V, seed, levels, top_k, positions
    (4, 30522, 1, 2000, 5, [1, 3]),
    (3, 50265, 2, 1 << 24, 10, [0, 2]),
    (2, 1000, 3, 7, 5, [0, 1]),
    (1, 1000, 4, 1, 5, [0]),
    (2, 6400, 5, 3, 100, [1]),
    (1, 50, 6, 1 << 24, 10, [0]),
]

here = os.path.dirname(os.path.abspath(__file__))
path = os.path.join(here, "..", "..", "tests", "fixtures", "fill_mask", "topk.txt")
with open(path, "w") as f:
    for T, V, seed, levels, k, pos in CASES:
        x = logits(T, V, seed, levels)
        f.write(f"{T} {V} {seed} {levels} {k} {len(pos)} " + " ".join(map(str, pos)) + "\n")
        for p in pos:
            probs = x[p].softmax(dim=-1)
            values, ids = probs.topk(k)
            f.write(" ".join(f"{i} {v:.9e}" for i, v in zip(ids.tolist(), values.tolist())) + "\n")
print("wrote", path)
