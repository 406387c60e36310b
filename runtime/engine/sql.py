"""Plain SQL for the hot path of a step (claim, end, decide), where the ORM's
statement building cost as much as the database round trip. Values go
through each field's ``get_db_prep_save``, so every backend gets its own
representation (UUIDs, JSON, datetimes) exactly as the ORM would send it.
Everything else in the runtime uses the ORM."""

# ruff: noqa: S608  (identifiers come from model metadata; every value is a parameter)
from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.utils.dateparse import parse_datetime

from runtime import scheduler
from runtime.models import EdgeState, Run, RunEvent, Step, new


@functools.cache
def _field(model: type[models.Model], name: str) -> models.Field:
    return model._meta.get_field(name)


def _prep(model: type[models.Model], name: str, value: Any, db: Any = None) -> Any:
    db = db or _db()
    if value is not None and db.vendor == "postgresql":
        # what get_db_prep_save would return unchanged, without its calls
        kind = _kind(model, name)
        if kind == "uuid" and type(value) is uuid.UUID:
            return value
        if kind == "datetime" and isinstance(value, datetime) and value.tzinfo is not None:
            return value
        if kind == "str" and isinstance(value, str):
            return value
        if kind == "int" and type(value) is int:
            return value
    return _field(model, name).get_db_prep_save(value, db)


_KINDS = {
    "UUIDField": "uuid",
    "DateTimeField": "datetime",
    "CharField": "str",
    "TextField": "str",
    "IntegerField": "int",
    "PositiveIntegerField": "int",
    "BigIntegerField": "int",
    "BigAutoField": "int",
    "AutoField": "int",
}


@functools.cache
def _kind(model: type[models.Model], name: str) -> str:
    """How a field's values reach Postgres: ``json`` ones need adapting;
    the others pass as they are when of their plain Python type."""
    field = _field(model, name)
    target = field.target_field if field.is_relation else field
    return _KINDS.get(target.get_internal_type(), "other")


def _db() -> Any:
    """The thread's connection object (``django.db.connection`` is a proxy
    whose every attribute access costs a thread-local lookup)."""
    return connections[DEFAULT_DB_ALIAS]


def prepared_statements() -> bool:
    """Whether the hot path's statements are prepared on the server
    (Postgres; ``BATON_DB_PREPARE``, on by default: turn it off behind a
    connection pooler that cannot keep prepared statements, such as
    PgBouncer before 1.21 in transaction mode)."""
    return _db().vendor == "postgresql" and getattr(settings, "BATON_DB_PREPARE", True)


@contextmanager
def _cursor() -> Iterator[Any]:
    """A cursor for one hot-path statement. On Postgres it binds values on
    the server and prepares the statement, so each of the few shapes these
    statements take is parsed and planned once per connection: for the
    largest, parsing and planning cost ten times its execution (0.6 ms
    against 0.05 ms). Django's own cursors bind on the client and never
    prepare. Django's checks (connection, thread, broken transaction) and
    error translation still apply."""
    db = _db()
    if not prepared_statements():
        with db.cursor() as wrapper:
            yield wrapper
        return
    # What ``db.cursor()`` checks, without building the two cursors it
    # returns: one raw cursor per connection serves every hot-path statement.
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    db.validate_no_broken_transaction()
    prepared = getattr(db, "_baton_prepared", None)
    if prepared is None or prepared.connection is not db.connection or prepared.closed:
        import psycopg

        prepared = _Prepared(psycopg.RawCursor(db.connection))
        db._baton_prepared = prepared
    with db.wrap_database_errors:
        yield prepared


@functools.lru_cache(maxsize=1024)
def _numbered(sql: str) -> str:
    """``%s`` placeholders as ``$1, $2 ...``, once per statement text (a
    raw cursor takes the text as it is; psycopg's own conversion is not
    cached for statements this long)."""
    parts = sql.split("%s")
    return "".join(
        part + (f"${index}" if index < len(parts) else "")
        for index, part in enumerate(parts, start=1)
    )


