"""RunEvent rows, written in the transaction of the transition they describe."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runtime import events as hooks
from runtime.engine import sql
from runtime.models import RunEvent


@dataclass
class EventLog:
    """Events of one transaction of one run. :meth:`flush` numbers them from
    the locked run row's ``event_seq`` and returns the new last seq."""

    run_id: Any
    at: datetime
    pending: list[RunEvent] = field(default_factory=list)

    def step(self, node_id: str, visit: int, status: str, **payload: Any) -> None:
        self.pending.append(
            RunEvent(
                run_id=self.run_id,
                kind="step",
                node_id=node_id,
                visit=visit,
                status=status,
                payload=_clean(payload),
                at=self.at,
            )
        )

    def run(self, status: str, **payload: Any) -> None:
        self.pending.append(
            RunEvent(
                run_id=self.run_id, kind="run", status=status, payload=_clean(payload), at=self.at
            )
        )

    def flush(self, last_seq: int) -> int:
        for offset, event in enumerate(self.pending, start=1):
            event.seq = last_seq + offset
        if self.pending:
            sql.insert_events(self.pending)
            hooks.publish_on_commit(self.pending)
        last = last_seq + len(self.pending)
        self.pending = []
        return last


def _clean(payload: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in payload.items() if value is not None}
