"""The live sockets of contract section 5, through the real ASGI application:
who may connect, replay then live with no gap and no duplicate, sockets closed
when the session ends or the role goes, presence and revision notices."""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from runtime import live
from tests.conftest import make_user, make_workflow, make_workspace, simple_graph
from tests.live.conftest import (
    async_test,
    closed_with,
    messages_until,
    run_finished,
    session_cookie,
    socket,
)

pytestmark = pytest.mark.usefixtures("live_db")


@database_sync_to_async
def world() -> dict[str, Any]:
    acme = make_workspace("acme")
    viewer = make_user("vera", workspace=acme, roles=["viewer"])
    runner = make_user("ron", workspace=acme, roles=["runner"])
    outsider = make_user("mallory", workspace=make_workspace("other"), roles=["admin"])
    workflow = make_workflow(acme, graph=simple_graph(), user=runner)
    return {"acme": acme, "viewer": viewer, "runner": runner, "outsider": outsider, "wf": workflow}


@database_sync_to_async
def start_run(user: Any, workflow: Any) -> str:
    """Start a draft run; with eager tasks it runs to the end before this returns."""
    from runtime import services

    return str(services.start_run(user, workflow, input={"name": "Ada"}, version="draft").pk)


@database_sync_to_async
def logged_events(run_id: str) -> list[dict]:
    from runtime.models import RunEvent

    return [e.as_message() for e in RunEvent.objects.filter(run_id=run_id).order_by("seq")]


@async_test
async def test_anonymous_socket_is_closed_with_4401() -> None:
    w = await world()
    run_id = await start_run(w["runner"], w["wf"])
    communicator = socket(f"/ws/runs/{run_id}/")
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    assert await closed_with(communicator) == 4401


@async_test
async def test_another_workspaces_user_is_closed_with_4404() -> None:
    w = await world()
    run_id = await start_run(w["runner"], w["wf"])
    for path in (f"/ws/runs/{run_id}/", f"/ws/workflows/{w['wf'].pk}/", "/ws/workspaces/acme/"):
        communicator = socket(
            path, cookie=await database_sync_to_async(session_cookie)(w["outsider"])
        )
        await communicator.connect(timeout=10)
        assert await closed_with(communicator) == 4404, path


@async_test
async def test_foreign_origin_is_refused_at_the_handshake() -> None:
    w = await world()
    cookie = await database_sync_to_async(session_cookie)(w["viewer"])
    communicator = socket(
        f"/ws/workflows/{w['wf'].pk}/", cookie=cookie, origin="https://evil.example"
    )
    connected, _ = await communicator.connect(timeout=10)
    assert not connected


@async_test
async def test_replay_since_then_live_without_gap_or_duplicate() -> None:
    w = await world()
    first_run = await start_run(w["runner"], w["wf"])
    logged = await logged_events(first_run)
    assert len(logged) >= 4
    cookie = await database_sync_to_async(session_cookie)(w["viewer"])

    # A client that saw the first two events reconnects: the rest come from the database.
    communicator = socket(f"/ws/runs/{first_run}/", cookie=cookie)
    assert (await communicator.connect(timeout=10))[0]
    await communicator.send_to(text_data=json.dumps({"since": 2}))
    replayed = await messages_until(communicator, run_finished)
    assert replayed == logged[2:]
    await communicator.disconnect()

    # A workflow socket then sees a new run's events live, in order, each once.
    communicator = socket(f"/ws/workflows/{w['wf'].pk}/", cookie=cookie)
    assert (await communicator.connect(timeout=10))[0]
    presence = json.loads(await communicator.receive_from(10))
    assert presence == {"kind": "presence", "workflow_id": str(w["wf"].pk), "editors": []}
    second_run = await start_run(w["runner"], w["wf"])
    received = await messages_until(communicator, run_finished)
    assert received == await logged_events(second_run)
    assert [m["seq"] for m in received] == list(range(1, len(received) + 1))
    assert await communicator.receive_nothing(0.3)
    await communicator.disconnect()


