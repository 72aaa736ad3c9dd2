"""``fimkit tokenize``: JSON lines -> Dolma-compatible token memmaps.

Accepts Dolma's ``tokens`` config (documents, destination, seed, max_size, processes, dtype,
tokenizer.{name_or_path, bos_token_id, eos_token_id, pad_token_id, segment_before_tokenization},
fields.{text_field_name, id_field_name}) and writes what Dolma writes: ``part-<i>-<n>.npy``
(a raw memmap, no NumPy header) and ``part-<i>-<n>.csv.gz`` with rows ``start,end,id,src,loc``.
Unlike Dolma it never strips text (a middle's trailing newline is data), picks the dtype from
the vocabulary size (and refuses uint16 for a vocabulary over 65,535), and encodes only the
transform's own sentinels as control tokens. ``tokens.json`` beside the parts records the
tokenizer, FIM family and dtype for the reader and for training.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fimkit.data.fim import discover_inputs
from fimkit.data.jsonl import BadRecordError, read_lines
from fimkit.data.parallel import run_jobs
from fimkit.data.tokenizer import load_tokenizer
from fimkit.errors import FimkitError
from fimkit.fileio import atomic_output


@dataclass(frozen=True)
class TokenizerSection:
    """Dolma's ``tokenizer`` block. ``segment_before_tokenization`` and ``encode_special_tokens`` are
    accepted so Dolma configs load unchanged; they change nothing here: documents are encoded whole,
    in batches, and user text is always encoded as text."""

    name_or_path: str = "qwen2.5-coder-0.5b"
    bos_token_id: int | None = None
    eos_token_id: int | None = None
    pad_token_id: int | None = None
    segment_before_tokenization: bool = False
    encode_special_tokens: bool = False


@dataclass(frozen=True)
class TokenizeConfig:
    """Dolma's ``tokens`` config plus ``fim_family`` (whose sentinels are control tokens) and ``batch_size``."""

    documents: tuple[str, ...] = ()
    destination: str = ""
    seed: int = 3920
    max_size: int = 1 << 30  # tokens per part file (Dolma's name, Dolma's meaning)
    processes: int = 1
    dtype: str | None = None
    tokenizer: TokenizerSection = field(default_factory=TokenizerSection)
    text_field_name: str = "text"
    id_field_name: str = "id"
    fim_family: str | None = "fimkit"
    batch_size: int = 512
    strict: bool = False

    @classmethod
    def from_mapping(cls, data: dict, source: str = "config") -> TokenizeConfig:
        data = dict(data)
        known = set(cls.__dataclass_fields__) | {"fields", "work_dir", "debug", "dryrun", "ring_size", "sample_ring_prop", "tokenizer_name_or_path"}
        unknown = set(data) - known
        if unknown:
            raise FimkitError(f"{source}: unknown key(s) {sorted(unknown)}; known: {sorted(known - {'fields'})}")
        tok = data.pop("tokenizer", None) or {}
        if "tokenizer_name_or_path" in data:  # Dolma's older flat spelling
            tok = {"name_or_path": data.pop("tokenizer_name_or_path"), **tok}
        try:
            tok_section = TokenizerSection(**tok)
        except TypeError as exc:
            raise FimkitError(f"{source}: tokenizer: {exc}") from exc
        fields = data.pop("fields", None) or {}
        for k in ("work_dir", "debug", "dryrun", "ring_size", "sample_ring_prop"):
            data.pop(k, None)  # Dolma runtime knobs with no meaning here
        if "text_field_name" in fields:
            data["text_field_name"] = fields["text_field_name"]
        if "id_field_name" in fields:
            data["id_field_name"] = fields["id_field_name"]
        docs = data.get("documents", ())
        data["documents"] = (docs,) if isinstance(docs, str) else tuple(docs)
        if not data["documents"] or not data.get("destination"):
            raise FimkitError(f"{source}: 'documents' and 'destination' are required")
        return cls(tokenizer=tok_section, **data)


def choose_dtype(vocab_size: int, requested: str | None) -> str:
    if requested is None:
        return "uint16" if vocab_size <= 65535 else "uint32"
    if requested not in ("uint16", "uint32", "uint64"):
        raise FimkitError(f"dtype must be uint16, uint32 or uint64, got {requested!r}")
    if requested == "uint16" and vocab_size > 65535:
        raise FimkitError(
            f"dtype uint16 cannot hold this tokenizer's {vocab_size:,} token ids (max 65,535); "
            "use uint32 or leave dtype unset"
        )
    return requested


@dataclass
class TokenizeStats:
    documents: int = 0
    tokens: int = 0
    parts: int = 0
    bad_lines: list[tuple[str, int, str]] = field(default_factory=list)

    def merge(self, other: TokenizeStats) -> None:
        self.documents += other.documents
        self.tokens += other.tokens
        self.parts += other.parts
        self.bad_lines.extend(other.bad_lines)


class _Discarded(Exception):
    """An empty or abandoned part: its temporary files are removed, not renamed."""


