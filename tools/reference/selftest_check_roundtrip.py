"""Shows that check_roundtrip.py passes what it should and catches what it
should: each fixture judged against itself, then copies with one defect each.

Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/selftest_check_roundtrip.py
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
FX = os.path.join(HERE, "..", "..", "tests", "fixtures", "models")


def judge(written, fixture, *extra):
    r = subprocess.run([sys.executable, os.path.join(HERE, "check_roundtrip.py"), *extra, written, fixture],
                       capture_output=True, text=True)
    verdict = json.loads(r.stdout)
    assert (r.returncode == 0) == verdict["ok"], r.stdout
    return verdict


def edited(tmp, name, arch, edit):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    for f in ("config.json", "generation_config.json", "model.safetensors"):
        if os.path.exists(os.path.join(FX, arch, f)):
            shutil.copy(os.path.join(FX, arch, f), d)
    edit(d)
    return d


def tensors(fn):
    def edit(d):
        path = os.path.join(d, "model.safetensors")
        save_file(fn(load_file(path)), path, metadata={"format": "pt"})
    return edit


def flip_low_bit(t):
    t["transformer.h.1.mlp.c_fc.weight"].view(torch.int32)[0, 0] ^= 1
    return t


def main():
    failures = 0

    def expect(what, verdict, ok, field=None):
        nonlocal failures
        good = verdict["ok"] == ok and (field is None or verdict.get(field))
        failures += not good
        print(("pass" if good else "FAIL"), what, "" if good else json.dumps(verdict))

    for arch in ("gpt2", "bert", "roberta", "distilbert", "marian"):
        expect(f"{arch} judged against itself", judge(os.path.join(FX, arch), os.path.join(FX, arch)), True)
    for arch, cls in (("gpt2-base", "GPT2Model"), ("bert-nohead", "BertModel")):
        expect(f"{arch} as {cls}", judge(os.path.join(FX, arch), os.path.join(FX, arch), "--class", cls), True)
    with tempfile.TemporaryDirectory() as tmp:
        cases = [
            ("one mantissa bit flipped", "gpt2", tensors(flip_low_bit), "tensors_differing"),
            ("tied lm_head.weight stored", "gpt2", tensors(lambda t: {**t, "lm_head.weight": t["transformer.wte.weight"].clone()}),
             "stored_keys_extra"),
            ("final_logits_bias dropped (transformers loads zeros silently)", "marian",
             tensors(lambda t: {k: v for k, v in t.items() if k != "final_logits_bias"}), "stored_keys_missing"),
            ("a key renamed", "bert", tensors(lambda t: {k.replace("transform.dense", "transform.dense_"): v for k, v in t.items()}),
             "missing_keys"),
            ("weights stored as F16", "distilbert",
             tensors(lambda t: {k: v.half() if k.endswith("q_lin.weight") else v for k, v in t.items()}), "tensors_differing"),
            ("config changed", "roberta", lambda d: json.dump({**json.load(open(f"{d}/config.json")), "layer_norm_eps": 1e-12},
                                                             open(f"{d}/config.json", "w")), None),
        ]
        for i, (what, arch, edit, field) in enumerate(cases):
            expect(what, judge(edited(tmp, f"c{i}", arch, edit), os.path.join(FX, arch)), False, field)
        d = edited(tmp, "nometa", "roberta", lambda d: save_file(load_file(f"{d}/model.safetensors"), f"{d}/model.safetensors"))
        expect("no __metadata__ format", judge(d, os.path.join(FX, "roberta")), False)
        d = edited(tmp, "garbage", "gpt2", lambda d: open(f"{d}/model.safetensors", "wb").write(b"\x10" + b"\0" * 7 + b"{}"))
        expect("unreadable model.safetensors", judge(d, os.path.join(FX, "gpt2")), False, "error")
    print("failures:", failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