@async_test
async def test_a_lost_live_message_is_filled_from_the_database() -> None:
    w = await world()
    run_id = await start_run(w["runner"], w["wf"])
    logged = await logged_events(run_id)
    communicator = socket(
        f"/ws/runs/{run_id}/?since=1",
        cookie=await database_sync_to_async(session_cookie)(w["viewer"]),
    )
    assert (await communicator.connect(timeout=10))[0]
    assert await messages_until(communicator, run_finished) == logged[1:]

    # Pretend a worker published events 2..last again, out of order: all duplicates.
    layer = get_channel_layer()
    await layer.group_send(live.run_group(run_id), {"type": live.EVENTS, "events": logged[::-1]})
    assert await communicator.receive_nothing(0.3)
    await communicator.disconnect()

    # A fresh socket after seq 1 that only hears about the last event gets the whole gap first.
    communicator = socket(
        f"/ws/runs/{run_id}/", cookie=await database_sync_to_async(session_cookie)(w["viewer"])
    )
    assert (await communicator.connect(timeout=10))[0]
    await communicator.send_to(text_data=json.dumps({"since": 1}))
    assert await messages_until(communicator, run_finished) == logged[1:]
    await communicator.disconnect()


@async_test
async def test_a_socket_that_asks_for_batches_gets_arrays_without_gap_or_duplicate() -> None:
    w = await world()
    cookie = await database_sync_to_async(session_cookie)(w["viewer"])
    run_id = await start_run(w["runner"], w["wf"])
    logged = await logged_events(run_id)
    communicator = socket(f"/ws/runs/{run_id}/?since=1&batch=1", cookie=cookie)
    assert (await communicator.connect(timeout=10))[0]
    assert json.loads(await communicator.receive_from(10)) == logged[1:]  # the replay, as one
    layer = get_channel_layer()
    await layer.group_send(live.run_group(run_id), {"type": live.EVENTS, "events": logged})
    assert await communicator.receive_nothing(0.3)  # all duplicates: not even an empty array
    await communicator.disconnect()

    communicator = socket(f"/ws/workflows/{w['wf'].pk}/?batch=1", cookie=cookie)
    assert (await communicator.connect(timeout=10))[0]
    assert json.loads(await communicator.receive_from(10))["kind"] == "presence"  # not batched
    second_run = await start_run(w["runner"], w["wf"])
    arrays = await messages_until(communicator, lambda m: run_finished(m[-1]))
    assert all(isinstance(m, list) and m for m in arrays)
    assert [e for m in arrays for e in m] == await logged_events(second_run)
    await communicator.disconnect()


@async_test
async def test_token_in_the_subprotocol_authenticates() -> None:
    from accounts.models import ApiToken

    w = await world()
    run_id = await start_run(w["runner"], w["wf"])
    _, key = await database_sync_to_async(ApiToken.issue)(w["viewer"], "live")
    communicator = socket(f"/ws/runs/{run_id}/?since=0", subprotocols=["baton", f"bearer.{key}"])
    connected, subprotocol = await communicator.connect(timeout=10)
    assert connected and subprotocol == "baton"
    assert await messages_until(communicator, run_finished) == await logged_events(run_id)
    await communicator.disconnect()

    communicator = socket(f"/ws/runs/{run_id}/", subprotocols=["baton", "bearer.bt_wrong"])
    await communicator.connect(timeout=10)
    assert await closed_with(communicator) == 4401


