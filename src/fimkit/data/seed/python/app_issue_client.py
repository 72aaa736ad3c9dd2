"""Read-only issue tracker client using only urllib, following RFC 8288 Link headers."""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Iterator

LINK_RE = re.compile(r'<([^>]+)>\s*;\s*rel="([^"]+)"')


def parse_link_header(value: str | None) -> dict[str, str]:
    """Map rel -> URL from e.g. '<https://...&page=2>; rel="next", <...>; rel="last"'."""
    return {rel: url for url, rel in LINK_RE.findall(value or "")}


class IssueTrackerClient:
    API = "https://api.example.com"

    def __init__(self, token: str | None = None, user_agent: str = "fimkit-demo") -> None:
        self._headers = {"Accept": "application/json", "User-Agent": user_agent}
        if token:
            self._headers["Authorization"] = f"token {token}"

    def _request(self, url: str) -> tuple[Any, dict[str, str]]:
        req = urllib.request.Request(url, headers=self._headers)
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                body = json.loads(resp.read().decode("utf-8"))
                # Lower-case names: HTTP header names are case-insensitive.
                return body, {k.lower(): v for k, v in resp.headers.items()}
        except urllib.error.HTTPError as err:
            # Surface the API's own error message rather than a bare status code.
            detail = err.read().decode("utf-8", "replace")[:200]
            raise RuntimeError(f"GET {url} -> {err.code}: {detail}") from err

    def issues(self, project: str, state: str = "open",
               per_page: int = 50) -> Iterator[dict[str, Any]]:
        query = urllib.parse.urlencode({"state": state, "per_page": per_page})
        url: str | None = f"{self.API}/projects/{urllib.parse.quote(project, safe='')}/issues?{query}"
        while url:
            items, headers = self._request(url)
            yield from items
            # Trust the server's "next" link instead of computing page numbers,
            # so cursor-based and page-based backends both work.
            url = parse_link_header(headers.get("link")).get("next")

    def count_by_label(self, project: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for issue in self.issues(project):
            for label in issue.get("labels", []):
                name = label["name"] if isinstance(label, dict) else str(label)
                counts[name] = counts.get(name, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


if __name__ == "__main__":
    print(parse_link_header('<https://api.example.com/x?page=2>; rel="next", '
                            '<https://api.example.com/x?page=9>; rel="last"'))
