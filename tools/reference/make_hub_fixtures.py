"""The Hub fixtures of issue 14: the repos tests/hub_server/lmt_hub_server
serves (tests/fixtures/hub/root/), and a Hugging Face cache filled by
huggingface_hub itself against that server (the byte-for-byte reference for
lmtune's cache).

Run (from the repository root, the server built first):

    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build --target lmt_hub_server
    ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_hub_fixtures.py build
    ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_hub_fixtures.py interop [--server build/lmt_hub_server]
    ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_hub_fixtures.py lmtune-cache [--lmtune build/lmtune]

`build` (re)writes tests/fixtures/hub/root/ from existing tiny fixtures
(tests/fixtures/models/gpt2, gpt2-base, marian, tokenizers/tiny) plus a
sharded checkpoint (the gpt2 model.safetensors split in two with
`safetensors`), a tiny SentencePiece model (trained here, deterministic) and
small text datasets. Commit ids are sha1("<repo> <label>"), so fixed. A file
that appears in several repos is stored once; the others are relative
symlinks inside root/ (the server follows them; copy root/ with symlinks
kept, e.g. `cp -a`).

`interop` starts lmt_hub_server on a copy of root/ (HF_ENDPOINT pointing at
it, HF_HUB_DISABLE_XET=1: hf_xet is installed in the venv and would take the
Xet upload path, which the server does not offer), lets transformers'
from_pretrained and huggingface_hub's hf_hub_download / snapshot_download
fill a fresh HF_HUB_CACHE, then writes
  tests/fixtures/hub/hf_cache_listing.txt  one line per cache entry, sorted:
      path<TAB>d|f|l<TAB>detail   (l: the link target; f: "SIZE SHA256", or
      "lock" for the files under .locks/)
  tests/fixtures/hub/hf_filled_cache/      the cache itself (symlinks kept)
and checks the rest of the server against huggingface_hub (errors, repo
info, tree, whoami, create_repo, upload_folder, create_commit with deletes,
downloading back what was uploaded). Any mismatch raises.

`lmtune-cache` is the other direction: lmtune fills a cache, huggingface_hub
and transformers read it offline (see lmtune_cache()).
"""
import base64
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
FIX = os.path.join(ROOT, "tests", "fixtures")
HUB = os.path.join(FIX, "hub")
OUT_ROOT = os.path.join(HUB, "root")
TOKEN = "hf_lmtune_test_token"

GITATTRIBUTES = ("*.bin filter=lfs diff=lfs merge=lfs -text\n"
                 "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
                 "*.model filter=lfs diff=lfs merge=lfs -text\n"
                 "*.spm filter=lfs diff=lfs merge=lfs -text\n"
                 "*.parquet filter=lfs diff=lfs merge=lfs -text\n")


def commit_id(repo, label):
    return hashlib.sha1(f"{repo} {label}".encode()).hexdigest()


def folder(repo, dataset=False):
    return ("datasets--" if dataset else "models--") + repo.replace("/", "--")


def read(path):
    with open(path, "rb") as f:
        return f.read()


class Root:
    """Writes repos into root/, storing each distinct content once."""

    def __init__(self, path):
        self.path = path
        self.stored = {}   # sha256 -> path of the first copy

    def repo(self, repo, commits, refs, dataset=False, flags=None):
        """commits: [(label, {path: bytes})], refs: {name: label}."""
        base = os.path.join(self.path, folder(repo, dataset))
        ids = {label: commit_id(repo, label) for label, _ in commits}
        for label, files in commits:
            cdir = os.path.join(base, "commits", ids[label])
            for rel, data in sorted(files.items()):
                self.put(os.path.join(cdir, rel), data)
        with open(os.path.join(base, "refs"), "w") as f:
            for name, label in refs.items():
                f.write(f"{name} {ids[label]}\n")
        for name, text in (flags or {}).items():
            with open(os.path.join(base, name), "w") as f:
                f.write(text)
        return ids

    def put(self, path, data):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        key = hashlib.sha256(data).hexdigest()
        if len(data) > 4096 and key in self.stored:
            os.symlink(os.path.relpath(self.stored[key], os.path.dirname(path)), path)
            return
        with open(path, "wb") as f:
            f.write(data)
        self.stored.setdefault(key, path)