@async_test
async def test_signing_out_closes_that_sessions_sockets_at_once(settings: Any) -> None:
    settings.BATON_LIVE_RECHECK_S = 30  # so only the sign-out message can close it in time
    w = await world()
    run_id = await start_run(w["runner"], w["wf"])
    cookie = await database_sync_to_async(session_cookie)(w["viewer"])
    other_cookie = await database_sync_to_async(session_cookie)(w["viewer"])
    mine, other = (
        socket(f"/ws/runs/{run_id}/", cookie=cookie),
        socket(f"/ws/runs/{run_id}/", cookie=other_cookie),
    )
    assert (await mine.connect(timeout=10))[0] and (await other.connect(timeout=10))[0]

    def sign_out() -> None:
        from django.test import Client

        client = Client()
        client.cookies.load(cookie)
        assert client.post("/accounts/logout/").status_code in (200, 302)

    await database_sync_to_async(sign_out)()
    assert await closed_with(mine, timeout=2) == 4401
    assert await other.receive_nothing(0.5), "another session of the same user stays open"
    await other.disconnect()


@async_test
async def test_losing_the_role_closes_the_socket_within_seconds() -> None:
    from accounts.models import Membership

    w = await world()
    communicator = socket(
        f"/ws/workflows/{w['wf'].pk}/",
        cookie=await database_sync_to_async(session_cookie)(w["viewer"]),
    )
    assert (await communicator.connect(timeout=10))[0]
    await communicator.receive_from(10)  # presence
    await database_sync_to_async(Membership.objects.filter(user=w["viewer"]).delete)()
    assert await closed_with(communicator, timeout=5) == 4404


@async_test
async def test_editor_presence_and_revision_notice() -> None:
    from builder import services as builder_services

    w = await world()
    editor = await database_sync_to_async(make_user)("eddie", workspace=w["acme"], roles=["editor"])
    path = f"/ws/workflows/{w['wf'].pk}/?editor=1"
    ron = socket(path, cookie=await database_sync_to_async(session_cookie)(w["runner"]))
    assert (await ron.connect(timeout=10))[0]
    assert json.loads(await ron.receive_from(10))["editors"] == [
        {"id": w["runner"].pk, "username": "ron"}
    ]

    eddie = socket(path, cookie=await database_sync_to_async(session_cookie)(editor))
    assert (await eddie.connect(timeout=10))[0]
    both = [{"id": editor.pk, "username": "eddie"}, {"id": w["runner"].pk, "username": "ron"}]
    seen = await messages_until(eddie, lambda m: m.get("editors") == both)
    assert seen[-1]["kind"] == "presence"
    assert (await messages_until(ron, lambda m: m.get("editors") == both))[-1]["editors"] == both

    def save() -> int:
        workflow = type(w["wf"]).objects.get(pk=w["wf"].pk)
        return builder_services.update_workflow(
            editor, workflow, revision=workflow.revision, graph=simple_graph()
        ).workflow.revision

    revision = await database_sync_to_async(save)()
    notice = (await messages_until(ron, lambda m: m["kind"] == "revision"))[-1]
    assert notice == {
        "kind": "revision",
        "workflow_id": str(w["wf"].pk),
        "revision": revision,
        "by": {"id": editor.pk, "username": "eddie"},
    }

    await eddie.disconnect()
    only_ron = [{"id": w["runner"].pk, "username": "ron"}]
    await messages_until(ron, lambda m: m.get("editors") == only_ron)
    await ron.disconnect()


@async_test
async def test_workspace_socket_carries_run_level_events() -> None:
    w = await world()
    communicator = socket(
        "/ws/workspaces/acme/", cookie=await database_sync_to_async(session_cookie)(w["viewer"])
    )
    assert (await communicator.connect(timeout=10))[0]
    run_id = await start_run(w["runner"], w["wf"])
    received = await messages_until(communicator, run_finished)
    assert received == [m for m in await logged_events(run_id) if m["kind"] == "run"]
    await communicator.disconnect()


