"""Plain SQL for the hot path of a step (claim, end, decide), where the ORM's
statement building cost as much as the database round trip. Values go
through each field's ``get_db_prep_save``, so every backend gets its own
representation (UUIDs, JSON, datetimes) exactly as the ORM would send it.
Everything else in the runtime uses the ORM."""

# ruff: noqa: S608  (identifiers come from model metadata; every value is a parameter)
from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.utils.dateparse import parse_datetime

from runtime import scheduler
from runtime.models import EdgeState, Run, RunEvent, Step


@functools.cache
def _field(model: type[models.Model], name: str) -> models.Field:
    return model._meta.get_field(name)


def _prep(model: type[models.Model], name: str, value: Any, db: Any = None) -> Any:
    return _field(model, name).get_db_prep_save(value, db or _db())


def _db() -> Any:
    """The thread's connection object (``django.db.connection`` is a proxy
    whose every attribute access costs a thread-local lookup)."""
    return connections[DEFAULT_DB_ALIAS]


@functools.cache
def _quoted(model: type[models.Model], name: str, vendor: str) -> str:
    return connection.ops.quote_name(_field(model, name).column)


def _column(model: type[models.Model], name: str, vendor: str | None = None) -> str:
    return _quoted(model, name, vendor or _db().vendor)


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def update(
    model: type[models.Model],
    values: Mapping[str, Any],
    where: Mapping[str, Any],
    *,
    extra_where: str = "",
    extra_params: Sequence[Any] = (),
    increment: str | None = None,
) -> int:
    """``UPDATE model SET values [, increment = increment + 1] WHERE where
    [AND extra_where]``; the row count."""
    sets = ", ".join(f"{_column(model, name)} = %s" for name in values)
    if increment:
        sets += f", {_column(model, increment)} = {_column(model, increment)} + 1"
    conditions = [
        f"{_column(model, name)} IS NULL" if value is None else f"{_column(model, name)} = %s"
        for name, value in where.items()
    ]
    if extra_where:
        conditions.append(extra_where)
    db = _db()
    params = [_prep(model, name, value, db) for name, value in values.items()]
    params += [_prep(model, name, value, db) for name, value in where.items() if value is not None]
    params += list(extra_params)
    sql = f"UPDATE {_table(model)} SET {sets} WHERE {' AND '.join(conditions)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def insert(model: type[models.Model], names: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """One multi-row ``INSERT`` (no ids returned)."""
    db = _db()
    rows = [
        [_prep(model, name, value, db) for name, value in zip(names, row, strict=True)]
        for row in rows
    ]
    if not rows:
        return
    columns = ", ".join(_column(model, name) for name in names)
    one = "(" + ", ".join(["%s"] * len(names)) + ")"
    sql = f"INSERT INTO {_table(model)} ({columns}) VALUES {', '.join([one] * len(rows))}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])


def column(model: type[models.Model], name: str) -> str:
    return _column(model, name)


def prep(model: type[models.Model], name: str, value: Any) -> Any:
    return _prep(model, name, value)


def run_of_step(step_id: int) -> Any:
    sql = f"SELECT {_column(Step, 'run')} FROM {_table(Step)} WHERE {_column(Step, 'id')} = %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [step_id])
        row = cursor.fetchone()
    return None if row is None else Run._meta.pk.to_python(row[0])


def claimed_step(step_id: int) -> Step:
    """The fields of a just-claimed step that running it needs."""
    names = ("node_id", "visit", "attempts", "input", "wait")
    columns = ", ".join(_column(Step, name) for name in names)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {_table(Step)} WHERE {_column(Step, 'id')} = %s", [step_id]
        )
        node_id, visit, attempts, raw_input, raw_wait = cursor.fetchone()
    return Step(
        pk=step_id,
        node_id=node_id,
        visit=visit,
        attempts=attempts,
        input=_json(raw_input),
        wait=_json(raw_wait),
    )


def _json(value: Any) -> Any:
    field = Step._meta.get_field("input")
    return None if value is None else field.from_db_value(value, None, connection)


def load_state(run_id: Any) -> scheduler.State:
    """Every step's (node, visit, status, port) and edge state, in one query."""
    step, edge = _table(Step), _table(EdgeState)
    sql = (
        f"SELECT 's', {_column(Step, 'node_id')}, {_column(Step, 'visit')}, "
        f"{_column(Step, 'status')}, {_column(Step, 'port')} FROM {step} "
        f"WHERE {_column(Step, 'run')} = %s "
        f"UNION ALL SELECT 'e', {_column(EdgeState, 'edge_id')}, {_column(EdgeState, 'visit')}, "
        f"{_column(EdgeState, 'state')}, NULL FROM {edge} WHERE {_column(EdgeState, 'run')} = %s"
    )
    key = _prep(Run, "id", run_id)
    state = scheduler.State()
    with connection.cursor() as cursor:
        cursor.execute(sql, [key, key])
        for kind, name, visit, status, port in cursor.fetchall():
            if kind == "s":
                state.steps[(name, visit)] = scheduler.StepView(name, visit, status, port)
            else:
                state.edges[(name, visit)] = status
    return state


