"""The kernel ABI of programs/kernels/ggml_abi.h, in Python: descriptor packing, memory
images, and a bump allocator for guest addresses.

Offsets here must match the C header's static asserts (sail_tensor 80 bytes, sail_op 496).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

DDR_BASE = 0x8000_0000
DESC_ADDR = DDR_BASE + 0x0100_0000
DESC_SIZE = 0x1000
TENSOR_BASE = DESC_ADDR + DESC_SIZE
OP_MAGIC = 0x504F4B53
OP_VERSION = 1
MAX_SRC = 4

# GGML type ids
F32, F16, Q4_0, Q8_0, Q4_K, Q6_K, Q8_K, I8, I32, I64, BF16 = 0, 1, 2, 8, 12, 14, 15, 24, 26, 27, 30

BLOCK = {F32: (1, 4), F16: (1, 2), I8: (1, 1), I32: (1, 4), I64: (1, 8), BF16: (1, 2),
         Q4_0: (32, 18), Q8_0: (32, 34), Q4_K: (256, 144), Q6_K: (256, 210), Q8_K: (256, 292)}

OPS = {
    "mul_mat": 1, "quantize": 2, "rms_norm": 3, "rope": 4, "soft_max": 5, "add": 6, "mul": 7,
    "silu": 8, "swiglu": 9, "get_rows": 10, "cpy": 11, "attention": 12, "stream_read": 13,
    "stream_copy": 14, "pointer_chase": 15,
}

STATUS = {0: "OK", 1: "ERR_DESC", 2: "ERR_OP", 3: "ERR_TYPE", 4: "ERR_SHAPE", 5: "ERR_STRIDE",
          6: "ERR_WORK", 7: "ERR_PARAM", 8: "ERR_INDEX", 9: "ERR_XPOP"}


def row_bytes(t: int, n: int) -> int:
    be, bb = BLOCK[t]
    assert n % be == 0, (t, n)
    return n // be * bb


@dataclass
class Tensor:
    """One sail_tensor: type, ne[4], nb[4], guest address."""

    type: int
    ne: tuple
    nb: tuple
    addr: int

    def pack(self) -> bytes:
        return struct.pack("<II4q4QQ", self.type, 0, *self.ne, *self.nb, self.addr)

    @property
    def nbytes_span(self) -> int:
        """Bytes from the first to one past the last byte of the tensor."""
        be, bb = BLOCK[self.type]
        last = (self.ne[0] // be - 1) * self.nb[0] + bb
        for d in range(1, 4):
            last += (self.ne[d] - 1) * self.nb[d]
        return last


def contiguous_nb(t: int, ne) -> tuple:
    be, bb = BLOCK[t]
    nb0 = bb
    nb1 = row_bytes(t, ne[0])
    return (nb0, nb1, nb1 * ne[1], nb1 * ne[1] * ne[2])


def pack_op(op: int, dst: Tensor, srcs: list, params=(), wdata: int = 0, wsize: int = 0) -> bytes:
    p = [0] * 16
    for i, v in enumerate(params):
        if isinstance(v, float) or isinstance(v, np.floating):
            p[i] = struct.unpack("<i", struct.pack("<f", float(v)))[0]
        else:
            p[i] = int(v)
    head = struct.pack("<IHHIIQQ16i", OP_MAGIC, OP_VERSION, op, len(srcs), 0, wdata, wsize, *p)
    body = dst.pack()
    for i in range(MAX_SRC):
        body += srcs[i].pack() if i < len(srcs) else bytes(80)
    blob = head + body
    assert len(blob) == 496
    return blob


@dataclass
class Image:
    """Guest memory segments: the descriptor plus one segment per tensor/buffer."""

    segments: list = field(default_factory=list)  # [(addr, bytearray)]
    next_addr: int = TENSOR_BASE

    def alloc(self, nbytes: int, data: bytes | None = None, align: int = 64) -> int:
        addr = (self.next_addr + align - 1) // align * align
        buf = bytearray(nbytes) if data is None else bytearray(data)
        assert len(buf) == nbytes
        self.segments.append((addr, buf))
        self.next_addr = addr + max(nbytes, 1)
        return addr

    def tensor(self, t: int, ne, data: bytes | np.ndarray | None = None, nb=None) -> Tensor:
        ne = tuple(list(ne) + [1] * (4 - len(ne)))
        nb = contiguous_nb(t, ne) if nb is None else tuple(nb)
        ten = Tensor(t, ne, nb, 0)
        span = ten.nbytes_span
        raw = None if data is None else (data.tobytes() if isinstance(data, np.ndarray) else bytes(data))
        if raw is not None and len(raw) != span:
            raise ValueError(f"tensor data is {len(raw)} bytes, layout spans {span}")
        ten.addr = self.alloc(span, raw)
        return ten

    def set_desc(self, blob: bytes) -> None:
        self.segments = [s for s in self.segments if s[0] != DESC_ADDR]
        self.segments.insert(0, (DESC_ADDR, bytearray(blob)))

    def read(self, addr: int, n: int) -> bytes:
        for a, buf in self.segments:
            if a <= addr and addr + n <= a + len(buf):
                return bytes(buf[addr - a: addr - a + n])
        raise KeyError(f"no segment holds {addr:#x}+{n}")

    def read_tensor(self, t: Tensor) -> bytes:
        return self.read(t.addr, t.nbytes_span)

    def to_bytes(self) -> bytes:
        out = bytearray(b"SAILIMG1" + struct.pack("<II", len(self.segments), 0))
        for a, buf in self.segments:
            out += struct.pack("<QQ", a, len(buf)) + buf + bytes((8 - len(buf) % 8) % 8)
        return bytes(out)

    @staticmethod
    def from_bytes(b: bytes) -> "Image":
        if b[:8] != b"SAILIMG1":
            raise ValueError("not a SAILIMG1 image")
        n, _ = struct.unpack_from("<II", b, 8)
        off = 16
        img = Image()
        for _ in range(n):
            a, ln = struct.unpack_from("<QQ", b, off)
            off += 16
            img.segments.append((a, bytearray(b[off: off + ln])))
            off += ln + (8 - ln % 8) % 8
        return img


def strided_view(raw: bytes, t: Tensor, dtype) -> np.ndarray:
    """The tensor's elements as an array of shape (ne3, ne2, ne1, ne0) (element types only)."""
    itemsize = np.dtype(dtype).itemsize
    base = np.frombuffer(raw + bytes((-len(raw)) % itemsize), dtype=dtype)
    return np.lib.stride_tricks.as_strided(
        base,
        shape=(t.ne[3], t.ne[2], t.ne[1], t.ne[0]),
        strides=(t.nb[3], t.nb[2], t.nb[1], t.nb[0]),
        writeable=False,
    ).copy()