def gpt2_tokenizer_files():
    """vocab.json / merges.txt / tokenizer.json of the tiny byte-level BPE."""
    tok_json = read(os.path.join(FIX, "tokenizers", "tiny", "tokenizer.json"))
    tok = json.loads(tok_json)
    vocab = tok["model"]["vocab"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]
    return {
        "vocab.json": (json.dumps(vocab, ensure_ascii=False) + "\n").encode(),
        "merges.txt": ("#version: 0.2\n" + "\n".join(merges) + "\n").encode(),
        "tokenizer.json": tok_json,
        "tokenizer_config.json": (json.dumps({
            "add_prefix_space": False, "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
            "unk_token": "<|endoftext|>", "model_max_length": 32, "tokenizer_class": "GPT2Tokenizer"},
            indent=2) + "\n").encode(),
    }


def sharded_gpt2():
    """The tiny GPT-2 checkpoint split in two shards plus its index."""
    from safetensors.numpy import load_file, save_file
    src = os.path.join(FIX, "models", "gpt2", "model.safetensors")
    tensors = load_file(src)
    names = sorted(tensors)
    half = len(names) // 2
    parts = [names[:half], names[half:]]
    out, weight_map, total = {}, {}, 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, part in enumerate(parts):
            shard = f"model-{i + 1:05d}-of-{len(parts):05d}.safetensors"
            path = os.path.join(tmp, shard)
            save_file({k: tensors[k] for k in part}, path, metadata={"format": "pt"})
            out[shard] = read(path)
            for k in part:
                weight_map[k] = shard
                total += tensors[k].nbytes
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    out["model.safetensors.index.json"] = (json.dumps(index, indent=2) + "\n").encode()
    return out


SPM_TEXT = [
    "the cat sat on the mat", "a dog ran in the park", "open the file", "save the document",
    "le chat est sur le tapis", "un chien court dans le parc", "ouvrir le fichier",
    "enregistrer le document", "add a new folder", "ajouter un nouveau dossier",
]


def tiny_marian_tokenizer():
    """A 95-piece SentencePiece unigram model (eos 0, unk 1, as Marian) and a
    vocab.json with <pad> = 95, matching tests/fixtures/models/marian (V=96)."""
    import sentencepiece as spm
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)   # relative names: the model records its training input's path
        try:
            with open("text.txt", "w") as f:
                f.write("\n".join(SPM_TEXT * 4) + "\n")
            spm.set_random_generator_seed(1)
            spm.SentencePieceTrainer.train(
                input="text.txt", model_prefix="m", vocab_size=95, model_type="unigram",
                eos_id=0, unk_id=1, bos_id=-1, pad_id=-1, num_threads=1, hard_vocab_limit=False,
                character_coverage=1.0, minloglevel=2)
            model = read("m.model")
        finally:
            os.chdir(cwd)
        sp = spm.SentencePieceProcessor(model_proto=model)
        vocab = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
        vocab["<pad>"] = 95
    return {
        "source.spm": model, "target.spm": model,
        "vocab.json": (json.dumps(vocab, ensure_ascii=False, indent=2) + "\n").encode(),
        "tokenizer_config.json": (json.dumps({
            "source_lang": "en", "target_lang": "fr", "eos_token": "</s>", "unk_token": "<unk>",
            "pad_token": "<pad>", "model_max_length": 32, "tokenizer_class": "MarianTokenizer"},
            indent=2) + "\n").encode(),
    }


def tiny_lm(tok):
    """A GPT-2 sized to the tiny tokenizer (its vocabulary, 32 positions),
    random weights (seed 0), saved by save_pretrained: a model that trains
    and generates with its own tokenizer, end to end through the Hub."""
    import torch
    import transformers as T
    with tempfile.TemporaryDirectory() as d:
        for f, data in tok.items():
            with open(os.path.join(d, f), "wb") as out:
                out.write(data)
        t = T.AutoTokenizer.from_pretrained(d)
        vocab, eos = len(t), t.eos_token_id   # the vocabulary with the added tokens
    torch.manual_seed(0)
    cfg = T.GPT2Config(vocab_size=vocab, n_positions=32, n_embd=32, n_layer=2, n_head=4,
                       bos_token_id=eos, eos_token_id=eos)
    model = T.GPT2LMHeadModel(cfg)
    with tempfile.TemporaryDirectory() as d:
        model.save_pretrained(d, safe_serialization=True)
        return {f: read(os.path.join(d, f)) for f in ("config.json", "generation_config.json", "model.safetensors")}


