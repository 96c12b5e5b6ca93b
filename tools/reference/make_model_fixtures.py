"""Tiny randomly initialised models saved by transformers, with reference
outputs (logits, loss, every parameter's gradient) for lmtune's parity tests.

Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_model_fixtures.py [--out DIR]
Writes DIR/<arch>/ for gpt2, bert, roberta, distilbert, marian, gpt2-base and
bert-nohead, and the tensor-layout section of DIR/README.md (default DIR:
tests/fixtures/models). Deterministic: a re-run rewrites the same bytes.
"""
import argparse
import json
import os
import re

import torch
import transformers as T
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "models")
V = 96
B, TLEN = 2, 10


def configs():
    return {
        "gpt2": (T.GPT2LMHeadModel, T.GPT2Config(vocab_size=V, n_positions=32, n_embd=32, n_layer=2, n_head=4,
                                                   bos_token_id=V - 1, eos_token_id=V - 1)),
        "bert": (T.BertForMaskedLM, T.BertConfig(vocab_size=V, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                                 intermediate_size=64, max_position_embeddings=32, type_vocab_size=2)),
        "roberta": (T.RobertaForMaskedLM, T.RobertaConfig(vocab_size=V, hidden_size=32, num_hidden_layers=2,
                                                          num_attention_heads=4, intermediate_size=64,
                                                          max_position_embeddings=34, type_vocab_size=1,
                                                          layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0,
                                                          eos_token_id=2)),
        "distilbert": (T.DistilBertForMaskedLM, T.DistilBertConfig(vocab_size=V, dim=32, n_layers=2, n_heads=4,
                                                                   hidden_dim=64, max_position_embeddings=32)),
        "marian": (T.MarianMTModel, T.MarianConfig(vocab_size=V, d_model=32, encoder_layers=2, decoder_layers=2,
                                                   encoder_attention_heads=4, decoder_attention_heads=4,
                                                   encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=32,
                                                   activation_function="swish", scale_embedding=True,
                                                   pad_token_id=V - 1, decoder_start_token_id=V - 1, eos_token_id=0,
                                                   forced_eos_token_id=0)),
        # transformers 5 drops generation settings (bad_words_ids, num_beams,
        # max_length) passed to a model config: they are not written anywhere.
    }


def batch(arch, cfg, g):
    ids = torch.randint(3, V - 2, (B, TLEN), generator=g)
    mask = torch.ones(B, TLEN, dtype=torch.long)
    mask[1, 7:] = 0
    pad = cfg.pad_token_id if cfg.pad_token_id is not None else 0
    ids[1, 7:] = pad
    out = {"input_ids": ids, "attention_mask": mask}
    if arch == "gpt2":
        labels = ids.clone()
        labels[mask == 0] = -100
        out["labels"] = labels
    elif arch == "marian":
        tgt = torch.randint(3, V - 2, (B, 8), generator=g)
        tgt[:, -1] = 0
        tgt[1, 5] = 0
        labels = tgt.clone()
        labels[1, 6:] = -100
        out["labels"] = labels
        dec = labels.clone()
        dec[dec == -100] = pad
        out["decoder_input_ids"] = torch.cat([torch.full((B, 1), cfg.decoder_start_token_id), dec[:, :-1]], dim=1)
    else:
        labels = torch.full_like(ids, -100)
        pick = torch.rand(B, TLEN, generator=g) < 0.3
        pick[mask == 0] = False
        pick[0, 1] = True
        labels[pick] = ids[pick]
        out["labels"] = labels
        if arch == "bert":
            tt = torch.zeros_like(ids)
            tt[:, 5:] = 1
            out["token_type_ids"] = tt
    return out


OWN_FILES = ("config.json", "generation_config.json", "model.safetensors", "pytorch_model.bin",
             "reference.safetensors", "reference.json")


