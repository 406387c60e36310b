"""GET, POST /api/v1/credentials/ and PATCH, DELETE /api/v1/credentials/{id}/."""

from __future__ import annotations

import pytest

from integrations import crypto
from integrations.models import Credential
from tests.conftest import api_client
from tests.integrations.fake_providers import CANARY

URL = "/api/v1/credentials/"


def create(client, **fields):
    body = {
        "workspace": "acme",
        "name": "openai-main",
        "kind": "openai",
        "config": {"base_url": "http://localhost:11434/v1"},
        "secret": CANARY,
        **fields,
    }
    return client.post(URL, body, format="json")


def test_create_then_list_never_returns_the_secret(admin):
    client = api_client(admin)
    response = create(client)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {
        "id",
        "workspace",
        "name",
        "kind",
        "config",
        "has_secret",
        "disabled",
        "created_at",
    }
    assert (body["workspace"], body["has_secret"], body["disabled"]) == ("acme", True, False)
    assert "secret" not in body and CANARY not in response.content.decode()
    listing = client.get(URL, {"workspace": "acme"})
    assert listing.status_code == 200
    assert [c["name"] for c in listing.json()["results"]] == ["openai-main"]
    assert CANARY not in listing.content.decode()
    detail = client.get(f"{URL}{body['id']}/")
    assert detail.status_code == 200 and CANARY not in detail.content.decode()
    stored = Credential.objects.get(pk=body["id"]).secret_token
    assert CANARY not in stored and crypto.decrypt(stored) == CANARY


def test_name_is_unique_per_workspace(admin):
    client = api_client(admin)
    assert create(client).status_code == 201
    response = create(client)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "name"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "psychic"}, "kind"),
        ({"config": {"base_url": "ftp://x"}}, "config.base_url"),
        ({"config": {"api_key": "sk-1"}}, "config.api_key"),
        ({"password": "x"}, "password"),
    ],
)
def test_invalid_bodies_answer_400_naming_the_field(admin, fields, field):
    response = create(api_client(admin), **fields)
    assert response.status_code == 400
    assert field in [error["field"] for error in response.json()["errors"]]


def test_patch_disabled_is_the_kill_switch_and_secrets_can_be_replaced(admin):
    client = api_client(admin)
    pk = create(client).json()["id"]
    response = client.patch(f"{URL}{pk}/", {"disabled": True}, format="json")
    assert response.status_code == 200 and response.json()["disabled"] is True
    response = client.patch(
        f"{URL}{pk}/", {"name": "renamed", "secret": "sk-new-secret"}, format="json"
    )
    assert response.json()["name"] == "renamed" and response.json()["has_secret"] is True
    assert crypto.decrypt(Credential.objects.get(pk=pk).secret_token) == "sk-new-secret"
    response = client.patch(f"{URL}{pk}/", {"secret": ""}, format="json")
    assert response.json()["has_secret"] is False


def test_delete(admin):
    client = api_client(admin)
    pk = create(client).json()["id"]
    assert client.delete(f"{URL}{pk}/").status_code == 204
    assert not Credential.objects.filter(pk=pk).exists()


def test_only_admins_manage_credentials(admin, editor, viewer):
    pk = create(api_client(admin)).json()["id"]
    for member in (editor, viewer):
        client = api_client(member)
        assert client.get(URL, {"workspace": "acme"}).status_code == 403
        assert create(client, name="mine").status_code == 403
        assert client.patch(f"{URL}{pk}/", {"disabled": True}, format="json").status_code == 403
        assert client.delete(f"{URL}{pk}/").status_code == 403


def test_another_workspace_answers_404(admin, outsider):
    pk = create(api_client(admin)).json()["id"]
    client = api_client(outsider)
    assert client.get(URL, {"workspace": "acme"}).status_code == 404
    assert create(client, name="sneaky").status_code == 404
    assert client.get(f"{URL}{pk}/").status_code == 404
    assert client.patch(f"{URL}{pk}/", {"disabled": True}, format="json").status_code == 404
    assert client.delete(f"{URL}{pk}/").status_code == 404
    assert client.get(URL).json()["results"] == []
    assert client.get(f"{URL}999999/").status_code == 404


def test_anonymous_callers_are_refused(db):
    assert api_client().get(URL).status_code in (401, 403)


def test_every_change_is_audited_without_the_secret(admin):
    from accounts.models import AuditEvent

    client = api_client(admin)
    pk = create(client).json()["id"]
    client.patch(f"{URL}{pk}/", {"disabled": True}, format="json")
    client.patch(f"{URL}{pk}/", {"secret": "sk-rotated-123"}, format="json")
    client.delete(f"{URL}{pk}/")
    events = AuditEvent.objects.filter(object_type="integrations.credential").order_by("seq")
    assert [e.action for e in events] == [
        "credential.create",
        "credential.disable",
        "credential.update",
        "credential.delete",
    ]
    assert events[0].actor_id == admin.pk
    dumped = str([(e.summary, e.object_repr) for e in events])
    assert CANARY not in dumped and "sk-rotated-123" not in dumped


def test_editors_may_list_names_to_pick_from_but_nothing_more(admin, editor, viewer, outsider):
    create(api_client(admin))
    response = api_client(editor).get(f"{URL}choices/", {"workspace": "acme"})
    assert response.status_code == 200
    assert response.json() == [
        {
            "id": response.json()[0]["id"],
            "name": "openai-main",
            "kind": "openai",
            "disabled": False,
            "is_test_double": False,
        },
    ]
    assert api_client(viewer).get(f"{URL}choices/", {"workspace": "acme"}).status_code == 403
    assert api_client(outsider).get(f"{URL}choices/", {"workspace": "acme"}).status_code == 404