@async_test
async def test_live_events_do_not_queue_behind_the_shared_sync_thread() -> None:
    """Channels runs every thread-sensitive sync call of a process on one
    thread; a socket's live events must not wait for it (issue 6)."""
    import asyncio
    import time

    from asgiref.sync import sync_to_async

    w = await world()
    run_id = await start_run(w["runner"], w["wf"])
    logged = await logged_events(run_id)
    communicator = socket(
        f"/ws/runs/{run_id}/?since={len(logged) - 1}",
        cookie=await database_sync_to_async(session_cookie)(w["viewer"]),
    )
    assert (await communicator.connect(timeout=10))[0]
    assert await messages_until(communicator, run_finished) == logged[-1:]

    busy = asyncio.create_task(sync_to_async(time.sleep, thread_sensitive=True)(2))
    await asyncio.sleep(0.1)
    following = {**logged[-1], "seq": len(logged) + 1}
    await get_channel_layer().group_send(
        live.run_group(run_id), {"type": live.EVENTS, "events": [following]}
    )
    assert json.loads(await communicator.receive_from(0.5)) == following
    assert not busy.done()
    await busy
    await communicator.disconnect()


@async_test
async def test_a_slow_recheck_does_not_hold_back_live_events(monkeypatch: Any) -> None:
    """The periodic re-check reads the database beside the message loop."""
    import asyncio
    import time

    from runtime import consumers

    w = await world()
    run_id = await start_run(w["runner"], w["wf"])
    logged = await logged_events(run_id)
    communicator = socket(
        f"/ws/runs/{run_id}/?since={len(logged)}",
        cookie=await database_sync_to_async(session_cookie)(w["viewer"]),
    )
    assert (await communicator.connect(timeout=10))[0]

    checked = consumers.access_code

    def slow_access_code(caller: Any, target: Any) -> int | None:
        time.sleep(1.5)  # a database under load
        return checked(caller, target)

    monkeypatch.setattr(consumers, "access_code", slow_access_code)
    await asyncio.sleep(0.5)  # the 0.2 s re-check has started and is stuck
    following = {**logged[-1], "seq": len(logged) + 1}
    await get_channel_layer().group_send(
        live.run_group(run_id), {"type": live.EVENTS, "events": [following]}
    )
    assert json.loads(await communicator.receive_from(0.5)) == following
    await communicator.disconnect()


@async_test
async def test_trace_stamps_each_hop_of_a_live_event() -> None:
    """``?trace=1`` (``bench.live``): queued, published, received and sent
    times on live events, in that order; replayed events carry none."""
    w = await world()
    cookie = await database_sync_to_async(session_cookie)(w["viewer"])
    communicator = socket(f"/ws/workflows/{w['wf'].pk}/?trace=1", cookie=cookie)
    assert (await communicator.connect(timeout=10))[0]
    await communicator.receive_from(10)  # presence
    run_id = await start_run(w["runner"], w["wf"])
    received = await messages_until(communicator, run_finished)
    assert [{k: v for k, v in m.items() if k != "trace"} for m in received] == (
        await logged_events(run_id)
    )
    for message in received:
        trace = message["trace"]
        assert trace["queued"] <= trace["published"] <= trace["received"] <= trace["sent"]
    await communicator.disconnect()

    communicator = socket(f"/ws/runs/{run_id}/?since=0&trace=1", cookie=cookie)
    assert (await communicator.connect(timeout=10))[0]
    assert await messages_until(communicator, run_finished) == await logged_events(run_id)
    await communicator.disconnect()


@async_test
async def test_a_failing_recheck_closes_the_socket(monkeypatch: Any) -> None:
    """Fail closed: a socket whose access can no longer be checked is closed."""
    from runtime import consumers

    w = await world()
    communicator = socket(
        "/ws/workspaces/acme/", cookie=await database_sync_to_async(session_cookie)(w["viewer"])
    )
    assert (await communicator.connect(timeout=10))[0]

    def unreachable(caller: Any, target: Any) -> int | None:
        raise ConnectionError("the database is unreachable")

    monkeypatch.setattr(consumers, "access_code", unreachable)
    assert await closed_with(communicator, timeout=3) == consumers.INTERNAL_ERROR