def fresh_dir(d):
    """Removes only what this script writes: other tools add files here
    (gpt2/reference_leftpad.safetensors)."""
    os.makedirs(d, exist_ok=True)
    for name in OWN_FILES:
        if os.path.exists(os.path.join(d, name)):
            os.remove(os.path.join(d, name))


def safetensors_keys(d):
    with open(os.path.join(d, "model.safetensors"), "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        return sorted(k for k in json.loads(f.read(n)) if k != "__metadata__")


def layout(model, saved_keys):
    """Every state-dict entry: shape, parameter or buffer, stored by
    save_pretrained or not, and the tensor it is tied to."""
    sd = model.state_dict()
    params = dict(model.named_parameters())
    first = {}
    rows = {}
    for k, v in sd.items():
        owner = first.setdefault(v.data_ptr(), k)
        rows[k] = {"shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", ""),
                   "kind": "parameter" if k in params or owner in params else "buffer",
                   "requires_grad": bool(params[owner].requires_grad) if owner in params else False,
                   "in_model_safetensors": k in saved_keys, "tied_to": owner if owner != k else None}
    persistent = set(sd)
    rows_np = {n: {"shape": list(b.shape), "dtype": str(b.dtype).replace("torch.", "")}
               for n, b in model.named_buffers() if n not in persistent}
    return rows, rows_np


def tied_groups(model):
    sd = model.state_dict()
    by_ptr = {}
    for k, v in sd.items():
        by_ptr.setdefault(v.data_ptr(), []).append(k)
    return [ks for ks in by_ptr.values() if len(ks) > 1]


def forward_backward(model, inp):
    """The batch, logits, loss and every parameter's gradient of one forward +
    backward, as the tensors of reference.safetensors."""
    out = model(**inp)
    out.loss.backward()
    ref = {k: v.contiguous() for k, v in inp.items()}
    ref["logits"] = out.logits.detach().contiguous()
    ref["loss"] = out.loss.detach().reshape(1)
    for n, p in model.named_parameters():
        if p.grad is not None:
            ref["grad." + n] = p.grad.detach().contiguous()
    return ref


def make(arch, cls, cfg, seed):
    torch.manual_seed(seed)
    model = cls(cfg)
    model.eval()
    d = os.path.join(OUT, arch)
    fresh_dir(d)
    model.save_pretrained(d)
    sd = model.state_dict()
    torch.save(sd, os.path.join(d, "pytorch_model.bin"))
    g = torch.Generator().manual_seed(seed + 1)
    inp = batch(arch, cfg, g)
    ref = forward_backward(model, inp)
    traj = {}
    if arch == "gpt2":
        traj = trajectory(cls, cfg, seed, inp)
        ref.update(traj)
    save_file(ref, os.path.join(d, "reference.safetensors"))
    st_keys = safetensors_keys(d)
    rows, non_persistent = layout(model, set(st_keys))
    info = {
        "class": cls.__name__, "transformers": T.__version__, "torch": torch.__version__,
        "state_dict_keys": list(sd.keys()), "named_parameters": [n for n, _ in model.named_parameters()],
        "safetensors_keys": sorted(st_keys), "tied": tied_groups(model),
        "num_parameters": model.num_parameters(), "seed": seed,
        "inputs": sorted(inp.keys()), "dropout": "off (eval mode)",
        "layout": rows, "non_persistent_buffers": non_persistent,
    }
    if traj:
        info["trajectory"] = {"steps": 5, "optimizer": "torch.optim.AdamW", "lr": 1e-3, "betas": [0.9, 0.999],
                              "eps": 1e-8, "weight_decay": 0.01,
                              "no_decay": "biases and LayerNorm weights (Trainer grouping)", "max_grad_norm": 1.0}
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump(info, f, indent=1)
    return model


