"""Reference values for lmtune's dataset module (src/data/), produced by the
real libraries: numpy's Generator (SeedSequence -> PCG64, permutation),
`datasets` (train_test_split, shuffle().select(), load_dataset("text"/"json"/
"csv"), flatten, map(batched) + group_texts), torch.randperm with seeded
generators, the order in which a transformers Trainer visits a dataset, and
Python's random module (show_random_elements).

Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_data_fixtures.py
(needs `pip install datasets` in that venv). Writes tests/fixtures/data/.

Long index lists are stored compactly: first/last 50 entries plus an FNV-1a
64-bit hash of the whole list as little-endian int64 (see fnv_i64).
"""
import json
import os
import random
import shutil
import struct
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "data")
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared", "data"))

FNV_OFF, FNV_PRIME, M64 = 0xcbf29ce484222325, 0x100000001b3, (1 << 64) - 1


def fnv_i64(values):
    """FNV-1a over the values as little-endian int64 (vectorised per byte)."""
    a = np.asarray(values, dtype=np.int64).astype("<i8").view(np.uint8)
    h = FNV_OFF
    for byte in a.tobytes():
        h = ((h ^ byte) * FNV_PRIME) & M64
    return "%016x" % h


def fnv_i32(values):
    a = np.asarray(values, dtype=np.int32).astype("<i4")
    h = FNV_OFF
    for byte in a.tobytes():
        h = ((h ^ byte) * FNV_PRIME) & M64
    return "%016x" % h


def compact(idx):
    idx = [int(x) for x in idx]
    return {"n": len(idx), "first": idx[:50], "last": idx[-50:], "fnv": fnv_i64(idx)}


def numpy_refs():
    seeds = []
    for s in [0, 1, 20, 42, 12345, 2**32 - 1, 2**32 + 5, 2**64 + 3, 2**70 + 11]:
        ss = np.random.SeedSequence(s)
        g = np.random.default_rng(s)
        raw = g.bit_generator.random_raw(4)
        seeds.append({"seed": str(s), "pool": [int(x) for x in ss.pool],
                      "state_u64": [str(int(x)) for x in ss.generate_state(4, np.uint64)],
                      "raw": [str(int(x)) for x in raw]})
    perms = []
    for s, n in [(42, 1), (42, 2), (42, 10), (42, 1000), (42, 61289), (20, 56971), (20, 210173), (0, 5000),
                 (7, 100000), (2**40 + 1, 333)]:
        p = np.random.default_rng(s).permutation(n)
        perms.append({"seed": str(s), **compact(p)})
    return {"numpy": np.__version__, "seed_sequence": seeds, "permutations": perms}


