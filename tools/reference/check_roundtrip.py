"""Has transformers judge a model folder lmtune wrote against the fixture
transformers saved. Prints one JSON verdict on stdout; exit status 0 when ok.

Usage: check_roundtrip.py [--class NAME] LMTUNE_WRITTEN_DIR FIXTURE_DIR

ok requires all of:
  (a) from_pretrained(WRITTEN) reports no missing, unexpected or mismatched keys;
  (b) its state_dict has the fixture's keys and every tensor is bit-identical
      (dtype, shape and bytes) to the fixture's state_dict - taken from the
      fixture's pytorch_model.bin (torch.save(model.state_dict()), so tied
      weights and Marian's sinusoidal positions are included) or, for a
      fixture without one, from from_pretrained(FIXTURE);
  (c) the logits on the fixture's reference batch (reference.safetensors,
      eval mode) are bit-identical to the reference logits;
  (d) WRITTEN/model.safetensors stores the same keys as the fixture's
      model.safetensors (tied weights once, Marian positions left out, as
      transformers saves them) with identical bytes, and __metadata__ format "pt";
  (e) WRITTEN's config.json and generation_config.json hold the same JSON as
      the fixture's (transformers_version aside), or both lack the latter.
Headless fixtures (gpt2-base: a GPT2Model checkpoint, bert-nohead: a
BertModel one) are judged as transformers itself would convert them:
loaded_as.from_pretrained(FIXTURE) then save_pretrained - the head class, the
base prefix added, a fresh head. The fresh keys (reference.json's
missing_keys) hold random values, so they are reported, not compared; (c) is
skipped (no reference batch), and (d) compares with that save_pretrained.
"""
import argparse
import json
import os
import sys
import tempfile

import torch
import transformers as T
from safetensors import safe_open
from safetensors.torch import load_file


def same_bits(a, b):
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    a, b = a.detach().contiguous().cpu(), b.detach().contiguous().cpu()
    return a.numel() == 0 or torch.equal(a.reshape(-1).view(torch.uint8), b.reshape(-1).view(torch.uint8))


def fixture_info(fixture):
    path = os.path.join(fixture, "reference.json")
    return json.load(open(path)) if os.path.exists(path) else {}


def model_class(fixture, override):
    info = fixture_info(fixture)
    name = override or info.get("class") or info.get("loaded_as")
    if not name:
        name = json.load(open(os.path.join(fixture, "config.json")))["architectures"][0]
    return name


def read_json(path):
    if not os.path.exists(path):
        return None
    d = json.load(open(path))
    d.pop("transformers_version", None)
    return d


def stored(path):
    with safe_open(path, "pt") as f:
        return f.metadata(), {k: f.get_tensor(k) for k in f.keys()}


def check(written, fixture, cls_name, scratch):
    cls = getattr(T, cls_name)
    info = fixture_info(fixture)
    headless = info.get("loaded_as") == cls_name
    fresh = set(info.get("missing_keys", [])) if headless else set()
    verdict = {"class": cls_name, "transformers": T.__version__, "torch": torch.__version__,
               "written_files": sorted(os.listdir(written))}
    got, loading = cls.from_pretrained(written, output_loading_info=True)
    got.eval()
    for k in ("missing_keys", "unexpected_keys", "mismatched_keys"):
        verdict[k] = sorted(str(x) for x in loading.get(k, []))
    verdict["error_msgs"] = [str(x) for x in loading.get("error_msgs", [])]

    bin_path = os.path.join(fixture, "pytorch_model.bin")
    st_want = os.path.join(fixture, "model.safetensors")
    if os.path.exists(bin_path) and not headless:
        want_sd, verdict["compared_with"] = torch.load(bin_path, map_location="cpu", weights_only=True), "pytorch_model.bin"
    else:
        want = cls.from_pretrained(fixture)
        want_sd, verdict["compared_with"] = want.state_dict(), f"{cls_name}.from_pretrained(fixture)"
        if headless:
            want.save_pretrained(scratch)
            st_want = os.path.join(scratch, "model.safetensors")
    got_sd = got.state_dict()
    verdict["tensors_compared"] = len([k for k in want_sd if k not in fresh])
    verdict["tensors_differing"] = [k for k in want_sd if k not in fresh and (k not in got_sd or not same_bits(got_sd[k], want_sd[k]))]
    verdict["tensors_extra"] = [k for k in got_sd if k not in want_sd]
    if headless:
        verdict["fresh_keys_not_compared"] = sorted(fresh)

    verdict["logits_identical"] = None
    ref_path = os.path.join(fixture, "reference.safetensors")
    if os.path.exists(ref_path):
        ref = load_file(ref_path)
        names = json.load(open(os.path.join(fixture, "reference.json")))["inputs"]
        with torch.no_grad():
            logits = got(**{k: ref[k] for k in names}).logits
        verdict["logits_identical"] = same_bits(logits, ref["logits"])

    want_dir = scratch if headless else fixture
    for name in ("config.json", "generation_config.json"):
        a, b = read_json(os.path.join(written, name)), read_json(os.path.join(want_dir, name))
        verdict[name.replace(".json", "_identical")] = a == b
    st_got = os.path.join(written, "model.safetensors")
    verdict["stored_keys_match"] = None
    if not os.path.exists(st_got):
        verdict["stored_keys_match"] = False  # lmtune always writes model.safetensors
    elif os.path.exists(st_want):
        meta, a = stored(st_got)
        _, b = stored(st_want)
        verdict["safetensors_metadata"] = meta
        verdict["stored_keys_missing"] = sorted(set(b) - set(a))
        verdict["stored_keys_extra"] = sorted(set(a) - set(b))
        verdict["stored_tensors_differing"] = sorted(k for k in set(a) & set(b) - fresh if not same_bits(a[k], b[k]))
        verdict["stored_keys_match"] = (not verdict["stored_keys_missing"] and not verdict["stored_keys_extra"]
                                        and not verdict["stored_tensors_differing"] and (meta or {}).get("format") == "pt")

    verdict["ok"] = (not verdict["missing_keys"] and not verdict["unexpected_keys"] and not verdict["mismatched_keys"]
                     and not verdict["error_msgs"] and not verdict["tensors_differing"] and not verdict["tensors_extra"]
                     and verdict["logits_identical"] is not False and verdict["stored_keys_match"] is not False
                     and verdict["config_identical"] and verdict["generation_config_identical"])
    return verdict


def main():
    ap = argparse.ArgumentParser(description="transformers' verdict on a model folder lmtune wrote")
    ap.add_argument("written", help="the folder lmtune wrote")
    ap.add_argument("fixture", help="the fixture folder (tests/fixtures/models/<arch>)")
    ap.add_argument("--class", dest="cls", help="transformers class to load both with (default: from reference.json)")
    args = ap.parse_args()
    T.logging.set_verbosity_error()
    T.logging.disable_progress_bar()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            verdict = check(args.written, args.fixture, model_class(args.fixture, args.cls), scratch)
    except Exception as e:  # a folder transformers cannot load at all is a verdict too
        verdict = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    print(json.dumps(verdict))
    return 0 if verdict["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
