"""Loads a model folder lmtune wrote with transformers and compares it with
the fixture transformers saved: no missing/unexpected keys, every tensor of
the state dict bit-identical, identical logits on the reference batch.

Usage: check_roundtrip.py LMTUNE_WRITTEN_DIR FIXTURE_DIR   (prints a JSON verdict)
"""
import json
import sys

import torch
import transformers as T
from safetensors.torch import load_file


def main(written, fixture):
    info = json.load(open(f"{fixture}/reference.json"))
    cls = getattr(T, info["class"])
    got, loading = cls.from_pretrained(written, output_loading_info=True)
    want = cls.from_pretrained(fixture)
    got.eval()
    want.eval()
    verdict = {"class": info["class"], "transformers": T.__version__,
               "missing_keys": sorted(loading["missing_keys"]), "unexpected_keys": sorted(loading["unexpected_keys"])}
    sd_got, sd_want = got.state_dict(), want.state_dict()
    differ = [k for k in sd_want if k not in sd_got or not torch.equal(sd_got[k], sd_want[k])]
    verdict["tensors_compared"] = len(sd_want)
    verdict["tensors_differing"] = differ
    ref = load_file(f"{fixture}/reference.safetensors")
    inputs = {k: ref[k] for k in info["inputs"]}
    with torch.no_grad():
        logits = got(**inputs).logits
    verdict["logits_identical"] = bool(torch.equal(logits, ref["logits"]))
    verdict["ok"] = not verdict["missing_keys"] and not verdict["unexpected_keys"] and not differ and verdict["logits_identical"]
    print(json.dumps(verdict))
    return 0 if verdict["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
