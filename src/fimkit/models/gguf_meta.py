"""A small, fast reader of GGUF headers: metadata, tensor table, truncation check.

gguf-py's GGUFReader maps every array element and tensor into numpy objects, which
takes ~13 s for Gemma's 262k-token vocabulary on this machine; listing models must be
instant. This reader walks the header once with ``struct`` over an mmap, decodes only
the arrays asked for, and checks that every tensor's bytes lie inside the file, so a
truncated download is named as such instead of crashing llama.cpp later.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path

from fimkit.errors import CorruptFileError

GGUF_MAGIC = b"GGUF"

# value type -> (struct format, size) for scalars
_SCALARS = {
    0: ("<B", 1), 1: ("<b", 1), 2: ("<H", 2), 3: ("<h", 2), 4: ("<I", 4), 5: ("<i", 4),
    6: ("<f", 4), 7: ("<?", 1), 10: ("<Q", 8), 11: ("<q", 8), 12: ("<d", 8),
}
_STRING, _ARRAY = 8, 9

# ggml tensor type -> (elements per block, bytes per block); used to find truncated files.
GGML_TYPE_SIZES = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34), 9: (32, 36),
    10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 15: (256, 292),
    24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8), 30: (1, 2),
}
GGML_TYPE_NAMES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1", 10: "Q2_K",
    11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K", 24: "I8", 25: "I16", 26: "I32",
    27: "I64", 28: "F64", 30: "BF16",
}

# general.file_type (llama_ftype) -> the quantization name people use.
FILE_TYPE_NAMES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 32: "BF16",
}


@dataclass
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int  # relative to the start of the data section

    def nbytes(self) -> int | None:
        if self.ggml_type not in GGML_TYPE_SIZES:
            return None
        block, size = GGML_TYPE_SIZES[self.ggml_type]
        n = 1
        for d in self.shape:
            n *= d
        return n // block * size


@dataclass
class GGUFHeader:
    path: Path
    version: int
    metadata: dict[str, object]
    tensors: list[TensorInfo] = field(default_factory=list)
    data_offset: int = 0
    file_size: int = 0

    @property
    def architecture(self) -> str | None:
        return self.metadata.get("general.architecture")  # type: ignore[return-value]

    def get(self, key: str, default=None):
        return self.metadata.get(key, default)


class _Cursor:
    def __init__(self, buf, path: Path):
        self.buf, self.pos, self.path = buf, 0, path

    def need(self, n: int, what: str):
        if self.pos + n > len(self.buf):
            raise CorruptFileError(
                f"{self.path}: truncated GGUF (ends inside the {what} at byte {self.pos}); "
                "the file is incomplete: copy or download it again"
            )

    def scalar(self, vtype: int, what: str):
        fmt, size = _SCALARS[vtype]
        self.need(size, what)
        (value,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return value

    def string(self, what: str) -> str:
        n = self.scalar(10, what)
        self.need(n, what)
        raw = self.buf[self.pos : self.pos + n]
        self.pos += n
        return raw.decode("utf-8", errors="replace")

    def skip_string(self, what: str):
        n = self.scalar(10, what)
        self.need(n, what)
        self.pos += n

    def value(self, vtype: int, key: str, decode: bool):
        if vtype in _SCALARS:
            return self.scalar(vtype, key)
        if vtype == _STRING:
            return self.string(key)
        if vtype != _ARRAY:
            raise CorruptFileError(f"{self.path}: metadata key {key!r} has unknown value type {vtype}")
        etype = self.scalar(4, key)
        count = self.scalar(10, key)
        if etype in _SCALARS:
            fmt, size = _SCALARS[etype]
            self.need(count * size, key)
            if decode:
                values = list(struct.unpack_from("<" + fmt[1] * count, self.buf, self.pos))
            else:
                values = _Skipped(count)
            self.pos += count * size
            return values
        if etype == _STRING:
            if decode:
                return [self.string(key) for _ in range(count)]
            for _ in range(count):
                self.skip_string(key)
            return _Skipped(count)
        if decode:
            return [self.value(etype, key, True) for _ in range(count)]
        for _ in range(count):
            self.value(etype, key, False)
        return _Skipped(count)


class _Skipped(list):
    """Stands for an array that was not decoded; ``len`` still reports its length."""

    def __init__(self, count: int):
        super().__init__()
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return f"<array of {self.count}>"


def read_gguf_header(
    path: str | Path, *, decode_arrays: frozenset[str] | set[str] = frozenset({"tokenizer.ggml.tokens"})
) -> GGUFHeader:
    """Read metadata and the tensor table; raise CorruptFileError for anything that is not a whole GGUF."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            if size < 24:
                raise CorruptFileError(f"{path}: only {size} bytes, too short to be a GGUF model")
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                return _parse(buf, path, size, decode_arrays)
    except OSError as exc:
        raise CorruptFileError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _parse(buf, path: Path, size: int, decode_arrays) -> GGUFHeader:
    if buf[:4] != GGUF_MAGIC:
        raise CorruptFileError(f"{path}: not a GGUF file (starts with {bytes(buf[:4])!r}, expected b'GGUF')")
    cur = _Cursor(buf, path)
    cur.pos = 4
    version = cur.scalar(4, "version")
    if version < 2:
        raise CorruptFileError(f"{path}: GGUF version {version} is too old; convert it again with llama.cpp")
    n_tensors = cur.scalar(10, "tensor count")
    n_kv = cur.scalar(10, "metadata count")
    meta: dict[str, object] = {}
    for _ in range(n_kv):
        key = cur.string("metadata key")
        vtype = cur.scalar(4, key)
        meta[key] = cur.value(vtype, key, key in decode_arrays)
    tensors = []
    for _ in range(n_tensors):
        name = cur.string("tensor name")
        n_dims = cur.scalar(4, name)
        shape = tuple(cur.scalar(10, name) for _ in range(n_dims))
        ggml_type = cur.scalar(4, name)
        offset = cur.scalar(10, name)
        tensors.append(TensorInfo(name, shape, ggml_type, offset))
    alignment = int(meta.get("general.alignment", 32) or 32)
    data_offset = (cur.pos + alignment - 1) // alignment * alignment
    header = GGUFHeader(path, version, meta, tensors, data_offset, size)
    _check_extent(header)
    return header


def _check_extent(header: GGUFHeader) -> None:
    for t in header.tensors:
        n = t.nbytes()
        end = header.data_offset + t.offset + (n or 0)
        if end > header.file_size:
            raise CorruptFileError(
                f"{header.path}: truncated GGUF: tensor {t.name!r} needs bytes up to {end:,} but the file "
                f"has {header.file_size:,}; the file is incomplete: copy or download it again"
            )
