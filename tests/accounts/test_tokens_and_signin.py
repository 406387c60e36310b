"""Personal API tokens from the profile page, and sign-in hardening."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

import config.settings as project_settings
from accounts.models import ApiToken, AuditEvent
from tests.conftest import api_client, make_user

pytestmark = pytest.mark.django_db


def token_client(key: str):
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def create_on_profile(client, name="CI", expires=""):
    page = client.post("/accounts/tokens/", {"name": name, "expires": expires})
    assert page.status_code == 200
    match = re.search(rb'id="new-token-key" type="text" readonly value="(bt_[^"]+)"', page.content)
    assert match, page.content.decode()[:2000]
    return match.group(1).decode(), page


def test_profile_creates_a_token_shown_once_and_stored_hashed(client, team):
    client.force_login(team["editor"])
    key, page = create_on_profile(client)
    assert b"shown only once" in page.content
    token = ApiToken.objects.get(user=team["editor"])
    assert token.key_hash == ApiToken.hash_key(key) and key not in token.key_hash
    listing = client.get("/accounts/profile/")
    assert key.encode() not in listing.content
    assert f"bt_{token.prefix}".encode() in listing.content and b"never" in listing.content
    assert token_client(key).get("/api/v1/workspaces/").status_code == 200
    assert AuditEvent.objects.filter(action="token.created", workspace=team["acme"]).exists()


def test_a_token_acts_with_its_owners_roles(client, team):
    client.force_login(team["viewer"])
    key, _page = create_on_profile(client)
    response = token_client(key).post(
        "/api/v1/workflows/", {"workspace": "acme", "name": "x", "description": ""}, format="json"
    )
    assert response.status_code == 403


def test_revoked_and_expired_tokens_answer_401(client, team):
    client.force_login(team["editor"])
    key, _page = create_on_profile(client)
    token = ApiToken.objects.get(user=team["editor"])
    revoked = client.post(f"/accounts/tokens/{token.pk}/revoke/", HTTP_HX_REQUEST="true")
    assert revoked.status_code == 200 and b"Revoked" in revoked.content
    answer = token_client(key).get("/api/v1/workspaces/")
    assert answer.status_code == 401 and answer.json()["detail"] == "Invalid or expired token."
    _old, old_key = ApiToken.issue(team["editor"], "old", timezone.now() + timedelta(seconds=1))
    ApiToken.objects.filter(name="old").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert token_client(old_key).get("/api/v1/workspaces/").status_code == 401
    assert token_client("bt_forged").get("/api/v1/workspaces/").status_code == 401
    assert AuditEvent.objects.filter(action="token.revoked").count() == 1
    refusals = AuditEvent.objects.filter(action="token.refused", workspace=team["acme"])
    assert sorted(e.summary["reason"] for e in refusals) == ["expired", "revoked"]


def test_nobody_revokes_another_persons_token(client, team):
    token, key = ApiToken.issue(team["admin"], "admin's")
    client.force_login(team["editor"])
    assert client.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404
    assert token_client(key).get("/api/v1/workspaces/").status_code == 200


def test_expiry_choice_is_stored(client, team):
    client.force_login(team["editor"])
    create_on_profile(client, expires="30")
    token = ApiToken.objects.get(user=team["editor"])
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)


def test_repeated_failures_lock_the_sign_in_page_with_a_clear_message(client, team, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post("/accounts/login/", {"username": "viewer", "password": "nope"})
    locked = client.post("/accounts/login/", {"username": "viewer", "password": "pw-Secret-123"})
    assert locked.status_code == 429
    assert b"Sign-in locked." in locked.content and b"15 minutes" in locked.content
    assert "_auth_user_id" not in client.session


def test_the_token_endpoint_shares_the_lockout(team, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = api_client()
    for expected in (401, 401, 429):  # the failure that reaches the limit is answered as a lockout
        wrong = client.post(
            "/api/v1/auth/token/", {"username": "viewer", "password": "x"}, format="json"
        )
        assert wrong.status_code == expected
    locked = client.post(
        "/api/v1/auth/token/", {"username": "viewer", "password": "pw-Secret-123"}, format="json"
    )
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.json()["detail"]
    assert not ApiToken.objects.filter(user=team["viewer"]).exists()


def test_password_change(client, team):
    client.force_login(team["viewer"])
    page = client.post(
        "/accounts/password/change/",
        {
            "old_password": "pw-Secret-123",
            "new_password1": "a-New-pass-9981",
            "new_password2": "a-New-pass-9981",
        },
    )
    assert page.status_code == 302 and page["Location"] == "/accounts/password/change/done/"
    team["viewer"].refresh_from_db()
    assert team["viewer"].check_password("a-New-pass-9981")
    assert AuditEvent.objects.filter(action="auth.password_changed").exists()


def test_password_reset_by_email(client, team):
    team["viewer"].email = "vera@example.com"
    team["viewer"].save()
    sent = client.post("/accounts/password/reset/", {"email": "vera@example.com"})
    assert sent.status_code == 302 and len(mail.outbox) == 1
    link = re.search(r"http://\S+/accounts/password/reset/\S+/", mail.outbox[0].body).group(0)
    path = link.split("testserver", 1)[1]
    form = client.get(path, follow=True)
    assert b"Choose a new password" in form.content
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-New-pass-9981", "new_password2": "a-New-pass-9981"},
    )
    assert done.status_code == 302
    team["viewer"].refresh_from_db()
    assert team["viewer"].check_password("a-New-pass-9981")
    reused = client.get(path, follow=True)
    assert b"This link does not work" in reused.content


def test_production_hashing_and_session_settings():
    assert project_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    assert 0 < project_settings.SESSION_COOKIE_AGE <= 24 * 3600
    assert project_settings.SESSION_COOKIE_HTTPONLY


def test_passwords_are_hashed_with_argon2(settings, db):
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    user = make_user("hashed")
    assert user.password.startswith("argon2$")


def test_server_side_authenticate_without_a_request_is_not_throttled(team):
    from django.contrib.auth import authenticate

    assert authenticate(username="viewer", password="pw-Secret-123") == team["viewer"]
    assert authenticate(username="viewer", password="wrong") is None