class _PartWriter:
    """Rolls over to a new part when ``max_size`` tokens are reached; each part appears whole."""

    def __init__(self, dest: Path, index: int, dtype: str, max_size: int):
        self.dest, self.index, self.dtype, self.max_size = dest, index, dtype, max_size
        self.n, self.count, self.parts = 0, 0, 0
        self._open()

    def _open(self):
        import numpy as np

        self.np = np
        self.npy = self.dest / f"part-{self.index:05d}-{self.n:05d}.npy"
        self.csv = self.dest / f"part-{self.index:05d}-{self.n:05d}.csv.gz"
        # Both files of a part appear together or not at all (see _close).
        self._outputs = ExitStack()
        tmp_npy = self._outputs.enter_context(atomic_output(self.npy))
        tmp_csv = self._outputs.enter_context(atomic_output(self.csv))
        self.fh = open(tmp_npy, "wb")
        self.rows = gzip.open(tmp_csv, "wt", encoding="utf-8", newline="")
        self.writer = csv.writer(self.rows)
        self.count = 0

    def _close(self, keep: bool):
        self.fh.close()
        self.rows.close()
        if keep and self.count:
            self._outputs.close()  # renames both into place
            self.parts += 1
        else:  # leaving the outputs as if their block failed: nothing is renamed, the temporaries go
            self._outputs.__exit__(_Discarded, _Discarded(), None)

    def add(self, ids: list[int], doc_id: str, src: str, loc: int):
        if self.count and self.count + len(ids) > self.max_size:
            self._close(True)
            self.n += 1
            self._open()
        self.fh.write(self.np.asarray(ids, dtype=self.dtype).tobytes())
        self.writer.writerow([self.count, self.count + len(ids), doc_id, src, loc])
        self.count += len(ids)

    def finish(self, ok: bool = True):
        self._close(ok)


def _tokenize_file(job) -> TokenizeStats:

    src, index, config, dest, dtype = job
    tok = load_tokenizer(config.tokenizer.name_or_path, config.fim_family)
    t = config.tokenizer
    bos = t.bos_token_id
    eos = t.eos_token_id if t.eos_token_id is not None else tok.eos_id
    stats = TokenizeStats()
    writer = _PartWriter(Path(dest), index, dtype, config.max_size)
    batch: list[tuple[str, str, int]] = []

    def flush():
        for (_text, doc_id, loc), ids in zip(batch, tok.encode_batch([b[0] for b in batch])):
            ids = ([bos] if bos is not None else []) + ids + ([eos] if eos is not None else [])
            writer.add(ids, doc_id, str(src), loc)
            stats.documents += 1
            stats.tokens += len(ids)
        batch.clear()

    ok = False
    try:
        for line in read_lines(src):
            record, error = line.record, line.error
            if record is not None and not isinstance(record.get(config.text_field_name), str):
                error = f"field '{config.text_field_name}' is missing or not a string"
            if error:
                if config.strict:
                    raise BadRecordError(src, line.number, error)
                stats.bad_lines.append((str(src), line.number, error))
                continue
            doc_id = record.get(config.id_field_name)
            batch.append((record[config.text_field_name], str(doc_id if doc_id is not None else line.number), line.number))
            if len(batch) >= config.batch_size:
                flush()
        flush()
        ok = True
    finally:
        writer.finish(ok)
    stats.parts = writer.parts
    return stats


def run_tokenize(config: TokenizeConfig, *, progress: bool = False) -> TokenizeStats:
    """Tokenize every document file into ``config.destination``; one part series per input file."""
    from tqdm import tqdm


    files = discover_inputs(list(config.documents))
    tok = load_tokenizer(config.tokenizer.name_or_path, config.fim_family)  # fails early, warms the cache
    dtype = choose_dtype(tok.vocab_size, config.dtype)
    dest = Path(config.destination)
    dest.mkdir(parents=True, exist_ok=True)
    jobs = [(src, i, config, str(dest), dtype) for i, (src, _) in enumerate(files)]
    total = TokenizeStats()
    with tqdm(total=len(jobs), unit=" files", desc="tokenize", disable=not progress) as bar:
        for _, stats in run_jobs(_tokenize_file, jobs, config.processes):
            total.merge(stats)
            bar.update(1)
            bar.set_postfix(tokens=total.tokens)
    total.bad_lines.sort()
    meta = {
        "dtype": dtype, "vocab_size": tok.vocab_size, "tokenizer": config.tokenizer.name_or_path,
        "fim_family": config.fim_family, "added_tokens": tok.added,
        "bos_token_id": config.tokenizer.bos_token_id,
        "eos_token_id": config.tokenizer.eos_token_id if config.tokenizer.eos_token_id is not None else tok.eos_id,
        "pad_token_id": config.tokenizer.pad_token_id if config.tokenizer.pad_token_id is not None else tok.pad_id,
        "documents": total.documents, "tokens": total.tokens, "config": _jsonable(asdict(config)),
    }
    with atomic_output(dest / "tokens.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=2))
    return total


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=str))


def read_index(destination: str | Path) -> list[tuple[Path, list[tuple[int, int, str, str, int]]]]:
    """Each part's memmap path with its rows (start, end, id, src, loc)."""
    out = []
    for npy in sorted(Path(destination).glob("part-*.npy")):
        with gzip.open(npy.with_name(npy.name[: -len(".npy")] + ".csv.gz"), "rt", encoding="utf-8", newline="") as fh:
            rows = [(int(r[0]), int(r[1]), r[2], r[3], int(r[4])) for r in csv.reader(io.StringIO(fh.read()))]
        out.append((npy, rows))
    return out
