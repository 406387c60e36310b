"""RunEvent rows, written in the transaction of the transition they describe."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runtime.models import RunEvent, new


@dataclass
class EventLog:
    """Events of one transaction of one run, numbered by :meth:`take` and
    written by ``plans.save_run``."""

    run_id: Any
    at: datetime
    pending: list[RunEvent] = field(default_factory=list)

    def step(self, node_id: str, visit: int, status: str, **payload: Any) -> None:
        self.pending.append(
            new(
                RunEvent,
                run_id=self.run_id,
                kind="step",
                node_id=node_id,
                visit=visit,
                status=str(status),
                payload=_clean(payload),
                at=self.at,
            )
        )

    def run(self, status: str, **payload: Any) -> None:
        self.pending.append(
            new(
                RunEvent,
                run_id=self.run_id,
                kind="run",
                status=str(status),
                payload=_clean(payload),
                at=self.at,
            )
        )

    def take(self, last_seq: int) -> tuple[int, list[RunEvent]]:
        """Number the pending events after ``last_seq`` (the locked run
        row's ``event_seq``) and hand them over: (new last seq, events)."""
        for offset, event in enumerate(self.pending, start=1):
            event.seq = last_seq + offset
        taken, self.pending = self.pending, []
        return last_seq + len(taken), taken


def _clean(payload: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in payload.items() if value is not None}
