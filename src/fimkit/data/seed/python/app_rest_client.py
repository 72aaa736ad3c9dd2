"""A small REST client for a paginated inventory API built on requests."""
from __future__ import annotations

from typing import Any, Iterator

import requests


class InventoryClient:
    """Thin wrapper around the inventory service at api.example.com.

    The API returns pages shaped like ``{"items": [...], "next_cursor": str | None}``.
    """

    def __init__(self, token: str, base_url: str = "https://api.example.com/v2",
                 timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        # A Session reuses TCP connections, which matters when walking many pages.
        self.session = requests.Session()
        self.session.headers.update({
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
        })

    def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        resp = self.session.get(f"{self.base_url}/{path.lstrip('/')}",
                                params=params, timeout=self.timeout)
        resp.raise_for_status()
        return resp.json()

    def iter_products(self, page_size: int = 100, **filters: Any) -> Iterator[dict[str, Any]]:
        """Yield every product, following cursors until the server stops returning one."""
        params: dict[str, Any] = {"limit": page_size, **filters}
        while True:
            page = self._get("/products", params=params)
            yield from page.get("items", [])
            cursor = page.get("next_cursor")
            if not cursor:
                break
            params["cursor"] = cursor

    def get_product(self, sku: str) -> dict[str, Any] | None:
        """Return one product, or None when the SKU is unknown."""
        try:
            return self._get(f"/products/{sku}")
        except requests.HTTPError as exc:
            # Only a 404 means "missing"; anything else is a real failure.
            if exc.response is not None and exc.response.status_code == 404:
                return None
            raise

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "InventoryClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


if __name__ == "__main__":
    with InventoryClient(token="dev-token") as client:
        low_stock = [p["sku"] for p in client.iter_products(status="active")
                     if p.get("quantity", 0) < 5]
        print(f"{len(low_stock)} products are running low")