class _Prepared:
    """``execute`` as a prepared statement; everything else is the cursor's."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(_numbered(sql), params, prepare=True)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


# A process talks to one database (the ``default`` alias), so quoted names
# are computed once.


@functools.cache
def _column(model: type[models.Model], name: str) -> str:
    return connection.ops.quote_name(_field(model, name).column)


@functools.cache
def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _update_sql(
    model: type[models.Model],
    values: Mapping[str, Any],
    where: Mapping[str, Any],
    extra_where: str = "",
    extra_params: Sequence[Any] = (),
    increment: str | None = None,
) -> tuple[str, list[Any]]:
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
    return f"UPDATE {_table(model)} SET {sets} WHERE {' AND '.join(conditions)}", params


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
    sql, params = _update_sql(model, values, where, extra_where, extra_params, increment)
    with _cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _insert_sql(
    model: type[models.Model],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    returning: str = "",
) -> tuple[str, list[Any]]:
    columns, params = _columns_and_params(model, names, rows)
    one = "(" + ", ".join(["%s"] * len(names)) + ")"
    sql = f"INSERT INTO {_table(model)} ({columns}) VALUES {', '.join([one] * len(rows))}"
    return (f"{sql} RETURNING {returning}" if returning else sql), params


def _columns_and_params(
    model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> tuple[str, list[Any]]:
    """The quoted column list of an insert, and its rows' values prepared."""
    db = _db()
    params = [
        _prep(model, name, value, db)
        for row in rows
        for name, value in zip(names, row, strict=True)
    ]
    return ", ".join(_column(model, name) for name in names), params