def trajectory(cls, cfg, seed, inp):
    torch.manual_seed(seed)
    model = cls(cfg)
    model.train()
    for m in model.modules():  # dropout off, as the parity test runs it
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (no_decay if (n.endswith("bias") or "ln_" in n or "LayerNorm" in n or "layer_norm" in n) else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    losses, norms = [], []
    for _ in range(5):
        opt.zero_grad()
        loss = model(**inp).loss
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)))
        losses.append(float(loss))
        opt.step()
    return {"traj.loss": torch.tensor(losses), "traj.grad_norm": torch.tensor(norms)}


def headless_variants():
    """Checkpoints of the bare models: transformers adds the prefix (GPT2Model)
    or initialises a fresh head (BertModel -> BertForMaskedLM), with a warning."""
    for name, base_cls, head_cls, arch in [("gpt2-base", T.GPT2Model, T.GPT2LMHeadModel, "gpt2"),
                                           ("bert-nohead", T.BertModel, T.BertForMaskedLM, "bert")]:
        cfg = configs()[arch][1]
        torch.manual_seed(7)
        base = base_cls(cfg)
        d = os.path.join(OUT, name)
        fresh_dir(d)
        base.save_pretrained(d)
        _, info = head_cls.from_pretrained(d, output_loading_info=True)
        st_keys = safetensors_keys(d)
        rows, non_persistent = layout(base, set(st_keys))
        with open(os.path.join(d, "reference.json"), "w") as f:
            json.dump({"saved_class": base_cls.__name__, "loaded_as": head_cls.__name__,
                       "missing_keys": sorted(info["missing_keys"]), "unexpected_keys": sorted(info["unexpected_keys"]),
                       "transformers": T.__version__, "torch": torch.__version__, "seed": 7,
                       "safetensors_keys": st_keys, "layout": rows, "non_persistent_buffers": non_persistent}, f, indent=1)


def short(name):
    """transformer.h.1.attn.c_attn.weight -> transformer.h.{i}.attn.c_attn.weight"""
    return re.sub(r"\.(\d+)\.", ".{i}.", name)


def readme_layout():
    """The per-architecture tensor tables of README.md, from reference.json."""
    out = []
    for arch in list(configs()) + ["gpt2-base", "bert-nohead"]:
        info = json.load(open(os.path.join(OUT, arch, "reference.json")))
        cls = info.get("class") or info["saved_class"]
        out.append(f"### {arch} ({cls})\n")
        out.append("| state-dict key | shape | kind | in model.safetensors |")
        out.append("|---|---|---|---|")
        seen = set()
        for k, r in info["layout"].items():
            key = short(k)
            if key in seen:
                continue
            seen.add(key)
            kind = r["kind"] + ("" if r["requires_grad"] or r["kind"] == "buffer" else ", frozen")
            stored = "yes" if r["in_model_safetensors"] else (f"no (tied to `{short(r['tied_to'])}`)" if r["tied_to"] else "no")
            out.append(f"| `{key}` | {r['shape']} | {kind} | {stored} |")
        np_ = info["non_persistent_buffers"]
        out.append("\nNon-persistent buffers (in neither file): " +
                   (", ".join(f"`{short(n)}` {v['shape']} {v['dtype']}" for n, v in np_.items()) if np_ else "none") + ".\n")
    return "\n".join(out)


def write_readme():
    path = os.path.join(OUT, "README.md")
    begin, end = "<!-- layout:begin (written by make_model_fixtures.py) -->", "<!-- layout:end -->"
    text = open(path).read() if os.path.exists(path) else begin + "\n" + end + "\n"
    if begin not in text or end not in text:
        text += "\n" + begin + "\n" + end + "\n"
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    with open(path, "w") as f:
        f.write(head + begin + "\n" + readme_layout() + "\n" + end + tail)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=OUT, help="fixture folder (default: %(default)s)")
    OUT = os.path.abspath(ap.parse_args().out)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    for i, (arch, (cls, cfg)) in enumerate(configs().items()):
        make(arch, cls, cfg, 100 + i)
        print("wrote", arch)
    headless_variants()
    write_readme()
    print("done")
