"""Checkpoint files written by the reference libraries, for the readers' and
writer's bit-exact tests (tests/test_safetensors.c, test_torch_bin.c,
test_io_bad_input.c).

Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_io_fixtures.py
Writes tests/fixtures/io/ (a few tens of KB).
"""
import io
import json
import os
import pickle
import struct
import zipfile
import zlib

import torch
from safetensors._safetensors_rust import deserialize
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "io")


def out(name):
    return os.path.join(OUT, name)


def safetensors_files(g):
    base = torch.randn(4, 6, generator=g)
    tensors = {
        "f32": base.clone(),
        "f16": torch.randn(3, 5, generator=g).half(),
        "bf16": torch.randn(2, 7, generator=g).bfloat16(),
        "f64": torch.randn(3, generator=g).double(),
        "i64": torch.arange(-5, 7, dtype=torch.int64).reshape(3, 4),
        "i32": torch.arange(10, dtype=torch.int32),
        "u8": torch.arange(6, dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
        "a.b.weight": torch.randn(2, 3, 4, generator=g),
    }
    # Two metadata keys: the library writes them in a random (HashMap) order.
    save_file(tensors, out("mixed.safetensors"), metadata={"format": "pt", "note": "é"})
    # What save_pretrained writes for a model-like dict (writer parity).
    save_file({"b.weight": torch.ones(2, 2), "a.bias": torch.zeros(3), "c": torch.arange(4, dtype=torch.int64),
               "h": torch.ones(2).half()}, out("writer_ref.safetensors"), metadata={"format": "pt"})
    # Every dtype lmtune writes, zero-size and 0-d tensors, metadata={}.
    every = {
        "z_bool": torch.tensor([True, False]), "y_u8": torch.tensor([7], dtype=torch.uint8),
        "x_i8": torch.tensor([-3, 4], dtype=torch.int8), "w_i16": torch.tensor([-300], dtype=torch.int16),
        "v_f16": torch.randn(2, generator=g).half(), "u_bf16": torch.randn(3, generator=g).bfloat16(),
        "t_i32": torch.tensor([1 << 30], dtype=torch.int32), "s_f32": torch.randn(2, 2, generator=g),
        "r_f64": torch.randn(1, generator=g).double(), "q_i64": torch.tensor(-(1 << 40)),
        "p_empty_f32": torch.zeros(3, 0), "o_empty_i64": torch.zeros(0, dtype=torch.int64),
        "a_f32": torch.tensor(1.0), "b_f32": torch.zeros(1, 1, 1, 1, 1, 1, 1, 1),
    }
    save_file(every, out("writer_dtypes.safetensors"), metadata={})
    # Names JSON must escape, no metadata at all (metadata=None).
    names = {"quote\"back\\slash": torch.ones(1), "tab\tnew\nline": torch.ones(1), "ctl\x01\x1f\x7f": torch.ones(1),
             "unicodé 漢字 🙂": torch.ones(1), "/": torch.ones(1), "B": torch.ones(1), "a": torch.ones(1)}
    save_file(names, out("writer_names.safetensors"))
    save_file({}, out("writer_empty.safetensors"), metadata={"format": "pt"})


def views_bin(g):
    base = torch.randn(4, 6, generator=g)
    big = torch.randn(5, 8, generator=g)
    sd = {
        "plain": base,
        "transposed": big.t(),                 # non-contiguous view
        "row_slice": big[2],                   # storage offset
        "col_slice": big[:, 3],                # strided + offset
        "shared_a": big,                       # same storage as the views above
        "half": torch.randn(3, 4, generator=g).half(),
        "half_t": torch.randn(3, 4, generator=g).half().t(),
        "bf16": torch.randn(4, generator=g).bfloat16(),
        "long": torch.arange(12, dtype=torch.int64),
        "long_view": torch.arange(24, dtype=torch.int64).reshape(2, 3, 4).permute(2, 0, 1)[1:3],
        "scalar": torch.tensor(-1.25),
        "scalar_in_storage": big[4, 7],        # 0-d view at an offset
        "empty": torch.zeros(2, 0),
        "expanded": torch.randn(3, 1, generator=g).expand(3, 4),   # stride 0
        "param": torch.nn.Parameter(torch.randn(2, 2, generator=g)),
    }
    torch.save(sd, out("views.bin"))
    expected = {k: v.detach().contiguous().clone() for k, v in sd.items()}
    save_file(expected, out("views_expected.safetensors"))
    # Every dtype, in an archive whose top folder is "archive" (saved via a
    # buffer) and with pickle protocol 4 (FRAME, MEMOIZE, STACK_GLOBAL, ...).
    dt = {
        "f64": torch.randn(2, 3, generator=g).double(), "i32": torch.arange(-3, 3, dtype=torch.int32).reshape(2, 3).t(),
        "i16": torch.tensor([-2, 300], dtype=torch.int16), "i8": torch.tensor([[-1, 2], [3, -4]], dtype=torch.int8).t(),
        "u8": torch.tensor([0, 255, 7], dtype=torch.uint8), "bool": torch.tensor([True, False, True, True])[::2],
        "f32": torch.randn(3, generator=g), "f16": torch.randn(2, generator=g).half(),
        "bf16": torch.randn(2, 2, generator=g).bfloat16(), "i64": torch.tensor(123456789012),
    }
    buf = io.BytesIO()
    torch.save(dt, buf, pickle_protocol=4)
    with open(out("dtypes.bin"), "wb") as f:
        f.write(buf.getvalue())
    save_file({k: v.contiguous().clone() for k, v in dt.items()}, out("dtypes_expected.safetensors"))
    assert all(torch.equal(torch.load(out("dtypes.bin"), weights_only=False)[k], v) for k, v in dt.items())


def zip64_copy(src, dst):
    """Rewrites a torch archive with every size and offset in ZIP64 form
    (saturated 32-bit fields, ZIP64 extra fields and end records), as
    torch/miniz writes archives past 4 GiB."""
    with zipfile.ZipFile(src) as z:
        members = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    body, central = bytearray(), bytearray()
    for name, data in members:
        nm = name.encode()
        crc = zlib.crc32(data) & 0xFFFFFFFF
        off = len(body)
        lx = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(nm), len(lx))
        body += nm + lx + data
        cx = struct.pack("<HHQQQ", 1, 24, len(data), len(data), off)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                               len(nm), len(cx), 0, 0, 0, 0, 0xFFFFFFFF) + nm + cx
    cd_off, z64 = len(body), len(body) + len(central)
    tail = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(members), len(members), len(central), cd_off)
    tail += struct.pack("<IIQI", 0x07064B50, 0, z64, 1)
    tail += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(dst, "wb") as f:
        f.write(bytes(body + central + tail))
    with zipfile.ZipFile(dst) as z:    # the standard reader agrees
        assert z.testzip() is None and [(i.filename, z.read(i.filename)) for i in z.infolist()] == members
    a, b = torch.load(src), torch.load(dst)   # and so does torch's
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def broken_archives():
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    # A pickle that would call os.system, packed like a torch archive.
    with zipfile.ZipFile(out("evil.bin"), "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickle.dumps({"x": Evil()}, protocol=2))
        z.writestr("archive/version", "3\n")
    # A pickle using an opcode outside the state-dict subset (protocol 0 DICT).
    with zipfile.ZipFile(out("bad_opcode.bin"), "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickle.dumps({"x": 1}, protocol=0))
    # A real torch archive with a storage member dropped.
    with zipfile.ZipFile(out("views.bin")) as zin, zipfile.ZipFile(out("missing_member.bin"), "w",
                                                                   compression=zipfile.ZIP_STORED) as zout:
        for item in zin.infolist():
            if not item.filename.endswith("/data/1"):
                zout.writestr(item, zin.read(item.filename))


# ---- safetensors verdict corpus -------------------------------------------
# Forged headers and what the safetensors library makes of them. lmtune must
# agree, except where it deliberately refuses more (DEVIATIONS).

def F(shape, offs, dt="F32"):
    return {"dtype": dt, "shape": shape, "data_offsets": offs}


def j(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def pack(header, data_len, pad=True):
    return struct.pack("<Q", len(header)) + header + bytes(range(256)) * (data_len // 256) + bytes(range(data_len % 256))


A4 = '"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}'
CASES = [
    ("valid", pack(j({"a": F([2], [0, 8]), "b": F([1], [8, 12])}), 12)),
    ("valid, out of order", pack(j({"b": F([1], [8, 12]), "a": F([2], [0, 8])}), 12)),
    ("valid empty header", pack(b"{}", 0)),
    ("valid metadata only", pack(j({"__metadata__": {"format": "pt"}}), 0)),
    ("metadata null", pack(j({"__metadata__": None, "a": F([1], [0, 4])}), 4)),
    ("metadata array", pack(j({"__metadata__": []}), 0)),
    ("metadata number value", pack(j({"__metadata__": {"a": 1}}), 0)),
    ("metadata nested object", pack(j({"__metadata__": {"a": {}}}), 0)),
    ("metadata twice", pack(b'{"__metadata__":{},"__metadata__":{}}', 0)),
    ("gap between tensors", pack(j({"a": F([1], [0, 4]), "b": F([1], [8, 12])}), 12)),
    ("gap at start", pack(j({"a": F([1], [4, 8])}), 8)),
    ("trailing data", pack(j({"a": F([1], [0, 4])}), 8)),
    ("empty header with data", pack(b"{}", 4)),
    ("overlap", pack(j({"a": F([2], [0, 8]), "b": F([2], [4, 12])}), 12)),
    ("same span twice", pack(j({"a": F([1], [0, 4]), "b": F([1], [0, 4])}), 4)),
    ("past the end", pack(j({"a": F([4], [0, 16])}), 8)),
    ("end before begin", pack(j({"a": F([0], [4, 0])}), 4)),
    ("size mismatch", pack(j({"a": F([3], [0, 8])}), 8)),
    ("zero-size tensors sharing an offset", pack(j({"a": F([0], [0, 0]), "b": F([0], [0, 0]), "c": F([1], [0, 4])}), 4)),
    ("zero-size tensor at the end", pack(j({"a": F([1], [0, 4]), "b": F([0, 5], [4, 4])}), 4)),
    ("zero-size tensor in the middle", pack(j({"a": F([1], [0, 4]), "b": F([0], [4, 4]), "c": F([1], [4, 8])}), 8)),
    ("scalar", pack(j({"a": F([], [0, 4])}), 4)),
    ("unknown field", pack(j({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "x": [1, {"y": None}]}}), 4)),
    ("field repeated", pack(b'{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4)),
    ("missing dtype", pack(j({"a": {"shape": [1], "data_offsets": [0, 4]}}), 4)),
    ("missing shape", pack(j({"a": {"dtype": "F32", "data_offsets": [0, 4]}}), 4)),
    ("missing data_offsets", pack(j({"a": {"dtype": "F32", "shape": [1]}}), 4)),
    ("dtype not a string", pack(j({"a": F([1], [0, 4], 5)}), 4)),
    ("unknown dtype", pack(j({"a": F([1], [0, 4], "F33")}), 4)),
    ("lowercase dtype", pack(j({"a": F([1], [0, 4], "f32")}), 4)),
    ("each known dtype", pack(j({"a": F([1], [0, 8], "F64"), "b": F([1], [8, 16], "I64"), "c": F([1], [16, 20], "I32"),
                                 "d": F([1], [20, 22], "F16"), "e": F([1], [22, 24], "BF16"), "f": F([1], [24, 26], "I16"),
                                 "g": F([1], [26, 27], "I8"), "h": F([1], [27, 28], "U8"), "i": F([1], [28, 29], "BOOL"),
                                 "k": F([1], [29, 33], "F32")}), 33)),
    ("shape float", pack(b'{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}', 4)),
    ("shape exponent", pack(b'{"a":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}', 4)),
    ("shape minus zero", pack(b'{"a":{"dtype":"F32","shape":[-0],"data_offsets":[0,0]}}', 0)),
    ("shape negative", pack(j({"a": F([-1], [0, 4])}), 4)),
    ("shape not an array", pack(j({"a": F(1, [0, 4])}), 4)),
    ("shape string", pack(j({"a": F(["1"], [0, 4])}), 4)),
    ("shape beyond u64", pack(b'{"a":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,4]}}', 4)),
    ("shape product overflows", pack(j({"a": F([1 << 32, 1 << 32, 1 << 32], [0, 4])}), 4)),
    ("byte size overflows", pack(j({"a": F([1 << 62], [0, 4])}), 4)),
    ("offset float", pack(b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}}', 4)),
    ("three offsets", pack(j({"a": F([1], [0, 4, 4])}), 4)),
    ("one offset", pack(j({"a": F([1], [0])}), 4)),
    ("offsets object", pack(j({"a": F([1], {"0": 0})}), 4)),
    ("offset huge", pack(j({"a": F([1], [18446744073709551611, 18446744073709551615])}), 4)),
    ("tensor entry not an object", pack(j({"a": [1]}), 4)),
    ("header is an array", pack(b"[]", 0)),
    ("header is a string", pack(b'"x"', 0)),
    ("leading whitespace", pack(b" \n\t{" + A4.encode() + b"}", 4)),
    ("trailing spaces", pack(b"{" + A4.encode() + b"}   ", 4)),
    ("trailing NUL", pack(b"{" + A4.encode() + b"}\0", 4)),
    ("trailing garbage", pack(b"{" + A4.encode() + b"}x", 4)),
    ("trailing comma", pack(b"{" + A4.encode() + b",}", 4)),
    ("BOM", pack(b"\xef\xbb\xbf{" + A4.encode() + b"}", 4)),
    ("invalid UTF-8 in a name", pack(b'{"a\xff":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4)),
    ("valid UTF-8 name", pack(j({"é漢🙂": F([1], [0, 4])}), 4)),
    ("escaped name", pack(b'{"\\u00e9\\ud83d\\ude42\\n":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4)),
    ("lone surrogate name", pack(b'{"\\ud83d":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4)),
    ("NaN in an unknown field", pack(b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":NaN}}', 4)),
    ("Infinity in an unknown field", pack(b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":[-Infinity]}}', 4)),
    ("1e400 in an unknown field", pack(b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1e400}}', 4)),
    ("float in an unknown field", pack(b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":-1.5e-3}}', 4)),
    ("lone surrogate in metadata", pack(b'{"__metadata__":{"k":"\\udc00"}}', 0)),
    ("lone surrogate in an unknown field", pack(b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":{"\\ud800":1}}}', 4)),
    ("metadata key twice", pack(b'{"__metadata__":{"k":"1","k":"2"}}', 0)),
    ("control character in a string", pack(b'{"a\x01":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4)),
    ("deeply nested unknown field", pack(b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":' + b"[" * 100 + b"]" * 100 + b"}}", 4)),
    ("unknown field nested 125 deep", pack(b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":' + b"[" * 125 + b"]" * 125 + b"}}", 4)),
    ("unknown field nested 126 deep", pack(b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":' + b"[" * 126 + b"]" * 126 + b"}}", 4)),
    ("unknown field nested 127 deep", pack(b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":' + b"[" * 127 + b"]" * 127 + b"}}", 4)),
    ("unknown field nested 200 deep", pack(b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":' + b"[" * 200 + b"]" * 200 + b"}}", 4)),
    ("truncated JSON", pack(b'{"a":{"dtype":"F32","shape":[2],', 8)),
    ("header length 0", struct.pack("<Q", 0)),
    ("header length 1", struct.pack("<Q", 1) + b"{"),
    ("header length past the end", struct.pack("<Q", 64) + b"{}"),
    ("header length over 100 MB", struct.pack("<Q", 100_000_001) + b"{}"),
    ("header length 2^64-1", struct.pack("<Q", (1 << 64) - 1) + b"{}"),
    ("file shorter than 8 bytes", b"\x02\0\0\0"),
    ("empty file", b""),
    # deliberate deviations: lmtune refuses these, the library accepts them
    ("DEVIATION tensor name twice", pack(b"{" + A4.encode() + b"," + A4.encode() + b"}", 4)),
    ("DEVIATION NUL in a name", pack(b'{"a\\u0000b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4)),
    ("DEVIATION dtype F8_E4M3", pack(j({"a": F([1], [0, 1], "F8_E4M3")}), 1)),
    ("DEVIATION dtype U16", pack(j({"a": F([1], [0, 2], "U16")}), 2)),
    ("DEVIATION 9 dimensions", pack(j({"a": F([1] * 9, [0, 4])}), 4)),
]


def verdicts():
    lines = ["# safetensors files and the verdict of the safetensors library (%s):" % __import__("safetensors").__version__,
             "# <python_ok> <lmtune_ok> <name> | <file as hex>",
             "# DEVIATION lines: lmtune deliberately refuses what the library accepts."]
    for name, data in CASES:
        try:
            deserialize(data)
            ok = 1
        except Exception:
            ok = 0
        want = 0 if name.startswith("DEVIATION") else ok
        if name.startswith("DEVIATION"):
            assert ok == 1, name
        lines.append("%d %d %s | %s" % (ok, want, name, data.hex()))
    with open(out("st_verdicts.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(3)
    safetensors_files(g)
    views_bin(g)
    zip64_copy(out("views.bin"), out("zip64.bin"))
    broken_archives()
    verdicts()
    print("done")