def insert(model: type[models.Model], names: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """One multi-row ``INSERT`` (no ids returned)."""
    rows = list(rows)
    if not rows:
        return
    sql, params = _insert_sql(model, names, rows)
    with _cursor() as cursor:
        cursor.execute(sql, params)


def column(model: type[models.Model], name: str) -> str:
    return _column(model, name)


def finished_run(run_id: Any) -> dict[str, Any] | None:
    """``{status, output, error}`` of the run if it has finished, else None
    (a sync webhook's answer, read as often as its caller waits)."""
    from runtime.models import RUN_FINISHED

    text = (
        f"SELECT {_column(Run, 'status')}, {_column(Run, 'output')}, {_column(Run, 'error')} "
        f"FROM {_table(Run)} WHERE {_column(Run, 'id')} = %s"
    )
    with _cursor() as cursor:
        cursor.execute(text, [_prep(Run, "id", run_id)])
        row = cursor.fetchone()
    if row is None or row[0] not in RUN_FINISHED:
        return None
    return {"status": row[0], "output": _json(row[1]), "error": _json(row[2])}


def prep(model: type[models.Model], name: str, value: Any) -> Any:
    return _prep(model, name, value)


CLAIMED = ("node_id", "visit", "attempts", "input", "wait")


def update_returning_claimed(
    values: Mapping[str, Any],
    where: Mapping[str, Any],
    *,
    extra_where: str = "",
    extra_params: Sequence[Any] = (),
    increment: str | None = None,
) -> Step | None:
    """:func:`update` of one step, returning the fields running it needs
    (``UPDATE ... RETURNING``: Postgres, and SQLite 3.35+), or None when no
    row matched."""
    sql, params = _update_sql(Step, values, where, extra_where, extra_params, increment)
    returning = ", ".join(_column(Step, name) for name in ("id", *CLAIMED))
    with _cursor() as cursor:
        cursor.execute(f"{sql} RETURNING {returning}", params)
        row = cursor.fetchone()
    if row is None:
        return None
    return _claimed_step(*row)


def _claimed_step(
    pk: int, node_id: str, visit: int, attempts: int, raw_input: Any, raw_wait: Any
) -> Step:
    """A step with the fields running it needs (:data:`CLAIMED`), as read."""
    return new(
        Step,
        pk=pk,
        node_id=node_id,
        visit=visit,
        attempts=attempts,
        input=_json(raw_input),
        wait=_json(raw_wait),
    )


def queued_steps(run_id: Any, now: datetime, limit: int) -> list[Step]:
    """The run's queued steps that are due, with the fields running them
    needs (:data:`CLAIMED`), oldest first, at most ``limit``."""
    due = _column(Step, "due_at")
    text = (
        f"SELECT {', '.join(_column(Step, name) for name in ('id', *CLAIMED))} "
        f"FROM {_table(Step)} WHERE {_column(Step, 'run')} = %s "
        f"AND {_column(Step, 'status')} = %s AND ({due} IS NULL OR {due} <= %s) "
        f"ORDER BY {_column(Step, 'id')} LIMIT %s"
    )
    params = [_prep(Run, "id", run_id), "queued", _prep(Step, "due_at", now), limit]
    with _cursor() as cursor:
        cursor.execute(text, params)
        return [_claimed_step(*row) for row in cursor.fetchall()]


def end_queued_steps(
    ended: Sequence[tuple[int, int, str, Any]], now: datetime, worker: str
) -> set[int]:
    """Under the run lock: queued steps, each ``(id, attempts read, port,
    output)``, claimed and succeeded at once (one attempt more, started and
    finished ``now`` by ``worker``) in one statement; the ids of those that
    were still queued with those attempts."""
    text, params = _end_queued_sql(ended, now, worker)
    with _cursor() as cursor:
        cursor.execute(f"{text} RETURNING {_column(Step, 'id')}", params)
        return {row[0] for row in cursor.fetchall()}


def _end_queued_sql(
    ended: Sequence[tuple[int, int, str, Any]], now: datetime, worker: str, gate: str = ""
) -> tuple[str, list[Any]]:
    """:func:`end_queued_steps`' statement (``AND gate`` added to its
    condition), without ``RETURNING``."""
    db = _db()
    step_id, attempts = _column(Step, "id"), _column(Step, "attempts")
    fixed = {
        "status": "succeeded",
        "started_at": now,
        "finished_at": now,
        "worker": worker,
        "usage": {},
        "lease_token": None,
        "lease_expires_at": None,
    }
    sets = [f"{_column(Step, name)} = %s" for name in fixed]
    params = [_prep(Step, name, value, db) for name, value in fixed.items()]
    sets.append(f"{attempts} = {attempts} + 1")
    for name, index in (("port", 2), ("output", 3)):
        cast = _db_type(Step, name)
        cases = " ".join([f"WHEN %s THEN CAST(%s AS {cast})"] * len(ended))
        sets.append(f"{_column(Step, name)} = CASE {step_id} {cases} END")
        params += [v for row in ended for v in (row[0], _prep(Step, name, row[index], db))]
    matches = " OR ".join([f"({step_id} = %s AND {attempts} = %s)"] * len(ended))
    where = f"{_column(Step, 'status')} = %s AND ({matches})" + (f" AND {gate}" if gate else "")
    params += ["queued"] + [value for row in ended for value in (row[0], row[1])]
    return f"UPDATE {_table(Step)} SET {', '.join(sets)} WHERE {where}", params


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
    with _cursor() as cursor:
        cursor.execute(sql, [key, key])
        for kind, name, visit, status, port in cursor.fetchall():
            if kind == "s":
                state.steps[(name, visit)] = scheduler.StepView(name, visit, status, port)
            else:
                state.edges[(name, visit)] = status
    return state


EVENT_FIELDS = ("run", "seq", "kind", "node_id", "visit", "status", "payload", "at")
EDGE_FIELDS = ("run", "edge_id", "visit", "state")


def _event_rows(events: Sequence[RunEvent]) -> list[tuple]:
    return [
        (e.run_id, e.seq, e.kind, e.node_id, e.visit, e.status, e.payload, e.at) for e in events
    ]


def insert_events(events: Sequence[RunEvent]) -> None:
    insert(RunEvent, EVENT_FIELDS, _event_rows(events))


def insert_edges(run_id: Any, edges: Sequence[tuple[str, int, str]]) -> None:
    insert(EdgeState, EDGE_FIELDS, [(run_id, *edge) for edge in edges])


def write_fused(
    run_id: Any,
    edges: Sequence[tuple[str, int, str]],
    steps: Sequence[Step],
    events: Sequence[RunEvent],
    run_values: Mapping[str, Any],
    new_run: Run | None = None,
) -> None:
    """Postgres: the edge states, new steps, events and the run's update of
    one transition as a single statement (data-modifying CTEs), one round
    trip instead of four. With ``new_run`` (a run's first transition) the
    run's row is inserted, with every field as ``new_run`` has it, instead
    of updated: a run starts in one statement. (Foreign keys are checked at
    the end of the statement, so its steps and events may refer to it.)"""
    parts: list[tuple[str, list[Any]]] = []
    if new_run is not None:
        values = [getattr(new_run, attname) for attname in _RUN_FIELDS.values()]
        parts.append(_insert_sql(Run, list(_RUN_FIELDS), [values]))
    if edges:
        parts.append(_insert_sql(EdgeState, EDGE_FIELDS, [(run_id, *e) for e in edges]))
    if events:
        parts.append(_insert_sql(RunEvent, EVENT_FIELDS, _event_rows(events)))
    if new_run is None:
        parts.append(_update_sql(Run, run_values, {"id": run_id}))
    if steps:
        main, main_params = _step_insert_sql(steps)
    else:
        main, main_params = "SELECT 1 WHERE FALSE", []
    names = [f"w{index}" for index in range(len(parts))]
    sql = "WITH " + ", ".join(
        f"{n} AS ({text})" for n, (text, _p) in zip(names, parts, strict=True)
    )
    params = [value for _text, part_params in parts for value in part_params]
    with _cursor() as cursor:
        cursor.execute(f"{sql} {main}", params + main_params)
        if steps:
            _set_ids(steps, cursor.fetchall())


#: every column of a run's row: field name -> attribute (``write_fused``'s insert)
_RUN_FIELDS = {f.name: f.attname for f in Run._meta.concrete_fields}

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
    "trigger_kind",
    "parent_step",
)


