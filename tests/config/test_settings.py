"""Settings read the environment through one helper that fails loudly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from config.env import Env

ROOT = Path(__file__).resolve().parents[2]


def test_env_parses_and_refuses_bad_values():
    env = Env({"BATON_DEBUG": "yes", "BATON_PORT": "80", "BATON_HOSTS": "a, b,,c"})
    assert env.bool("DEBUG") is True
    assert env.int("PORT", 1) == 80
    assert env.list("HOSTS") == ["a", "b", "c"]
    with pytest.raises(ImproperlyConfigured, match="BATON_DEBUG"):
        Env({"BATON_DEBUG": "maybe"}).bool("DEBUG")
    with pytest.raises(ImproperlyConfigured, match="BATON_PORT"):
        Env({"BATON_PORT": "eighty"}).int("PORT", 1)
    with pytest.raises(ImproperlyConfigured, match="BATON_REDIS_URL"):
        Env({"BATON_REDIS_URL": "http://x"}).url("REDIS_URL", ("redis",))


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BATON_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_distributed_mode_refuses_to_start_without_a_secret_key(tmp_path):
    result = _manage(
        "check", BATON_REDIS_URL="redis://127.0.0.1:6379/0", BATON_VAR_DIR=str(tmp_path)
    )
    assert result.returncode != 0
    assert "BATON_SECRET_KEY is required" in result.stderr


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        BATON_REDIS_URL="redis://127.0.0.1:6379/0",
        BATON_SECRET_KEY="x" * 20 + "Production-Secret-Key-With-Entropy-0123456789",
        BATON_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        BATON_ALLOWED_HOSTS="baton.example.com",
        BATON_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_embedded_default_generates_a_secret_key_once(tmp_path):
    first = _manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.SECRET_KEY)",
        BATON_VAR_DIR=str(tmp_path),
    )
    second = _manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.SECRET_KEY)",
        BATON_VAR_DIR=str(tmp_path),
    )
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout and len(first.stdout.strip()) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
