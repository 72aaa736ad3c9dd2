"""Verify signed webhook deliveries.

The sender puts ``t=<unix-ts>,v1=<hex-hmac>`` in the ``X-Signature`` header,
where the HMAC-SHA256 covers ``f"{t}.{raw_body}"``.
"""
import hashlib
import hmac
import time


class SignatureError(Exception):
    """Raised when a webhook payload cannot be trusted."""


def _parse_header(header: str) -> tuple[int, list[str]]:
    timestamp = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError("timestamp is not an integer") from None
        elif key == "v1":
            # Several v1 entries are allowed so secrets can be rotated without downtime.
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureError("malformed signature header")
    return timestamp, signatures


def verify_webhook(raw_body: bytes, header: str, secret: str,
                   tolerance_s: int = 300, now: float | None = None) -> None:
    """Raise SignatureError unless ``raw_body`` was signed with ``secret`` recently.

    Always pass the raw request bytes: re-serialising parsed JSON changes
    whitespace and key order and breaks the signature.
    """
    timestamp, candidates = _parse_header(header)
    current = time.time() if now is None else now
    # A bounded window blocks replays of captured, validly signed requests.
    if abs(current - timestamp) > tolerance_s:
        raise SignatureError("timestamp outside tolerance window")

    signed = f"{timestamp}.".encode() + raw_body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    # compare_digest takes constant time, so attackers can't probe byte by byte.
    if not any(hmac.compare_digest(expected, sig) for sig in candidates):
        raise SignatureError("no matching signature")


def sign(raw_body: bytes, secret: str, timestamp: int) -> str:
    """Produce a header value; handy for tests and local replays."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


if __name__ == "__main__":
    body = b'{"event":"invoice.paid","id":"evt_123"}'
    ts = int(time.time())
    verify_webhook(body, sign(body, "whsec_test", ts), "whsec_test")
    print("signature ok")