def lock_run(run_id: Any, *, with_graph: bool = False) -> Run | None:
    """The run's small columns (and its graph and input, ``with_graph``), its
    row locked until the transaction ends (``FOR UPDATE`` on Postgres;
    SQLite's IMMEDIATE transaction holds the database write lock already)."""
    return _lock(f"{_column(Run, 'id')} = %s", _prep(Run, "id", run_id), with_graph)


def lock_run_of_step(step_id: int) -> Run | None:
    """:func:`lock_run` for the run of a step, in one statement (None when
    the step does not exist)."""
    of_step = (
        f"{_column(Run, 'id')} = (SELECT {_column(Step, 'run')} FROM {_table(Step)} "
        f"WHERE {_column(Step, 'id')} = %s)"
    )
    return _lock(of_step, step_id)


#: a step that is no longer queued: its message is stale (whoever queues a
#: step again sends a message of its own)
GONE = "gone"


def peek_queued(
    step_id: int, run_id: Any, *, with_graph: bool, known_versions: Sequence[int] = ()
) -> tuple[Run, Step, Any, scheduler.State] | str | None:
    """Postgres, without a lock, in one statement (one snapshot): the run
    (:func:`lock_run`'s columns), its step ``step_id`` if that is still
    queued, with the step's ``due_at``, and the run's state (as
    :func:`load_state`); :data:`GONE` when the step is no longer queued,
    None when there is no such step of the run. For a transition written
    fenced on what this read. ``with_graph``: with the run's version, input
    and graph, the graph left out (None) for a version of ``known_versions``."""
    columns = ", ".join(f"r.{_column(Run, name)}" for name in RUN_COLUMNS)
    params: list[Any] = []
    if with_graph:
        version = f"r.{_column(Run, 'version')}"
        columns += (
            f", {version}, CASE WHEN {version} = ANY(%s::bigint[]) THEN NULL "
            f"ELSE r.{_column(Run, 'graph')} END, r.{_column(Run, 'input')}"
        )
        params.append(list(known_versions))
    step_columns = ", ".join(f"s.{_column(Step, name)}" for name in ("id", *CLAIMED, "due_at"))
    steps = (
        f"(SELECT coalesce(json_agg(json_build_array({_column(Step, 'node_id')}, "
        f"{_column(Step, 'visit')}, {_column(Step, 'status')}, {_column(Step, 'port')})), "
        f"'[]')::text FROM {_table(Step)} WHERE {_column(Step, 'run')} = r.{_column(Run, 'id')})"
    )
    edges = (
        f"(SELECT coalesce(json_agg(json_build_array({_column(EdgeState, 'edge_id')}, "
        f"{_column(EdgeState, 'visit')}, {_column(EdgeState, 'state')})), '[]')::text "
        f"FROM {_table(EdgeState)} WHERE {_column(EdgeState, 'run')} = r.{_column(Run, 'id')})"
    )
    queued = f"s.{_column(Step, 'status')} = %s"
    sql = (
        f"SELECT {columns}, {step_columns}, {queued}, CASE WHEN {queued} THEN {steps} END, "
        f"CASE WHEN {queued} THEN {edges} END "
        f"FROM {_table(Run)} r JOIN {_table(Step)} s "
        f"ON s.{_column(Step, 'run')} = r.{_column(Run, 'id')} "
        f"WHERE s.{_column(Step, 'id')} = %s AND r.{_column(Run, 'id')} = %s"
    )
    with _cursor() as cursor:
        cursor.execute(
            sql, [*params, "queued", "queued", "queued", step_id, _prep(Run, "id", run_id)]
        )
        row = cursor.fetchone()
    if row is None:
        return None
    width = len(RUN_COLUMNS) + (3 if with_graph else 0)
    run = _run_of(row[:width], with_graph)
    *claimed, due_at, is_queued, steps, edges = row[width:]
    if not is_queued:
        return GONE
    step = _claimed_step(*claimed)
    state = scheduler.State()
    for name, number, status, port in json.loads(steps):
        state.steps[(name, number)] = scheduler.StepView(name, number, status, port)
    for name, number, value in json.loads(edges):
        state.edges[(name, number)] = value
    return run, step, due_at, state


