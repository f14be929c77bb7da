#!/usr/bin/env python3
"""Writes the GGUF fuzzer's seed corpus: a few small valid files (named *.bin, since *.gguf is
ignored by git) that cover every metadata type, nested arrays, versions 2 and 3, a custom
alignment and block-quantized tensors. Run from anywhere: python3 tests/fuzz/make_corpus.py"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def s(text):
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def kv(key, type_id, payload):
    return s(key) + struct.pack("<I", type_id) + payload


def array(elem_type, items):
    return struct.pack("<IQ", elem_type, len(items)) + b"".join(items)


def tensor_info(name, dims, type_id, offset):
    out = s(name) + struct.pack("<I", len(dims))
    out += b"".join(struct.pack("<Q", d) for d in dims)
    return out + struct.pack("<IQ", type_id, offset)


def gguf(kvs, tensors, data, version=3, alignment=32):
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs)) + b"".join(kvs)
    out += b"".join(tensors)
    out += b"\0" * (-len(out) % alignment)
    return out + data


def write(name, data):
    assert len(data) < 4096, name
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    arch = kv("general.architecture", 8, s("llama"))
    write("minimal_f32.bin", gguf([arch, kv("llama.block_count", 4, struct.pack("<I", 1))],
                                  [tensor_info("w", [8, 2], 0, 0)], b"\0" * 64))
    every_type = [
        kv("u8", 0, b"\x07"), kv("i8", 1, b"\xff"), kv("u16", 2, struct.pack("<H", 9)),
        kv("i16", 3, struct.pack("<h", -9)), kv("u32", 4, struct.pack("<I", 9)),
        kv("i32", 5, struct.pack("<i", -9)), kv("f32", 6, struct.pack("<f", 0.5)),
        kv("bool", 7, b"\x01"), kv("str", 8, s("hello")), kv("u64", 10, struct.pack("<Q", 9)),
        kv("i64", 11, struct.pack("<q", -9)), kv("f64", 12, struct.pack("<d", 1e-5)),
        kv("ints", 9, array(5, [struct.pack("<i", v) for v in (1, -2, 3)])),
        kv("strs", 9, array(8, [s("a"), s("bc")])),
        kv("nested", 9, array(9, [array(0, [b"\x01", b"\x02"]), array(8, [s("x")])])),
    ]
    write("every_type_v2.bin", gguf(every_type, [], b"", version=2))
    quant = gguf([arch, kv("general.alignment", 4, struct.pack("<I", 64))],
                 [tensor_info("q4", [32, 2], 2, 0), tensor_info("q8", [32], 8, 64),
                  tensor_info("h", [4, 2, 1, 1], 1, 128)],
                 b"\x11" * 192, alignment=64)
    write("quantized_align64.bin", quant)
    vocab = [arch, kv("tokenizer.ggml.model", 8, s("gpt2")),
             kv("tokenizer.ggml.tokens", 9, array(8, [s(t) for t in ("a", "b", "ab", "<s>")])),
             kv("tokenizer.ggml.scores", 9, array(6, [struct.pack("<f", -i) for i in range(4)])),
             kv("tokenizer.ggml.merges", 9, array(8, [s("a b")])),
             kv("tokenizer.ggml.bos_token_id", 4, struct.pack("<I", 3))]
    write("vocab_only.bin", gguf(vocab, [], b""))


if __name__ == "__main__":
    main()
