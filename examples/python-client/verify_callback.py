"""Verify a Ferry notify callback (`notify: { http }`), standard library only.

Ferry signs the raw request body with the workflow's notify key:

    Ferry-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>

Check the signature over the exact bytes received (before parsing the JSON),
and refuse timestamps far from your clock so a captured delivery cannot be
replayed later.

    python3 verify_callback.py <key> <signature header> < body
exits 0 when valid, 1 when not.
"""

import hashlib
import hmac
import sys
import time

TOLERANCE_SECONDS = 300


def verify(header: str, body: bytes, key: str, now: float | None = None) -> bool:
    try:
        fields = [part.split("=", 1) for part in header.split(",")]
        stamps = [v for k, v in fields if k.strip() == "t"]
        signatures = [v.strip() for k, v in fields if k.strip() == "v1"]
        if len(stamps) != 1 or not stamps[0].strip().isdigit():
            return False
        t = int(stamps[0])
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - t) > TOLERANCE_SECONDS:
        return False
    expected = hmac.new(key.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s) for s in signatures)


if __name__ == "__main__":
    sys.exit(0 if verify(sys.argv[2], sys.stdin.buffer.read(), sys.argv[1]) else 1)