def step_queued(step_id: int, run_id: Any) -> bool | None:
    """Whether the run's step is queued; None when there is no such step."""
    text = (
        f"SELECT {_column(Step, 'status')} = %s FROM {_table(Step)} "
        f"WHERE {_column(Step, 'id')} = %s AND {_column(Step, 'run')} = %s"
    )
    with _cursor() as cursor:
        cursor.execute(text, ["queued", step_id, _prep(Run, "id", run_id)])
        row = cursor.fetchone()
    return None if row is None else bool(row[0])


def _lock(where: str, param: Any, with_graph: bool = False) -> Run | None:
    names = RUN_COLUMNS + (("version", "graph", "input") if with_graph else ())
    columns = ", ".join(_column(Run, name) for name in names)
    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    sql = f"SELECT {columns} FROM {_table(Run)} WHERE {where}{lock}"
    with _cursor() as cursor:
        cursor.execute(sql, [param])
        row = cursor.fetchone()
    if row is None:
        return None
    return _run_of(row, with_graph)


def _run_of(row: Sequence[Any], with_graph: bool) -> Run:
    run_id, status, seq, started, workflow, workspace, number, draft, usage, cost, kind, parent = (
        row[: len(RUN_COLUMNS)]
    )
    run = new(
        Run,
        id=Run._meta.pk.to_python(run_id),
        status=status,
        event_seq=seq,
        started_at=_datetime(started),
        workflow_id=_field(Run, "workflow").target_field.to_python(workflow),
        workspace_id=workspace,
        version_number=number,
        is_draft=bool(draft),
        usage=json.loads(usage) if isinstance(usage, str) else usage or {},
        cost_usd=cost or 0.0,
        trigger_kind=kind,
        parent_step_id=parent,
    )
    if with_graph:
        run.version_id, graph, run_input = row[len(RUN_COLUMNS) :]
        run.graph, run.input = _run_json("graph", graph), _run_json("input", run_input)
    return run


