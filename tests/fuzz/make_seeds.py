"""Writes the fuzzer's seed corpus (tests/fuzz/seeds/safetensors/) with PyTorch through
tests/fixtures/safetensors_io.py: small valid files of every dtype torch 1.13 has, plus a
few near-misses. Run by hand: /usr/bin/python3 tests/fuzz/make_seeds.py
"""

import os
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
from safetensors_io import save_file  # noqa: E402

OUT = os.path.join(HERE, "seeds", "safetensors")


def raw(name, header, data=b""):
    text = header.encode("utf-8")
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    save_file({}, os.path.join(OUT, "empty.safetensors"))
    save_file({"w": torch.randn(2, 3, generator=g)}, os.path.join(OUT, "one_f32.safetensors"))
    save_file(
        {
            "f32": torch.randn(3, generator=g),
            "f64": torch.tensor(2.5, dtype=torch.float64),
            "i32": torch.tensor([1, -2], dtype=torch.int32),
            "i64": torch.tensor([[3], [4]], dtype=torch.int64),
            "f16": torch.tensor([1.0], dtype=torch.float16),
            "bf16": torch.tensor([1.0, 2.0], dtype=torch.bfloat16),
            "u8": torch.tensor([255], dtype=torch.uint8),
            "bool": torch.tensor([True]),
            "empty": torch.zeros(0, 2),
        },
        os.path.join(OUT, "mixed.safetensors"),
        metadata={"format": "pt", "epoch": "3"},
    )
    raw("overlap.safetensors",
        '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
        '"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', bytes(12))
    raw("huge_shape.safetensors",
        '{"a":{"dtype":"F32","shape":[4611686018427387904,8],"data_offsets":[0,4]}}', bytes(4))
    raw("metadata_number.safetensors", '{"__metadata__":{"epoch":3}}')
    print(f"wrote {len(os.listdir(OUT))} seeds to {OUT}")


if __name__ == "__main__":
    main()
