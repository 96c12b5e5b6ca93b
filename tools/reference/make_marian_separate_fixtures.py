"""Tiny MarianMTModel checkpoints whose encoder and decoder vocabularies are
separate ("share_encoder_decoder_embeddings": false), plus one with shared
embeddings but an untied lm_head, saved by transformers, with reference
outputs (logits, loss, every parameter's gradient) for lmtune's parity and
load/save tests (tests/test_marian_separate.c).

Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_marian_separate_fixtures.py [--out DIR]
Writes DIR/<variant>/ (default DIR: tests/fixtures/models/marian-separate)
and DIR/tokenizer/: a MarianTokenizer with separate_vocabs=true over the
opus-mt-tc-big-en-pt SentencePiece models (read from the shared data folder,
not copied) with a small made-up target_vocab.json, and transformers'
encodings / decodings in reference.json.
Deterministic: a re-run rewrites the same bytes.
"""
import argparse
import json
import os
import random
import shutil
import sys
import tempfile

import torch
import transformers as T
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_model_fixtures import forward_backward, fresh_dir, layout, safetensors_keys, tied_groups  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "models", "marian-separate")
B, TS, TT = 2, 10, 8


def variants():
    """name -> (encoder vocab, decoder vocab, share, tie). pad =
    decoder_start = min(V, Vd) - 1: nn.Embedding needs padding_idx inside
    both tables. One variant with the decoder vocabulary smaller, one larger."""
    return {
        "tied": (96, 72, False, True),      # lm_head tied to model.decoder.embed_tokens
        "untied": (64, 88, False, False),   # lm_head its own weight
        "shared-untied": (80, 80, True, False),  # model.shared, lm_head its own weight
    }


def config(V, Vd, share, tie):
    pad = min(V, Vd) - 1
    return T.MarianConfig(vocab_size=V, decoder_vocab_size=Vd, share_encoder_decoder_embeddings=share,
                          tie_word_embeddings=tie, d_model=32, encoder_layers=2, decoder_layers=2,
                          encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64,
                          decoder_ffn_dim=64, max_position_embeddings=32, activation_function="swish",
                          scale_embedding=True, pad_token_id=pad, decoder_start_token_id=pad, eos_token_id=0,
                          forced_eos_token_id=0)


def batch(cfg, g):
    """Source ids from the encoder vocabulary, targets from the decoder's;
    the second row's source right-padded, its labels ending early."""
    V, Vd, pad = cfg.vocab_size, cfg.decoder_vocab_size, cfg.pad_token_id
    ids = torch.randint(3, V - 2, (B, TS), generator=g)
    # the highest source ids, beyond the decoder table when it is smaller
    ids[0, 2] = V - 2
    mask = torch.ones(B, TS, dtype=torch.long)
    mask[1, 7:] = 0
    ids[1, 7:] = pad
    tgt = torch.randint(3, Vd - 2, (B, TT), generator=g)
    tgt[0, 3] = Vd - 2
    tgt[:, -1] = 0
    tgt[1, 5] = 0
    labels = tgt.clone()
    labels[1, 6:] = -100
    dec = labels.clone()
    dec[dec == -100] = pad
    dec = torch.cat([torch.full((B, 1), cfg.decoder_start_token_id), dec[:, :-1]], dim=1)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels, "decoder_input_ids": dec}


def make(name, V, Vd, share, tie, seed):
    cfg = config(V, Vd, share, tie)
    torch.manual_seed(seed)
    model = T.MarianMTModel(cfg)
    model.eval()
    d = os.path.join(OUT, name)
    fresh_dir(d)
    model.save_pretrained(d)
    sd = model.state_dict()
    torch.save(sd, os.path.join(d, "pytorch_model.bin"))
    inp = batch(cfg, torch.Generator().manual_seed(seed + 1))
    ref = forward_backward(model, inp)
    save_file(ref, os.path.join(d, "reference.safetensors"))
    st_keys = safetensors_keys(d)
    rows, non_persistent = layout(model, set(st_keys))
    # what from_pretrained makes of the saved folder: nothing missing or unexpected
    _, info = T.MarianMTModel.from_pretrained(d, output_loading_info=True)
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump({"class": "MarianMTModel", "transformers": T.__version__, "torch": torch.__version__,
                   "vocab_size": V, "decoder_vocab_size": Vd, "share_encoder_decoder_embeddings": share,
                   "tie_word_embeddings": tie, "state_dict_keys": list(sd.keys()),
                   "named_parameters": [n for n, _ in model.named_parameters()], "safetensors_keys": st_keys,
                   "tied": tied_groups(model), "num_parameters": model.num_parameters(), "seed": seed,
                   "inputs": sorted(inp.keys()), "dropout": "off (eval mode)",
                   "missing_keys": sorted(info["missing_keys"]), "unexpected_keys": sorted(info["unexpected_keys"]),
                   "layout": rows, "non_persistent_buffers": non_persistent}, f, indent=1)


