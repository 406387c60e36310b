"""The run event log's hook for live updates.

Every transition appends :class:`runtime.models.RunEvent` rows in the same
transaction (see ``runtime.engine.transitions``). Once that transaction
commits, each function in :data:`after_commit_hooks` is called with the new
events, in ``seq`` order. The live-events work registers its publisher here;
by default nothing is registered. A hook that raises is logged and ignored:
the events are committed and a reconnecting client replays them by ``seq``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction

if TYPE_CHECKING:
    from runtime.models import RunEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunFacts:
    """What the transition that wrote an event knew of its run, handed to the
    hooks as ``event.facts`` so they need not read the run again. Events
    written outside the engine may lack it: read the run then."""

    workflow_id: Any
    workspace_id: Any
    status: str
    trigger_kind: str
    parent_step_id: Any
    output: Any
    #: what the run-end probes answered in the statement that ended the run
    #: (see :func:`register_end_probe`), when it was asked there
    probes: Mapping[str, Any] | None = None

    @classmethod
    def of(cls, run: Any) -> RunFacts:
        return cls(
            run.workflow_id,
            run.workspace_id,
            str(run.status),
            run.trigger_kind,
            run.parent_step_id,
            run.output,
        )


def facts_of(event: Any) -> RunFacts | None:
    return getattr(event, "facts", None)


#: Questions about a run that a hook asks after the run ends, answered in
#: the statement that ends it where the engine can (one round trip less):
#: name -> a function of the workflow id giving (SQL of one boolean
#: expression, its parameters).
end_probes: dict[str, Callable[[Any], tuple[str, list[Any]]]] = {}


def register_end_probe(name: str, probe: Callable[[Any], tuple[str, list[Any]]]) -> None:
    end_probes[name] = probe


def probe_answer(event: Any, name: str) -> bool | None:
    """A run-end probe's answer, or None when it was not asked (read it then)."""
    facts = facts_of(event) if not isinstance(event, RunFacts) else event
    if facts is None or facts.probes is None:
        return None
    return facts.probes.get(name)


EventHook = Callable[[Sequence["RunEvent"]], None]
after_commit_hooks: list[EventHook] = []


def register(hook: EventHook) -> EventHook:
    """Add a hook (usable as a decorator); adding the same one twice is a no-op."""
    if hook not in after_commit_hooks:
        after_commit_hooks.append(hook)
    return hook


def unregister(hook: EventHook) -> None:
    if hook in after_commit_hooks:
        after_commit_hooks.remove(hook)


def publish_on_commit(events: Sequence[RunEvent]) -> None:
    """Call the hooks with ``events`` after the current transaction commits."""
    if events and after_commit_hooks:
        transaction.on_commit(lambda: _publish(list(events)))


def _publish(events: list[RunEvent]) -> None:
    for hook in list(after_commit_hooks):
        try:
            hook(events)
        except Exception:
            log.exception("run event hook %r failed", hook)
