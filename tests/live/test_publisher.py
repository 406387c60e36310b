"""The publisher against a real Redis: what its thread writes is what
``channels_redis``' pub/sub layer (the ASGI servers' side) reads, in order,
with the layer's own serializer (encryption included)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from channels.layers import channel_layers, get_channel_layer

from runtime import live
from tests.conftest import require_service

HOST, PORT = "127.0.0.1", 6379


@pytest.fixture
def redis_layer(settings: Any) -> Iterator[str]:
    """The default channel layer on a Redis database of its own, with encryption."""
    require_service("Redis", HOST, PORT)
    from bench.cluster import empty_redis_db, flush_redis

    url = f"redis://{HOST}:{PORT}/{empty_redis_db()}"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [url],
                "prefix": f"test{time.monotonic_ns()}",
                "symmetric_encryption_keys": ["a key for this test only"],
            },
        }
    }
    channel_layers.backends.clear()
    yield url
    channel_layers.backends.clear()
    flush_redis(url)


def subscribed(url: str, group: str, timeout: float = 5) -> None:
    """Wait until Redis has the group's subscription (SUBSCRIBE is not
    acknowledged in line); the Redis channel is named as channels_redis names it."""
    from django.conf import settings

    channel = f"{settings.CHANNEL_LAYERS['default']['CONFIG']['prefix']}__group__{group}"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + timeout
    try:
        while dict(client.pubsub_numsub(channel)).get(channel.encode(), 0) < 1:
            assert time.monotonic() < deadline, f"never subscribed to {channel}"
            time.sleep(0.01)
    finally:
        client.close()


def test_the_pubsub_layer_receives_what_the_sender_writes(redis_layer: str) -> None:
    layer = get_channel_layer()
    sender = live.RedisGroupSender.for_layer(layer)
    first = {"seq": 1, "run_id": "r", "kind": "step", "status": "running"}
    second = {**first, "seq": 2, "status": "succeeded"}

    async def exchange() -> list[dict]:
        channel = await layer.new_channel()
        await layer.group_add("run.r", channel)
        await asyncio.to_thread(subscribed, redis_layer, "run.r")
        batch = [
            ("run.r", live.events_message([first], 1.0)),
            ("run.elsewhere", live.events_message([first], 1.0)),
            ("run.r", live.events_message([second], 2.0)),
        ]
        await asyncio.to_thread(sender.send, live.coalesce(batch))
        received = [await asyncio.wait_for(layer.receive(channel), 5)]
        await layer.flush()
        return received

    (message,) = asyncio.run(exchange())
    assert message["type"] == live.EVENTS
    assert message["events"] == [first, second]
    assert message["queued_at"] == 1.0 and message["published_at"] >= message["queued_at"]


def test_the_publisher_thread_sends_and_flushes(redis_layer: str) -> None:
    """``Publisher.send`` returns at once; its thread delivers; ``flush`` waits for it."""
    layer = get_channel_layer()
    publisher = live.Publisher()
    notice = {"type": live.REVISION, "workflow_id": "w", "revision": 3, "by": None}

    async def exchange() -> dict:
        channel = await layer.new_channel()
        await layer.group_add("workflow.w", channel)
        await asyncio.to_thread(subscribed, redis_layer, "workflow.w")
        assert publisher.listening()
        publisher.send([("workflow.w", dict(notice))])
        assert await asyncio.to_thread(publisher.flush, 5)
        received = await asyncio.wait_for(layer.receive(channel), 5)
        await layer.flush()
        return received

    received = asyncio.run(exchange())
    assert {k: v for k, v in received.items() if k != "published_at"} == notice


def test_an_unreachable_redis_drops_the_batch_and_the_sender_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Publishing is at most once: the events are in the database, and a
    socket fills the gap from there; the publisher's thread must not die."""
    from bench.cluster import free_port

    nowhere = redis.ConnectionPool.from_url(
        f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1
    )
    sender = live.RedisGroupSender(lambda message: b"x", "test", [nowhere])
    sender.send([("run.r", live.events_message([], 1.0))])
    sender.send([("run.r", live.events_message([], 2.0))])
    assert [r.message for r in caplog.records] == [
        "live: publishing to Redis shard 0 failed",
        "live: publishing to Redis shard 0 failed",
    ]