def jsonl(rows):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


def build():
    if os.path.isdir(OUT_ROOT):
        shutil.rmtree(OUT_ROOT)
    os.makedirs(OUT_ROOT)
    r = Root(OUT_ROOT)
    m = lambda *p: read(os.path.join(FIX, "models", *p))
    ga = {".gitattributes": GITATTRIBUTES.encode()}
    tok = gpt2_tokenizer_files()
    gpt2 = {"config.json": m("gpt2", "config.json"), "generation_config.json": m("gpt2", "generation_config.json"),
            "model.safetensors": m("gpt2", "model.safetensors")}
    readme = b"---\nlicense: mit\n---\n# tiny-gpt2\n\nA 2-layer GPT-2 with random weights, for lmtune's tests.\n"
    # the main repo: v1.0 is an older commit (gpt2-base weights, no
    # generation_config.json, no tokenizer.json)
    v1 = {**ga, "config.json": m("gpt2-base", "config.json"), "model.safetensors": m("gpt2-base", "model.safetensors"),
          "vocab.json": tok["vocab.json"], "merges.txt": tok["merges.txt"]}
    ids = {"lmtune-test/tiny-gpt2": r.repo("lmtune-test/tiny-gpt2",
                                          [("v1.0", v1), ("main", {**ga, **gpt2, **tok, "README.md": readme})],
                                          {"main": "main", "v1.0": "v1.0"})}
    ids["distilgpt2"] = r.repo("distilgpt2", [("main", {**ga, **gpt2, **tok})], {"main": "main"})
    ids["lmtune-test/private-gpt2"] = r.repo("lmtune-test/private-gpt2", [("main", {**ga, **gpt2, **tok})],
                                             {"main": "main"}, flags={"private": ""})
    ids["lmtune-test/gated-gpt2"] = r.repo("lmtune-test/gated-gpt2", [("main", {**ga, **gpt2, **tok})],
                                           {"main": "main"}, flags={"gated": ""})
    os.makedirs(os.path.join(OUT_ROOT, folder("lmtune-test/old-gpt2")))
    with open(os.path.join(OUT_ROOT, folder("lmtune-test/old-gpt2"), "moved_to"), "w") as f:
        f.write("lmtune-test/tiny-gpt2\n")
    sharded = {**ga, "config.json": gpt2["config.json"], "generation_config.json": gpt2["generation_config.json"],
               **sharded_gpt2(), **tok}
    ids["lmtune-test/sharded-gpt2"] = r.repo("lmtune-test/sharded-gpt2", [("main", sharded)], {"main": "main"})
    ids["lmtune-test/bin-gpt2"] = r.repo("lmtune-test/bin-gpt2", [("main", {
        **ga, "config.json": gpt2["config.json"], "pytorch_model.bin": m("gpt2", "pytorch_model.bin"), **tok})],
        {"main": "main"})
    ids["lmtune-test/tiny-marian"] = r.repo("lmtune-test/tiny-marian", [("main", {
        **ga, "config.json": m("marian", "config.json"), "generation_config.json": m("marian", "generation_config.json"),
        "model.safetensors": m("marian", "model.safetensors"), **tiny_marian_tokenizer()})], {"main": "main"})
    ids["lmtune-test/tiny-lm"] = r.repo("lmtune-test/tiny-lm", [("main", {**ga, **tiny_lm(tok), **tok})], {"main": "main"})
    texts = [f"line {i}: the quick brown fox jumps over the lazy dog {i} times." for i in range(24)]
    ids["datasets/lmtune-test/tiny-text"] = r.repo("lmtune-test/tiny-text", [("main", {
        **ga, "README.md": b"# tiny-text\n\nJSON Lines with a `text` field.\n",
        "train.jsonl": jsonl({"text": t} for t in texts[:20]),
        "validation.jsonl": jsonl({"text": t} for t in texts[20:])})], {"main": "main"}, dataset=True)
    pairs = [{"en": "Open the file", "fr": "Ouvrir le fichier"}, {"en": "Save", "fr": "Enregistrer"},
             {"en": "Add a folder", "fr": "Ajouter un dossier"}]
    ids["datasets/lmtune-test/text-configs"] = r.repo("lmtune-test/text-configs", [("main", {
        **ga, "README.md": b"# text-configs\n\nOne folder per configuration.\n",
        "en-fr/train.jsonl": jsonl({"translation": p} for p in pairs),
        "en-fr/validation.jsonl": jsonl({"translation": p} for p in pairs[:1]),
        "plain/train.jsonl": jsonl({"text": t} for t in texts[:6]),
        "plain/validation.jsonl": jsonl({"text": t} for t in texts[6:8])})], {"main": "main"}, dataset=True)
    ids["datasets/lmtune-test/parquet-only"] = r.repo("lmtune-test/parquet-only", [("main", {
        **ga, "README.md": b"# parquet-only\n\nOnly parquet files (lmtune reads none).\n",
        "data/train-00000-of-00001.parquet": b"PAR1" + b"\0" * 56 + b"PAR1",
        "data/validation-00000-of-00001.parquet": b"PAR1" + b"\1" * 56 + b"PAR1"})], {"main": "main"}, dataset=True)
    for repo, c in ids.items():
        print(repo, " ".join(f"{k}={v}" for k, v in c.items()))


