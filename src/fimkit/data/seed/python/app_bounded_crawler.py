"""Same-site crawler whose concurrency is capped by an asyncio.Semaphore."""
import asyncio
import re
from urllib.parse import urldefrag, urljoin, urlparse

import aiohttp

HREF_RE = re.compile(r'href=["\']([^"\'#]+)', re.IGNORECASE)


class Crawler:
    def __init__(self, root: str, max_concurrency: int = 5, max_pages: int = 200) -> None:
        self.root = root
        self.host = urlparse(root).netloc
        self.max_pages = max_pages
        # The semaphore caps open requests, not queued work: politeness to the host.
        self._sem = asyncio.Semaphore(max_concurrency)
        self.seen: set[str] = set()
        self.broken: dict[str, int] = {}

    def _links(self, base: str, html: str) -> set[str]:
        found = set()
        for raw in HREF_RE.findall(html):
            url, _ = urldefrag(urljoin(base, raw))
            if urlparse(url).netloc == self.host and url.startswith(("http://", "https://")):
                found.add(url)
        return found

    async def _fetch(self, session: aiohttp.ClientSession, url: str) -> str | None:
        async with self._sem:
            try:
                async with session.get(url) as resp:
                    if resp.status >= 400:
                        self.broken[url] = resp.status
                        return None
                    if "text/html" not in resp.headers.get("Content-Type", ""):
                        return None
                    return await resp.text()
            except (aiohttp.ClientError, asyncio.TimeoutError):
                self.broken[url] = -1
                return None

    async def _visit(self, session: aiohttp.ClientSession, url: str) -> None:
        html = await self._fetch(session, url)
        if html is None:
            return
        children = []
        for link in self._links(url, html):
            # Mark before scheduling so siblings don't schedule the same page twice.
            if link not in self.seen and len(self.seen) < self.max_pages:
                self.seen.add(link)
                children.append(self._visit(session, link))
        await asyncio.gather(*children)

    async def run(self) -> set[str]:
        timeout = aiohttp.ClientTimeout(total=15)
        headers = {"User-Agent": "fimkit-example-crawler/0.1"}
        async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
            self.seen.add(self.root)
            await self._visit(session, self.root)
        return self.seen


if __name__ == "__main__":
    crawler = Crawler("https://docs.example.com/", max_concurrency=4, max_pages=50)
    pages = asyncio.run(crawler.run())
    print(f"visited {len(pages)} pages, {len(crawler.broken)} broken")
