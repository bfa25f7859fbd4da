#!/usr/bin/env python3
"""Print what the PyPI `gguf` package's GGUFReader sees in a GGUF file, as JSON: the tensor
table (name, type name, shape in GGML order, bytes, absolute data offset) and the scalar and
array metadata values. The GGUF reader tests compare the Rust reader against this.

usage: describe.py FILE.gguf
"""
import json
import sys

from gguf import GGUFReader, GGUFValueType


def field_value(f):
    vt = f.types[0]
    if vt == GGUFValueType.ARRAY:
        if len(f.types) > 1 and f.types[1] == GGUFValueType.ARRAY:
            # GGUFReader flattens nested arrays: report the leaf values in order.
            return {"nested_array": [f.parts[i].tolist()[0] for i in f.data]}
        if f.types[-1] == GGUFValueType.STRING:
            return [bytes(f.parts[i]).decode("utf-8", "replace") for i in f.data]
        return [f.parts[i].tolist()[0] for i in f.data]
    if vt == GGUFValueType.STRING:
        return bytes(f.parts[-1]).decode("utf-8", "replace")
    return f.parts[-1].tolist()[0]


def main():
    r = GGUFReader(sys.argv[1])
    out = {
        "tensors": [
            {
                "name": t.name,
                "type": t.tensor_type.name,
                "shape": [int(x) for x in t.shape],
                "bytes": int(t.n_bytes),
                "offset": int(t.data_offset),
            }
            for t in r.tensors
        ],
        "fields": {k: field_value(f) for k, f in r.fields.items()
                   if not k.startswith("GGUF.")},
        "alignment": int(r.alignment),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