# ---------------------------------------------------------------- interop

def start_server(server, root, tmp):
    port_file = os.path.join(tmp, "ports")
    proc = subprocess.Popen([server, "--root", root, "--token", TOKEN, "--port-file", port_file],
                            stdout=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(port_file):
            break
        time.sleep(0.02)
    hub, cdn = map(int, read(port_file).split())
    return proc, hub, cdn


def listing(cache):
    lines = []
    for dirpath, dirnames, filenames in os.walk(cache):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, cache)
            if os.path.islink(full):
                lines.append(f"{rel}\tl\t{os.readlink(full)}")
            elif os.path.isdir(full):
                lines.append(f"{rel}\td\t")
            elif rel.startswith(".locks" + os.sep):
                lines.append(f"{rel}\tf\tlock")
            else:
                data = read(full)
                lines.append(f"{rel}\tf\t{len(data)} {hashlib.sha256(data).hexdigest()}")
    return sorted(lines)


def expect_error(cls, fn, *a, **kw):
    try:
        fn(*a, **kw)
    except cls:
        return
    raise AssertionError(f"{fn.__name__}{a}: expected {cls.__name__}")


def interop(server):
    tmp = tempfile.mkdtemp(prefix="lmt-hub-interop-")
    root = os.path.join(tmp, "root")
    shutil.copytree(OUT_ROOT, root, symlinks=True)
    proc, hub, cdn = start_server(server, root, tmp)
    cache = os.path.join(tmp, "cache")
    os.environ.update(HF_ENDPOINT=f"http://127.0.0.1:{hub}", HF_HUB_CACHE=cache, HF_HUB_DISABLE_XET="1",
                      HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1",
                      HF_HOME=os.path.join(tmp, "hf_home"), TRANSFORMERS_VERBOSITY="error")
    os.environ.pop("HF_TOKEN", None)
    try:
        fill_cache(hub)
        lines = listing(cache)
        with open(os.path.join(HUB, "hf_cache_listing.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        out = os.path.join(HUB, "hf_filled_cache")
        if os.path.isdir(out):
            shutil.rmtree(out)
        shutil.copytree(cache, out, symlinks=True)
        check_api(hub)
        check_upload(hub, tmp)
        print(f"interop ok: {len(lines)} cache entries; server log:")
        print(read_log(hub))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


def read_log(hub, clear=False):
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{hub}/_log" + ("?clear=1" if clear else "")) as r:
        return r.read().decode()


def control(hub, query):
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{hub}/_control?{query}") as r:
        assert r.read() == b"ok\n"


def fill_cache(hub):
    import huggingface_hub as H
    import transformers as T
    repo = "lmtune-test/tiny-gpt2"
    main = commit_id(repo, "main")
    # what from_pretrained asks for, at main, at the tag, and by commit id
    for rev in ("main", "v1.0", main):
        T.AutoConfig.from_pretrained(repo, revision=rev)
        T.AutoModelForCausalLM.from_pretrained(repo, revision=rev)
        T.AutoTokenizer.from_pretrained(repo, revision=rev)
    T.GenerationConfig.from_pretrained(repo)
    # a missing file: .no_exist/<commit>/nope.json
    expect_error(H.errors.EntryNotFoundError, H.hf_hub_download, repo, "nope.json")
    path = H.snapshot_download("lmtune-test/tiny-text", repo_type="dataset")
    assert read(os.path.join(path, "train.jsonl")).count(b"\n") == 20
    # the downloads are the fixture's bytes
    got = read(H.hf_hub_download(repo, "model.safetensors"))
    assert got == read(os.path.join(FIX, "models", "gpt2", "model.safetensors"))
    got = read(H.hf_hub_download(repo, "model.safetensors", revision="v1.0"))
    assert got == read(os.path.join(FIX, "models", "gpt2-base", "model.safetensors"))


def check_api(hub):
    import huggingface_hub as H
    from huggingface_hub import errors as E
    api = H.HfApi()
    repo = "lmtune-test/tiny-gpt2"
    info = api.model_info(repo)
    assert info.sha == commit_id(repo, "main") and "model.safetensors" in [s.rfilename for s in info.siblings]
    assert api.model_info(repo, revision="v1.0").sha == commit_id(repo, "v1.0")
    files = {f.path: f for f in api.list_repo_tree(repo, recursive=True)}
    assert files["model.safetensors"].lfs.sha256 == hashlib.sha256(
        read(os.path.join(FIX, "models", "gpt2", "model.safetensors"))).hexdigest()
    tree = [f.path for f in api.list_repo_tree("lmtune-test/text-configs", repo_type="dataset")]
    assert "en-fr" in tree and "en-fr/train.jsonl" not in tree, tree
    assert H.list_repo_files("lmtune-test/text-configs", repo_type="dataset").count("plain/train.jsonl") == 1
    assert api.whoami(token=TOKEN)["name"] == "lmtune-tester"
    expect_error(E.HfHubHTTPError, api.whoami, token="wrong")
    expect_error(E.RepositoryNotFoundError, H.hf_hub_download, "lmtune-test/nothing", "config.json")
    expect_error(E.RepositoryNotFoundError, H.hf_hub_download, "lmtune-test/private-gpt2", "config.json")
    expect_error(E.RepositoryNotFoundError, H.hf_hub_download, "lmtune-test/nothing", "config.json", token=TOKEN)
    expect_error(E.RevisionNotFoundError, H.hf_hub_download, repo, "config.json", revision="v9")
    expect_error(E.GatedRepoError, H.hf_hub_download, "lmtune-test/gated-gpt2", "config.json")
    expect_error(E.GatedRepoError, H.hf_hub_download, "lmtune-test/gated-gpt2", "config.json", token=TOKEN)
    with tempfile.TemporaryDirectory() as c:
        p = H.hf_hub_download("lmtune-test/private-gpt2", "model.safetensors", token=TOKEN, cache_dir=c)
        assert read(p) == read(os.path.join(FIX, "models", "gpt2", "model.safetensors"))
        # a renamed repo: the Hub's relative 307 is followed
        p = H.hf_hub_download("lmtune-test/old-gpt2", "config.json", cache_dir=c)
        assert read(p) == read(os.path.join(FIX, "models", "gpt2", "config.json"))
        p = H.hf_hub_download("lmtune-test/old-gpt2", "model.safetensors", cache_dir=c)
        assert read(p) == read(os.path.join(FIX, "models", "gpt2", "model.safetensors"))
        p = H.snapshot_download("lmtune-test/sharded-gpt2", cache_dir=c)
        index = json.loads(read(os.path.join(p, "model.safetensors.index.json")))
        assert set(index["weight_map"].values()) <= set(os.listdir(p))
        # a body cut after 50000 bytes: huggingface_hub tries again (from 0:
        # it had not written the bytes of a 10 MB chunk read in part)
        control(hub, "reset=1&drop_after=50000&drop_count=1")
        read_log(hub, clear=True)
        p = H.hf_hub_download("lmtune-test/bin-gpt2", "pytorch_model.bin", cache_dir=c)
        assert read(p) == read(os.path.join(FIX, "models", "gpt2", "pytorch_model.bin"))
        assert read_log(hub, clear=True).count(" GET /repos/models--lmtune-test--bin-gpt2/") == 2
        # the API follows a renamed repo's redirect too
        assert api.model_info("lmtune-test/old-gpt2").sha == commit_id(repo, "main")


def check_upload(hub, tmp):
    import huggingface_hub as H
    from huggingface_hub import errors as E
    api = H.HfApi(token=TOKEN)
    src = os.path.join(tmp, "upload")
    os.makedirs(os.path.join(src, "sub"))
    payload = {"config.json": b'{"model_type": "gpt2"}\n', "model.safetensors": os.urandom(1 << 16),
               "sub/notes.txt": b"hello\n", "big.dat": bytes(range(256)) * (41 << 10)}   # 10.25 MiB: LFS by size
    for rel, data in payload.items():
        with open(os.path.join(src, rel), "wb") as f:
            f.write(data)
    url = api.create_repo("lmtune-test/uploaded")
    assert url.repo_id == "lmtune-test/uploaded", url
    expect_error(E.HfHubHTTPError, api.create_repo, "lmtune-test/uploaded")
    api.create_repo("lmtune-test/uploaded", exist_ok=True)
    info = api.upload_folder(folder_path=src, repo_id="lmtune-test/uploaded", commit_message="upload")
    # again: the LFS objects are already there (no upload action)
    api.upload_folder(folder_path=src, repo_id="lmtune-test/uploaded", commit_message="again")
    api.delete_file("sub/notes.txt", repo_id="lmtune-test/uploaded")
    with tempfile.TemporaryDirectory() as c:
        for rel, data in payload.items():
            if rel == "sub/notes.txt":
                expect_error(E.EntryNotFoundError, H.hf_hub_download, "lmtune-test/uploaded", rel, cache_dir=c)
                assert read(H.hf_hub_download("lmtune-test/uploaded", rel, cache_dir=c, revision=info.oid)) == data
            else:
                assert read(H.hf_hub_download("lmtune-test/uploaded", rel, cache_dir=c)) == data, rel
    files = sorted(H.list_repo_files("lmtune-test/uploaded"))
    assert files == [".gitattributes", "big.dat", "config.json", "model.safetensors"], files
    # a user repo and a private dataset
    api.create_repo("mine")
    assert api.model_info("lmtune-tester/mine").sha
    api.create_repo("lmtune-test/private-data", repo_type="dataset", private=True)
    api.upload_file(path_or_fileobj=b"{\"text\": \"x\"}\n", path_in_repo="train.jsonl",
                    repo_id="lmtune-test/private-data", repo_type="dataset")
    expect_error(E.RepositoryNotFoundError, H.hf_hub_download, "lmtune-test/private-data", "train.jsonl",
                 repo_type="dataset", token=False)
    p = H.hf_hub_download("lmtune-test/private-data", "train.jsonl", repo_type="dataset", token=TOKEN,
                          cache_dir=os.path.join(tmp, "c2"))
    assert read(p) == b"{\"text\": \"x\"}\n"


def lmtune_cache(server, lmtune):
    """huggingface_hub and transformers read a cache lmtune filled: lmtune
    (the CLI, as a user runs it) resolves tiny-gpt2 at main, v1.0 and by
    commit, and fetches the tiny-text dataset's files, from the stand-in; then,
    with the network off, scan_cache_dir must see the repos whole (no
    warnings), try_to_load_from_cache must point at lmtune's snapshot files,
    hf_hub_download(local_files_only=True) and from_pretrained
    (local_files_only=True) must work and give the fixture's bytes. Writes
    tests/fixtures/hub/lmtune_cache_listing.txt (the cache lmtune filled, as
    huggingface_hub read it; test_hub_interop makes the same cache and compares)
    and hf_reads_lmtune_cache.json (what huggingface_hub saw)."""
    import huggingface_hub as H
    import transformers as T
    tmp = tempfile.mkdtemp(prefix="lmt-hub-lmtune-")
    root = os.path.join(tmp, "root")
    shutil.copytree(OUT_ROOT, root, symlinks=True)
    proc, hub, cdn = start_server(server, root, tmp)
    cache = os.path.join(tmp, "cache")
    env = dict(os.environ, HF_ENDPOINT=f"http://127.0.0.1:{hub}", HF_HUB_CACHE=cache,
               HF_HOME=os.path.join(tmp, "hf_home"))
    env.pop("HF_TOKEN", None)
    repo = "lmtune-test/tiny-gpt2"
    main_commit = commit_id(repo, "main")
    try:
        for rev in ("main", "v1.0", main_commit):
            subprocess.run([lmtune, "inspect", repo, "--revision", rev], env=env, check=True, stdout=subprocess.DEVNULL)
        missing = subprocess.run([lmtune, "download", repo, "nope.json"], env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
        assert missing.returncode == 1 and "nope.json" in missing.stderr, missing.stderr
        for f in (".gitattributes", "README.md", "train.jsonl", "validation.jsonl"):
            subprocess.run([lmtune, "download", "lmtune-test/tiny-text", f, "--repo-type", "dataset"], env=env, check=True,
                           stdout=subprocess.DEVNULL)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    os.environ.update(HF_HUB_CACHE=cache, HF_HUB_OFFLINE="1", HF_HOME=os.path.join(tmp, "hf_home"),
                      TRANSFORMERS_VERBOSITY="error")
    import importlib
    importlib.reload(H.constants)
    seen = {"scan": [], "try_to_load_from_cache": {}, "local_files_only": {}}
    info = H.scan_cache_dir(cache)
    assert not info.warnings, info.warnings
    for r in sorted(info.repos, key=lambda r: r.repo_id):
        seen["scan"].append({"repo_id": r.repo_id, "repo_type": r.repo_type, "size_on_disk": r.size_on_disk,
                             "nb_files": r.nb_files, "refs": sorted(r.refs),
                             "revisions": sorted((x.commit_hash, sorted(f.file_name for f in x.files)) for x in r.revisions)})
    for rev, commit in (("main", main_commit), ("v1.0", commit_id(repo, "v1.0"))):
        for f in ("config.json", "model.safetensors", "vocab.json", "merges.txt"):
            p = H.try_to_load_from_cache(repo, f, cache_dir=cache, revision=rev)
            assert isinstance(p, str) and f"/snapshots/{commit}/" in p, (rev, f, p)
            q = H.hf_hub_download(repo, f, revision=rev, cache_dir=cache, local_files_only=True)
            assert os.path.realpath(p) == os.path.realpath(q)
            src = os.path.join(OUT_ROOT, folder(repo), "commits", commit, f)
            assert read(q) == read(src), (rev, f)
            seen["try_to_load_from_cache"][f"{rev}/{f}"] = os.path.relpath(p, cache)
        # a file lmtune recorded as absent is absent for huggingface_hub too
        p = H.try_to_load_from_cache(repo, "special_tokens_map.json", cache_dir=cache, revision=rev)
        assert p is H._CACHED_NO_EXIST, p
    m = T.AutoModelForCausalLM.from_pretrained(repo, local_files_only=True)
    t = T.AutoTokenizer.from_pretrained(repo, local_files_only=True)
    seen["local_files_only"] = {"model": type(m).__name__, "tokenizer": type(t).__name__,
                                "ids": t("hello world")["input_ids"]}
    p = H.hf_hub_download("lmtune-test/tiny-text", "train.jsonl", repo_type="dataset", cache_dir=cache, local_files_only=True)
    assert read(p) == read(os.path.join(OUT_ROOT, folder("lmtune-test/tiny-text", True), "commits",
                                        commit_id("lmtune-test/tiny-text", "main"), "train.jsonl"))
    lines = listing(cache)
    with open(os.path.join(HUB, "lmtune_cache_listing.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(HUB, "hf_reads_lmtune_cache.json"), "w") as f:
        json.dump(seen, f, indent=1, sort_keys=True)
        f.write("\n")
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"lmtune-cache ok: {len(lines)} entries, read by huggingface_hub {H.__version__} and transformers {T.__version__}")


def main():
    args = sys.argv[1:]
    if args[:1] == ["build"]:
        build()
    elif args[:1] == ["interop"]:
        server = args[args.index("--server") + 1] if "--server" in args else os.path.join(ROOT, "build", "lmt_hub_server")
        interop(os.path.abspath(server))
    elif args[:1] == ["lmtune-cache"]:
        server = args[args.index("--server") + 1] if "--server" in args else os.path.join(ROOT, "build", "lmt_hub_server")
        lmtune = args[args.index("--lmtune") + 1] if "--lmtune" in args else os.path.join(ROOT, "build", "lmtune")
        lmtune_cache(os.path.abspath(server), os.path.abspath(lmtune))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