def split_refs():
    import datasets
    out = {"datasets": datasets.__version__, "train_test_split": [], "shuffle_select": []}
    cases = [
        # (n, test_size, train_size, seed, what)
        (210173, None, 0.9, 20, "KDE4 as in the SPEC"),
        (56971, None, 0.9, 20, "the local KDE en-fr file"),
        (25000, 1000, 10000, 42, "IMDb downsampling (train split)"),
        (61289, 1000, 10000, 42, "IMDb chunks downsampling as in the SPEC"),
        (5000, 0.2, None, 42, "ELI5 first 5000 rows (seeded here; the notebook has no seed)"),
        (3760, 0.05, None, 42, "validation_split_percentage 5"),
        (10, 3, None, 0, "int test_size"),
        (101, 0.1, 0.3, 7, "float train and test sizes"),
        (1000, None, 0.999, 3, "float train_size rounding"),
    ]
    for n, test_size, train_size, seed, what in cases:
        ds = datasets.Dataset.from_dict({"i": list(range(n))})
        d = ds.train_test_split(test_size=test_size, train_size=train_size, seed=seed)
        out["train_test_split"].append({
            "what": what, "n": n, "test_size": test_size, "train_size": train_size, "seed": seed,
            "train": compact(list(d["train"]["i"])), "test": compact(list(d["test"]["i"]))})
    # validation_split_percentage as run_clm.py uses it: load_dataset(..., split="train[:p%]")
    out["percent_slices"] = []
    for n, pct in [(36718, 5), (3760, 5), (10, 25), (10, 15), (30, 5), (7, 50), (3, 50), (4358, 10)]:
        tmp = tempfile.mkdtemp()
        path = os.path.join(tmp, "lines.txt")
        with open(path, "w") as f:
            f.write("".join("line %d\n" % i for i in range(n)))
        head = datasets.load_dataset("text", data_files=path, split="train[:%d%%]" % pct, cache_dir=tmp + "/c")
        tail = datasets.load_dataset("text", data_files=path, split="train[%d%%:]" % pct, cache_dir=tmp + "/c")
        shutil.rmtree(tmp, ignore_errors=True)
        assert len(head) + len(tail) == n
        out["percent_slices"].append({"n": n, "pct": pct, "boundary": len(head)})
    for n, seed, k in [(25000, 42, 1000), (5000, 42, 5000), (100, 0, 10)]:
        ds = datasets.Dataset.from_dict({"i": list(range(n))})
        sel = ds.shuffle(seed=seed).select(range(k))
        out["shuffle_select"].append({"n": n, "seed": seed, "k": k, "rows": compact(list(sel["i"]))})
    return out


def torch_refs():
    import torch
    perms = []
    for seed, n in [(42, 1), (42, 2), (42, 10), (43, 10), (42, 1000), (0, 61289), (2**32 + 5, 17),
                    (123456789, 100000)]:
        g = torch.Generator().manual_seed(seed)
        p1 = torch.randperm(n, generator=g).tolist()
        p2 = torch.randperm(n, generator=g).tolist()  # the same generator, second draw
        perms.append({"seed": str(seed), "n": n, "first_draw": compact(p1), "second_draw": compact(p2)})
    return {"torch": torch.__version__, "randperm": perms}


def trainer_order():
    """Indices a transformers Trainer feeds the model, 2 epochs, seed 42."""
    import torch
    import transformers
    from torch import nn

    seen = []

    class Stub(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(1))

        def forward(self, input_ids=None, labels=None):
            seen.append([int(x) for x in input_ids[:, 0].tolist()])
            return {"loss": (self.w * 0.0).sum() + (self.w ** 2).sum()}

    class DS(torch.utils.data.Dataset):
        def __init__(self, n):
            self.n = n

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            return {"input_ids": torch.tensor([i, 0]), "labels": torch.tensor([i, 0])}

    runs = []
    for n, bs, epochs, seed in [(10, 2, 2, 42), (37, 4, 3, 42), (9, 3, 2, 7)]:
        seen.clear()
        tmp = tempfile.mkdtemp()
        args = transformers.TrainingArguments(output_dir=tmp, per_device_train_batch_size=bs, num_train_epochs=epochs,
                                              seed=seed, report_to=[], save_strategy="no", logging_strategy="no",
                                              use_cpu=True, dataloader_num_workers=0)
        tr = transformers.Trainer(model=Stub(), args=args, train_dataset=DS(n))
        tr.train()
        shutil.rmtree(tmp, ignore_errors=True)
        order = [i for batch in seen for i in batch]
        runs.append({"n": n, "batch_size": bs, "epochs": epochs, "seed": seed,
                     "order": [order[e * n:(e + 1) * n] for e in range(epochs)]})
    import accelerate
    return {"transformers": transformers.__version__, "accelerate": accelerate.__version__, "runs": runs}


def python_random_refs():
    """show_random_elements picks (the course notebooks' helper)."""
    out = []
    for seed, n, k in [(42, 3760, 10), (0, 100, 10), (2**40 + 3, 56971, 5), (1, 10, 10)]:
        random.seed(seed)
        picks = []
        for _ in range(k):
            pick = random.randint(0, n - 1)
            while pick in picks:
                pick = random.randint(0, n - 1)
            picks.append(pick)
        out.append({"seed": str(seed), "n": n, "k": k, "picks": picks})
    return out


