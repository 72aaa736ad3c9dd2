"""OAuth2 client-credentials token holder that refreshes before expiry."""
from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass


@dataclass
class AccessToken:
    value: str
    expires_at: float

    def is_fresh(self, skew: float) -> bool:
        # Treat tokens as stale slightly early so an in-flight request never
        # carries one that expires mid-way.
        return time.time() + skew < self.expires_at


class TokenProvider:
    def __init__(self, client_id: str, client_secret: str,
                 token_url: str = "https://auth.example.com/oauth/token",
                 scope: str = "", skew_seconds: float = 30.0) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._token_url = token_url
        self._scope = scope
        self._skew = skew_seconds
        self._token: AccessToken | None = None
        self._lock = threading.Lock()

    def _fetch(self) -> AccessToken:
        form = {"grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret}
        if self._scope:
            form["scope"] = self._scope
        data = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(
            self._token_url, data=data, method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(request, timeout=10) as resp:
            payload = json.load(resp)
        return AccessToken(payload["access_token"],
                           time.time() + float(payload.get("expires_in", 3600)))

    def get(self) -> str:
        """Return a valid bearer token, refreshing at most once across threads."""
        token = self._token
        if token is not None and token.is_fresh(self._skew):
            return token.value
        with self._lock:
            # Re-check: another thread may have refreshed while we waited.
            if self._token is None or not self._token.is_fresh(self._skew):
                self._token = self._fetch()
            return self._token.value

    def invalidate(self) -> None:
        """Drop the cached token, e.g. after the API answered 401."""
        with self._lock:
            self._token = None

    def auth_header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.get()}"}
