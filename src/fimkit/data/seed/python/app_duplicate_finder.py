"""Walk a directory tree and report files with identical contents."""
import hashlib
import os
import sys
from collections import defaultdict
from pathlib import Path

SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv"}


def _digest(path: Path, chunk_size: int = 1 << 16) -> str:
    h = hashlib.blake2b(digest_size=20)
    with path.open("rb") as fh:
        # Read in chunks so multi-gigabyte files don't land in memory at once.
        while chunk := fh.read(chunk_size):
            h.update(chunk)
    return h.hexdigest()


def find_duplicates(root: str | os.PathLike[str], min_size: int = 1) -> list[list[Path]]:
    """Return groups of paths whose contents are byte-for-byte identical."""
    by_size: dict[int, list[Path]] = defaultdict(list)
    for dirpath, dirnames, filenames in os.walk(root):
        # Pruning dirnames in place stops os.walk from descending into them.
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        for name in filenames:
            path = Path(dirpath, name)
            if path.is_symlink():
                continue
            try:
                size = path.stat().st_size
            except OSError:
                continue  # vanished or unreadable between listing and stat
            if size >= min_size:
                by_size[size].append(path)

    # Only files sharing a size can be duplicates, so most files are never hashed.
    by_hash: dict[str, list[Path]] = defaultdict(list)
    for same_size in by_size.values():
        if len(same_size) < 2:
            continue
        for path in same_size:
            try:
                by_hash[_digest(path)].append(path)
            except OSError:
                continue
    return sorted((sorted(g) for g in by_hash.values() if len(g) > 1),
                  key=lambda g: -g[0].stat().st_size)


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "."
    wasted = 0
    for group in find_duplicates(target):
        size = group[0].stat().st_size
        wasted += size * (len(group) - 1)
        print(f"{size:>12,} bytes x{len(group)}")
        for p in group:
            print(f"    {p}")
    print(f"reclaimable: {wasted / 1_048_576:.1f} MiB")
