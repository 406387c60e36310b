"""`manage.py serve`: the links it hands out name the server it runs."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, settings: Any) -> dict[str, Any]:
    """Run the command up to the server, which answers at once with what a
    request would see: the webhook URL of a hook ``abc``."""
    import uvicorn

    from triggers.models import Hook
    from triggers.selectors import hook_url

    seen: dict[str, Any] = {}

    def run(*args: Any, **kwargs: Any) -> None:
        seen["url"] = hook_url(Hook(pk="abc"))

    monkeypatch.setattr(uvicorn, "run", run)
    settings.DEBUG = True  # no collectstatic
    settings.BASE_URL = settings.BASE_URL  # restored after the test, whatever serve sets
    return seen


def test_serve_names_its_own_port_in_webhook_urls(served, monkeypatch) -> None:
    monkeypatch.delenv("BATON_BASE_URL", raising=False)
    call_command("serve", "--port", "8127", "--no-worker")
    assert served["url"] == "http://127.0.0.1:8127/hooks/abc/"


def test_a_configured_base_url_wins(served, monkeypatch, settings) -> None:
    monkeypatch.setenv("BATON_BASE_URL", "https://baton.example.com")
    settings.BASE_URL = "https://baton.example.com"
    call_command("serve", "--port", "8127", "--no-worker")
    assert served["url"] == "https://baton.example.com/hooks/abc/"