def loader_refs(tmpdir):
    """Small files read by `datasets` loaders: the rows lmtune must reproduce."""
    import datasets
    datasets.disable_progress_bars()
    cases = {}
    src = os.path.join(OUT, "loaders")
    for name in sorted(os.listdir(src)):
        path = os.path.join(src, name)
        cache = os.path.join(tmpdir, "cache-" + name)
        if name.endswith(".txt"):
            for keep in (True, False):
                ds = datasets.load_dataset("text", data_files=path, split="train", keep_linebreaks=keep,
                                           cache_dir=cache)
                cases[name + (":keep" if keep else ":strip")] = {"columns": ds.column_names, "rows": list(ds["text"])}
            cases[name + ":wikitext"] = {"columns": ["text"], "rows": wikitext_lines(path)}
        elif name.endswith(".jsonl"):
            ds = datasets.load_dataset("json", data_files=path, split="train", cache_dir=cache).flatten()
            cases[name] = {"columns": ds.column_names, "rows": [ds[i] for i in range(len(ds))]}
        elif name.endswith(".csv") or name.endswith(".tsv"):
            ds = datasets.load_dataset("csv", data_files=path, split="train", cache_dir=cache,
                                       sep="\t" if name.endswith(".tsv") else ",")
            rows = [ds[i] for i in range(len(ds))]
            cases[name] = {"columns": ds.column_names, "rows": rows}
    # parallel files as the HF OPUS scripts (e.g. kde4.py) read them: zip the lines, strip() each
    rows = []
    with open(os.path.join(src, "para.en"), encoding="utf-8") as f1, \
            open(os.path.join(src, "para.fr"), encoding="utf-8") as f2:
        for i, (x, y) in enumerate(zip(f1, f2)):
            rows.append({"id": str(i), "translation": {"en": x.strip(), "fr": y.strip()}})
    ds = datasets.Dataset.from_list(rows).flatten()
    cases["para.en+para.fr"] = {"columns": ds.column_names, "rows": [ds[i] for i in range(len(ds))]}
    return cases


def wikitext_lines(path):
    """The HF `wikitext` dataset script: whitespace-only lines become ""."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for row in f:
            rows.append(row if row.strip() else "")
    return rows


def group_texts_factory(block_size, keep_short):
    def group_texts(examples):
        concatenated = {k: sum(examples[k], []) for k in examples.keys()}
        total_length = len(concatenated[list(examples.keys())[0]])
        if keep_short:  # the ELI5 / MLM course notebook
            if total_length >= block_size:
                total_length = (total_length // block_size) * block_size
        else:  # run_clm.py / the CLM notebook
            total_length = (total_length // block_size) * block_size
        result = {k: [t[i:i + block_size] for i in range(0, total_length, block_size)]
                  for k, t in concatenated.items()}
        result["labels"] = result["input_ids"].copy()
        return result
    return group_texts


def write_tokens(path, seqs, dtype):
    """int32 count, then int32 lengths, then the ids (uint16 or int32 LE)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<i", len(seqs)))
        f.write(np.asarray([len(s) for s in seqs], dtype="<i4").tobytes())
        f.write(np.asarray([t for s in seqs for t in s], dtype=dtype).tobytes())


def chunks_summary(ds, cols):
    out = {"n_chunks": len(ds), "columns": ds.column_names}
    for c in cols:
        flat = [(-1 if t is None else t) for row in ds[c] for t in row]
        out[c] = {"lengths_fnv": fnv_i64([len(r) for r in ds[c]]), "fnv": fnv_i32(flat),
                  "first_row": [(-1 if t is None else t) for t in ds[c][0]] if len(ds) else [],
                  "last_row": [(-1 if t is None else t) for t in ds[c][-1]] if len(ds) else []}
    return out