def _run_json(name: str, value: Any) -> Any:
    return None if value is None else _field(Run, name).from_db_value(value, None, connection)


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


def _step_insert_sql(rows: Sequence[Step]) -> tuple[str, list[Any]]:
    values = [[getattr(row, _field(Step, name).attname) for name in STEP_INSERT] for row in rows]
    returning = ", ".join(_column(Step, name) for name in ("id", "node_id", "visit"))
    return _insert_sql(Step, STEP_INSERT, values, returning)


def _set_ids(rows: Sequence[Step], returned: Iterable[Sequence[Any]]) -> None:
    ids = {(node_id, visit): pk for pk, node_id, visit in returned}
    for row in rows:
        row.pk = ids[(row.node_id, row.visit)]


def insert_steps(rows: Sequence[Step]) -> None:
    """One multi-row insert; sets each row's ``pk`` from ``RETURNING``."""
    if not rows:
        return
    sql, params = _step_insert_sql(rows)
    with _cursor() as cursor:
        cursor.execute(sql, params)
        _set_ids(rows, cursor.fetchall())


# -- the fenced write: one statement, no run lock held across round trips ----------


@dataclass(frozen=True)
class Fence:
    """What a transition decided without the run lock assumed: the run row
    still at ``seq`` and ``status``, and step ``step_id`` still as ``step``
    says (``running`` under its lease token, or ``queued``). ``values`` are
    the step's new columns."""

    seq: int
    status: str
    step_id: int
    step: Mapping[str, Any]
    values: Mapping[str, Any]
    #: other queued steps of the run that succeeded with it, as
    #: :func:`end_queued_steps` takes them
    siblings: Sequence[tuple[int, int, str, Any]] = ()


@functools.cache
def _db_type(model: type[models.Model], name: str) -> str:
    return _field(model, name).db_type(connection)


def _insert_gated_sql(
    model: type[models.Model],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    gate: str,
    returning: str = "",
) -> tuple[str, list[Any]]:
    """``INSERT ... SELECT`` of ``rows`` once per row of the CTE ``gate``
    (none when it returned none). The values are cast to their columns'
    types: unlike ``INSERT ... VALUES``, a ``SELECT`` does not take them
    from the target."""
    columns, params = _columns_and_params(model, names, rows)
    one = "(" + ", ".join(f"%s::{_db_type(model, name)}" for name in names) + ")"
    sql = (
        f"INSERT INTO {_table(model)} ({columns}) SELECT v.* FROM "
        f"(VALUES {', '.join([one] * len(rows))}) AS v CROSS JOIN {gate}"
    )
    return (f"{sql} RETURNING {returning}" if returning else sql), params


