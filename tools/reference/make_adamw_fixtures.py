"""torch.optim.AdamW + clip_grad_norm_ on two small tensors (one with weight
decay, one without), 4 steps with given gradients and a changing learning
rate, for lmtune's optimizer test.

Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_adamw_fixtures.py
Writes tests/fixtures/optim/adamw.safetensors: w0, b0 (initial values),
grad_w.<k>, grad_b.<k> (gradients fed at step k), lr (per step),
norm (pre-clip total norm per step), w.<k>, b.<k> (values after step k).
"""
import os

import torch
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "optim", "adamw.safetensors")


def main():
    g = torch.Generator().manual_seed(3)
    w = torch.nn.Parameter(torch.randn(7, 5, generator=g))
    b = torch.nn.Parameter(torch.randn(5, generator=g) * 0.1)
    ref = {"w0": w.detach().clone(), "b0": b.detach().clone()}
    opt = torch.optim.AdamW([{"params": [w], "weight_decay": 0.1}, {"params": [b], "weight_decay": 0.0}],
                            lr=1e-2, betas=(0.9, 0.98), eps=1e-6)
    lrs = [1e-2, 5e-3, 2e-2, 1e-3]
    scales = [0.05, 3.0, 0.01, 0.5]   # steps 2 and 4 are clipped
    norms = []
    for k, (lr, sc) in enumerate(zip(lrs, scales)):
        for group in opt.param_groups:
            group["lr"] = lr
        w.grad = torch.randn(w.shape, generator=g) * sc
        b.grad = torch.randn(b.shape, generator=g) * sc
        ref[f"grad_w.{k}"] = w.grad.clone()
        ref[f"grad_b.{k}"] = b.grad.clone()
        norms.append(float(torch.nn.utils.clip_grad_norm_([w, b], 1.0)))
        opt.step()
        ref[f"w.{k}"] = w.detach().clone()
        ref[f"b.{k}"] = b.detach().clone()
    ref["lr"] = torch.tensor(lrs, dtype=torch.float64)
    ref["norm"] = torch.tensor(norms, dtype=torch.float64)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    # one metadata key: safetensors writes several in random order
    save_file(ref, OUT, metadata={"info": f"torch {torch.__version__}; betas 0.9,0.98; eps 1e-6; "
                                          "weight_decay 0.1 (w), 0 (b); max_grad_norm 1.0"})


if __name__ == "__main__":
    main()
