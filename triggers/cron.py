"""When a schedule fires next: cron read in the schedule's time zone. Pure.

Cron is evaluated on *wall-clock* times of the time zone, then each wall time
is turned into an instant:
- a wall time that does not exist (skipped by a spring-forward change) maps
  to the same distance past the gap (02:30 on a 02:00 -> 03:00 day fires at
  03:30), and is never fired twice if another wall time maps there too;
- a wall time that happens twice (an autumn fall-back) fires once, at its
  first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter


def _instants(cron: str, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    # Start one day early in wall time: a fold/gap can make a wall time
    # slightly before ``after``'s own wall time map after it.
    start = after.astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
    wall_times = croniter(cron, start)
    while True:
        wall = wall_times.get_next(datetime)
        yield wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def next_fire(cron: str, timezone: str, after: datetime) -> datetime:
    """The first instant strictly after ``after`` (aware) at which the
    schedule fires, in UTC."""
    after = after.astimezone(UTC)
    for instant in _instants(cron, ZoneInfo(timezone), after):
        if instant > after:
            return instant
    raise AssertionError("unreachable")


def fires_between(
    cron: str, timezone: str, after: datetime, until: datetime, limit: int = 10_000
) -> list[datetime]:
    """Every fire instant in ``(after, until]``, at most ``limit`` of them."""
    fires: list[datetime] = []
    moment = after
    while len(fires) < limit:
        moment = next_fire(cron, timezone, moment)
        if moment > until:
            break
        fires.append(moment)
    return fires
