"""Node types used only by the engine tests (registered once, on import)."""

from __future__ import annotations

import time
from typing import Any

from builder.nodes.base import (
    NodeConfig,
    NodeContext,
    NodeError,
    NodeType,
    Result,
    Usage,
    Wait,
)
from builder.nodes.registry import registry


class FlakyConfig(NodeConfig):
    fail_attempts: int = 1
    retryable: bool = True


class SleepConfig(NodeConfig):
    seconds: float = 1.0


class Flaky(NodeType):
    """Fails its first ``fail_attempts`` attempts, then returns its attempt number."""

    key = "test.flaky"
    Config = FlakyConfig

    def run(self, ctx: NodeContext, config: FlakyConfig, input: Any) -> Result:
        if ctx.attempt <= config.fail_attempts:
            raise NodeError(
                f"attempt {ctx.attempt} failed", type="Flaky", retryable=config.retryable
            )
        return Result({"attempt": ctx.attempt, "key": ctx.idempotency_key})


class Sleep(NodeType):
    key = "test.sleep"
    Config = SleepConfig

    def run(self, ctx: NodeContext, config: SleepConfig, input: Any) -> Result:
        time.sleep(config.seconds)
        return Result({"slept": config.seconds})


for node_type in (Flaky, Sleep):
    if registry.get(node_type.key) is None:
        registry.register(node_type)


class AskConfig(NodeConfig):
    question: str = "?"


class Ask(NodeType):
    """Waits for a person; resumes with the answer given in the wait state."""

    key = "test.ask"
    Config = AskConfig

    def run(self, ctx: NodeContext, config: AskConfig, input: Any) -> Wait:
        return Wait(reason="approval", state={"question": config.question})

    def resume(self, ctx: NodeContext, config: AskConfig, input: Any, state: Any) -> Result:
        return Result({"question": state["question"], "answer": state["answer"]})


if registry.get(Ask.key) is None:
    registry.register(Ask)


class Metered(NodeType):
    """Reports token usage and cost like an AI node."""

    key = "test.metered"

    def run(self, ctx: NodeContext, config: Any, input: Any) -> Result:
        return Result({"text": "hi"}, usage=Usage(input_tokens=10, output_tokens=5), cost_usd=0.25)


if registry.get(Metered.key) is None:
    registry.register(Metered)
