"""The engine: services that apply the pure scheduler's actions to rows.

- :mod:`.transitions`: claim (lease + fencing token), record an end, retry,
  wait, resume, cancel; every transition is a compare-and-set made under the
  run-row lock, with its events, in one transaction.
- :mod:`.plans`: load a run's state, apply a :class:`runtime.scheduler.Plan`.
- :mod:`.execute`: run a claimed step's node (with its deadline) and continue
  inline with a single ready successor.
- :mod:`.start`: start and re-run.
- :mod:`.sql`: plain SQL for the statements of the step hot path.
- :mod:`.sweeper`: the periodic tick (timers, retries, lost messages, expired
  leases).
"""
