"""A fixed-window request counter per hook.

Embedded mode counts in this process (it is the only web process); with
``BATON_REDIS_URL`` set the count lives in Redis, shared by every web process.
"""

from __future__ import annotations

import threading
import time
from functools import cache

from django.conf import settings

WINDOW_S = 60
_lock = threading.Lock()
_counts: dict[tuple[str, int], int] = {}


@cache
def _redis():  # one connection pool per process
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def _count_locally(key: str, window: int) -> int:
    with _lock:
        for stale in [k for k in _counts if k[1] < window]:
            del _counts[stale]
        _counts[(key, window)] = _counts.get((key, window), 0) + 1
        return _counts[(key, window)]


def _count_in_redis(key: str, window: int) -> int:
    name = f"baton:hook-rate:{key}:{window}"
    pipe = _redis().pipeline()
    pipe.incr(name)
    pipe.expire(name, WINDOW_S * 2)
    return int(pipe.execute()[0])


def hit(key: str, limit: int, now: float | None = None) -> int:
    """Count one request; return 0 if it is allowed, else the seconds until
    the window resets (for ``Retry-After``)."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_S)
    count = _count_in_redis(key, window) if settings.REDIS_URL else _count_locally(key, window)
    if count <= limit:
        return 0
    return max(1, int((window + 1) * WINDOW_S - now))


def reset() -> None:
    with _lock:
        _counts.clear()