TOK = os.path.join(ROOT, "..", "shared", "data", "tokenizers", "opus-mt-tc-big-en-pt")
TEXTS = ["Open the file in a new window.", "Não foi possível abrir o ficheiro «%1».", ">>por<< Hello, world!",
         "Zoom in", "Configure KDE's desktop: çãõ 123 ünïcödé", "a <unk> b </s> c", ""]


def make_tokenizer():
    """target_vocab.json: the target model's pieces of TEXTS (a few left
    out, so they become the target <unk>) and the specials, at ids unlike
    vocab.json's, shuffled with a fixed seed."""
    import sentencepiece as spm
    d = os.path.join(OUT, "tokenizer")
    os.makedirs(d, exist_ok=True)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(TOK, "target.spm"))
    pieces = []
    for t in TEXTS:
        for p in sp.encode(t, out_type=str):
            if p not in pieces:
                pieces.append(p)
    dropped = pieces[3::7]
    pieces = [p for p in pieces if p not in dropped]
    names = ["</s>", "<unk>", "<pad>"] + pieces
    ids = list(range(len(names)))
    random.Random(5).shuffle(ids)
    tv = {n: i for n, i in zip(names, ids)}
    cfg = json.load(open(os.path.join(TOK, "tokenizer_config.json")))
    cfg["separate_vocabs"] = True
    with open(os.path.join(d, "target_vocab.json"), "w") as f:
        json.dump(tv, f, ensure_ascii=False, indent=1)
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, ensure_ascii=False, indent=1)
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("source.spm", "target.spm", "vocab.json", "special_tokens_map.json"):
            shutil.copy(os.path.join(TOK, name), tmp)
        for name in ("target_vocab.json", "tokenizer_config.json"):
            shutil.copy(os.path.join(d, name), tmp)
        tok = T.MarianTokenizer.from_pretrained(tmp)
        assert tok.separate_vocabs
        cases = []
        for t in TEXTS:
            src = tok(t)["input_ids"]
            tgt = tok(text_target=t)["input_ids"]
            cases.append({"text": t, "src_ids": src, "tgt_ids": tgt,
                          "tgt_decode": tok.decode(tgt, skip_special_tokens=True),
                          "tgt_decode_special": tok.decode(tgt, skip_special_tokens=False)})
        # ids outside target_vocab.json: the target model's pieces
        odd = [ids[5], 17, 2000, ids[7], tok.eos_token_id]
        extra = {"ids": odd, "decode": tok.decode(odd, skip_special_tokens=False),
                 "decode_skip": tok.decode(odd, skip_special_tokens=True)}
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump({"class": "MarianTokenizer", "transformers": T.__version__, "base": "opus-mt-tc-big-en-pt",
                   "target_vocab_size": len(tv), "dropped_pieces": dropped, "eos_token_id": tok.eos_token_id,
                   "pad_token_id": tok.pad_token_id, "unk_token_id": tok.unk_token_id,
                   "target_unk_id": tv["<unk>"], "cases": cases, "decode_extra": extra}, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=OUT, help="fixture folder (default: %(default)s)")
    OUT = os.path.abspath(ap.parse_args().out)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    for i, (name, (V, Vd, share, tie)) in enumerate(variants().items()):
        make(name, V, Vd, share, tie, 300 + i)
        print("wrote", name)
    make_tokenizer()
    print("wrote tokenizer")
