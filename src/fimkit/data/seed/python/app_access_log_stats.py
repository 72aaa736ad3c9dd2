"""Summarise an nginx/Apache combined-format access log using a regex."""
import re
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator, TextIO

# host ident user [time] "METHOD path proto" status bytes "referer" "agent"
LINE_RE = re.compile(
    r'(?P<ip>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] '
    r'"(?P<method>[A-Z]+) (?P<path>\S+) [^"]*" '
    r'(?P<status>\d{3}) (?P<size>\d+|-)'
    r'(?: "(?P<referer>[^"]*)" "(?P<agent>[^"]*)")?'
)


@dataclass
class Hit:
    ip: str
    when: datetime
    method: str
    path: str
    status: int
    size: int


def parse(lines: TextIO) -> Iterator[Hit]:
    for line in lines:
        m = LINE_RE.match(line)
        if not m:
            continue  # tolerate truncated or foreign lines rather than aborting
        yield Hit(
            ip=m["ip"],
            when=datetime.strptime(m["time"], "%d/%b/%Y:%H:%M:%S %z"),
            method=m["method"],
            # Query strings would make every URL unique; group by path only.
            path=m["path"].split("?", 1)[0],
            status=int(m["status"]),
            size=0 if m["size"] == "-" else int(m["size"]),
        )


def summarise(hits: Iterator[Hit], top: int = 5) -> dict:
    paths: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    ips: Counter[str] = Counter()
    total_bytes = 0
    for hit in hits:
        paths[hit.path] += 1
        statuses[hit.status // 100 * 100] += 1
        ips[hit.ip] += 1
        total_bytes += hit.size
    requests = sum(statuses.values())
    errors = statuses[500]
    return {
        "requests": requests,
        "error_rate": errors / requests if requests else 0.0,
        "megabytes": round(total_bytes / 1_048_576, 2),
        "top_paths": paths.most_common(top),
        "top_clients": ips.most_common(top),
        "status_classes": dict(sorted(statuses.items())),
    }


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8", errors="replace") as fh:
        for key, value in summarise(parse(fh)).items():
            print(f"{key:>15}: {value}")