def write_fenced(
    run_id: Any,
    fence: Fence,
    edges: Sequence[tuple[str, int, str]],
    steps: Sequence[Step],
    events: Sequence[RunEvent],
    run_values: Mapping[str, Any],
    probes: Mapping[str, tuple[str, list[Any]]] | None = None,
    *,
    flush: bool = True,
) -> dict[str, Any] | None:
    """Postgres, outside a transaction: a step's end and what follows it,
    decided from a kept state, as one statement that is its own transaction.
    The run row is updated only while its ``event_seq`` and status are still
    the fence's (the row lock it takes orders this write with every locked
    transition), and everything else only when that update happened. Every
    change to a step's status or lease token is made under the run lock and
    adds an event, so an unchanged ``event_seq`` means the step is still
    ours. None, with nothing written, when the run moved on meanwhile;
    else the answers to ``probes`` (name -> boolean SQL and its parameters),
    asked in the same statement. The fence's ``siblings`` end with the step.
    Without ``flush``, the statement turns ``synchronous_commit``
    off for its own transaction: its commit does not wait for the WAL flush."""
    step_table = _table(Step)
    ours = " AND ".join(f"{_column(Step, name)} = %s" for name in ("id", *fence.step))
    db = _db()
    ours_params = [fence.step_id] + [
        _prep(Step, name, value, db) for name, value in fence.step.items()
    ]
    run_where = f"EXISTS (SELECT 1 FROM {step_table} WHERE {ours})"
    if not flush:
        # evaluated once, before the row is updated (not as ``EXISTS (SELECT
        # set_config(...))``: EXISTS drops its select list unevaluated);
        # ``true``: for this transaction only
        run_where += (
            " AND EXISTS (SELECT 1 FROM (SELECT set_config('synchronous_commit', 'off', true))"
            " AS relaxed)"
        )
    run_sql, run_params = _update_sql(
        Run,
        run_values,
        {"id": run_id, "event_seq": fence.seq, "status": fence.status},
        extra_where=run_where,
        extra_params=ours_params,
    )
    gate = "EXISTS (SELECT 1 FROM r)"
    step_sql, step_params = _update_sql(
        Step,
        {"lease_token": None, "lease_expires_at": None, **fence.values},
        {},
        extra_where=f"{ours} AND {gate}",
        extra_params=ours_params,
    )
    parts = [(f"r AS ({run_sql} RETURNING 1)", run_params)]
    parts.append((f"s AS ({step_sql} RETURNING 1)", step_params))
    if fence.siblings:
        now, worker = fence.values["finished_at"], fence.values["worker"]
        text, params = _end_queued_sql(fence.siblings, now, worker, gate)
        parts.append((f"sib AS ({text})", params))
    if edges:
        text, params = _insert_gated_sql(EdgeState, EDGE_FIELDS, [(run_id, *e) for e in edges], "s")
        parts.append((f"e AS ({text})", params))
    if events:
        text, params = _insert_gated_sql(RunEvent, EVENT_FIELDS, _event_rows(events), "s")
        parts.append((f"ev AS ({text})", params))
    if steps:
        values = [
            [getattr(row, _field(Step, name).attname) for name in STEP_INSERT] for row in steps
        ]
        returning = ", ".join(_column(Step, name) for name in ("id", "node_id", "visit"))
        text, params = _insert_gated_sql(Step, STEP_INSERT, values, "s", returning)
        parts.append((f"n AS ({text})", params))
    names = sorted(probes or {})
    asked = "".join(f", {probes[name][0]}" for name in names)  # type: ignore[index]
    asked_params = [value for name in names for value in probes[name][1]]  # type: ignore[index]
    main = f"SELECT 0, NULL, NULL{asked} FROM s"
    if steps:
        main += " UNION ALL SELECT *" + ", NULL" * len(names) + " FROM n"
    sql = "WITH " + ", ".join(text for text, _params in parts) + " " + main
    params = [value for _text, part_params in parts for value in part_params] + asked_params
    with _cursor() as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchall()
    if not returned:
        return None
    if steps:
        _set_ids(steps, [row[:3] for row in returned if row[1] is not None])
    answers = next(row for row in returned if row[1] is None)[3:]
    return dict(zip(names, answers, strict=True))