EVENT_FIELDS = ("run", "seq", "kind", "node_id", "visit", "status", "payload", "at")


def insert_events(events: Sequence[RunEvent]) -> None:
    insert(
        RunEvent,
        EVENT_FIELDS,
        [(e.run_id, e.seq, e.kind, e.node_id, e.visit, e.status, e.payload, e.at) for e in events],
    )


def insert_edges(run_id: Any, edges: Sequence[tuple[str, int, str]]) -> None:
    insert(EdgeState, ("run", "edge_id", "visit", "state"), [(run_id, *edge) for edge in edges])


RUN_COLUMNS = (
    "id",
    "status",
    "event_seq",
    "started_at",
    "workflow",
    "workspace",
    "version_number",
    "is_draft",
    "usage",
    "cost_usd",
)


def lock_run(run_id: Any) -> Run | None:
    """The run's small columns, its row locked until the transaction ends
    (``FOR UPDATE`` on Postgres; SQLite's IMMEDIATE transaction holds the
    database write lock already)."""
    columns = ", ".join(_column(Run, name) for name in RUN_COLUMNS)
    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    sql = f"SELECT {columns} FROM {_table(Run)} WHERE {_column(Run, 'id')} = %s{lock}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [_prep(Run, "id", run_id)])
        row = cursor.fetchone()
    if row is None:
        return None
    _id, status, seq, started, workflow, workspace, number, draft, usage, cost = row
    return Run(
        id=run_id,
        status=status,
        event_seq=seq,
        started_at=_datetime(started),
        workflow_id=_field(Run, "workflow").target_field.to_python(workflow),
        workspace_id=workspace,
        version_number=number,
        is_draft=bool(draft),
        usage=json.loads(usage) if isinstance(usage, str) else usage or {},
        cost_usd=cost or 0.0,
    )


def _datetime(value: Any) -> Any:
    if value is None or not isinstance(value, str):
        return value
    parsed = parse_datetime(value)
    return parsed.replace(tzinfo=UTC) if parsed and parsed.tzinfo is None else parsed


STEP_INSERT = (
    "run",
    "node_id",
    "visit",
    "node_type",
    "status",
    "port",
    "attempts",
    "input",
    "output",
    "error",
    "created_at",
    "queued_at",
    "started_at",
    "finished_at",
    "due_at",
    "dispatched_at",
    "worker",
    "lease_token",
    "lease_expires_at",
    "wait",
    "usage",
    "cost_usd",
    "reused_from",
)


def insert_steps(rows: Sequence[Step], now: Any) -> None:
    """One multi-row insert; sets each row's ``pk`` from ``RETURNING``."""
    db = _db()
    for row in rows:
        row.created_at = now
    values = [[getattr(row, _field(Step, name).attname) for name in STEP_INSERT] for row in rows]
    prepared = [
        [_prep(Step, name, v, db) for name, v in zip(STEP_INSERT, row, strict=True)]
        for row in values
    ]
    columns = ", ".join(_column(Step, name) for name in STEP_INSERT)
    one = "(" + ", ".join(["%s"] * len(STEP_INSERT)) + ")"
    returning = ", ".join(_column(Step, name) for name in ("id", "node_id", "visit"))
    sql = (
        f"INSERT INTO {_table(Step)} ({columns}) VALUES {', '.join([one] * len(rows))} "
        f"RETURNING {returning}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in prepared for value in row])
        ids = {(node_id, visit): pk for pk, node_id, visit in cursor.fetchall()}
    for row in rows:
        row.pk = ids[(row.node_id, row.visit)]
