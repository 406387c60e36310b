"""Fixtures of the integrations tests: the fake provider servers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integrations.fake_providers import (
    FakeAnthropic,
    FakeOpenAI,
    assert_no_canary_logged,
    serving,
)


@pytest.fixture
def openai_server(settings: Any) -> Iterator[FakeOpenAI]:
    yield from serving(FakeOpenAI(), settings)


@pytest.fixture
def anthropic_server(settings: Any) -> Iterator[FakeAnthropic]:
    yield from serving(FakeAnthropic(), settings)


@pytest.fixture(autouse=True)
def _no_canary_in_logs(caplog: Any) -> Iterator[None]:
    yield from assert_no_canary_logged(caplog)