def group_refs():
    import datasets
    from transformers import BertTokenizerFast, GPT2TokenizerFast
    datasets.disable_progress_bars()
    out = {}
    # GPT-2 ids of the first 2,000 WikiText-2 validation lines (wikitext convention)
    lines = wikitext_lines(os.path.join(SHARED, "wikitext-2-raw-v1", "wiki.valid.raw"))[:2000]
    tok = GPT2TokenizerFast.from_pretrained(os.path.join(SHARED, "tokenizers", "gpt2"))
    # the SPEC's reference ids (guards against a silently broken tokenizer)
    assert tok(" = Valkyria Chronicles III = \n")["input_ids"] == [796, 569, 18354, 7496, 17740, 6711, 796, 220, 198]
    ds = datasets.Dataset.from_dict({"text": lines})
    tokd = ds.map(lambda b: tok(b["text"]), batched=True, remove_columns=["text"])
    write_tokens(os.path.join(OUT, "wiki_valid_2000.gpt2.bin"), tokd["input_ids"], "<u2")
    out["wiki_tokens"] = {"lines": len(lines), "n_tokens": sum(len(x) for x in tokd["input_ids"]),
                          "example1": tokd["input_ids"][1], "example0": tokd["input_ids"][0],
                          "text1": lines[1], "text0": lines[0]}
    runs = []
    for block, batch, keep_short in [(128, 1000, False), (128, 100, False), (64, 7, False), (128, 3, True),
                                     (128, 1000, True), (1000, 2, True)]:
        g = tokd.map(group_texts_factory(block, keep_short), batched=True, batch_size=batch)
        runs.append({"block_size": block, "batch_size": batch, "keep_short": keep_short,
                     **chunks_summary(g, ["input_ids", "attention_mask", "labels"])})
    out["wiki_group"] = runs

    # BERT uncased ids + word_ids of the first 40 IMDb train reviews (chunk_size 128, as the course)
    reviews = []
    with open(os.path.join(SHARED, "imdb", "train.jsonl"), encoding="utf-8") as f:
        for line in f:
            reviews.append(json.loads(line)["text"])
            if len(reviews) == 40:
                break
    btok = BertTokenizerFast.from_pretrained(os.path.join(SHARED, "tokenizers", "bert-base-uncased"))
    assert btok("Hello")["input_ids"] == [101, 7592, 102]
    ds = datasets.Dataset.from_dict({"text": reviews})

    def tokenize(examples):
        r = btok(examples["text"])
        r["word_ids"] = [r.word_ids(i) for i in range(len(r["input_ids"]))]
        return r
    tokd = ds.map(tokenize, batched=True, remove_columns=["text"])
    write_tokens(os.path.join(OUT, "imdb_40.bert.ids.bin"), tokd["input_ids"], "<u2")
    write_tokens(os.path.join(OUT, "imdb_40.bert.word_ids.bin"),
                 [[-1 if w is None else w for w in r] for r in tokd["word_ids"]], "<i4")
    out["imdb_columns"] = tokd.column_names
    runs = []
    for block, batch in [(128, 1000), (128, 6)]:
        g = tokd.map(group_texts_factory(block, False), batched=True, batch_size=batch)
        runs.append({"block_size": block, "batch_size": batch, "keep_short": False,
                     **chunks_summary(g, [c for c in g.column_names])})
    out["imdb_group"] = runs
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    tmp = tempfile.mkdtemp()
    try:
        refs = {"python": sys.version.split()[0]}
        refs["numpy"] = numpy_refs()
        refs["split"] = split_refs()
        refs["torch"] = torch_refs()
        refs["trainer_order"] = trainer_order()
        refs["python_random"] = python_random_refs()
        refs["loaders"] = loader_refs(tmp)
        refs["group"] = group_refs()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for part in ["numpy", "split", "torch", "trainer_order", "python_random", "loaders", "group"]:
        with open(os.path.join(OUT, part + ".json"), "w", encoding="utf-8") as f:
            json.dump(refs[part], f, indent=1, ensure_ascii=False)
            f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
