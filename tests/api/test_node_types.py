"""GET /api/v1/node-types/: the catalog the canvas builds its palette and
config forms from (contract section 3)."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from tests.conftest import api_client, make_user, make_workspace

pytestmark = pytest.mark.django_db

URL = "/api/v1/node-types/"
OWN_KEYS = {
    "trigger.manual",
    "trigger.webhook",
    "trigger.schedule",
    "trigger.event",
    "logic.if",
    "logic.switch",
    "logic.merge",
    "data.transform",
    "data.validate",
    "flow.delay",
    "flow.fail",
    "flow.subworkflow",
    "flow.map",
    "human.approval",
    "http.request",
    "notify.email",
}


def catalog(user) -> dict[str, dict]:
    response = api_client(user).get(URL)
    assert response.status_code == 200, response.content
    return {entry["key"]: entry for entry in response.json()}


def test_a_member_sees_every_type_with_what_the_canvas_needs():
    user = make_user(workspace=make_workspace(), roles=["viewer"])
    types = catalog(user)
    assert set(types) >= OWN_KEYS
    for key in OWN_KEYS:
        entry = types[key]
        assert {
            "key",
            "version",
            "category",
            "label",
            "description",
            "config_schema",
            "ports",
            "output_schema",
        } <= set(entry)
        assert entry["version"] == 1 and entry["label"] and entry["description"]
        Draft202012Validator.check_schema(entry["config_schema"])
        Draft202012Validator.check_schema(entry["output_schema"])


def test_the_entries_carry_ports_forms_and_output_paths():
    types = catalog(make_user(workspace=make_workspace()))
    assert types["logic.if"]["ports"] == ["true", "false"]
    assert types["logic.if"]["expression_fields"] == ["condition"]
    assert types["logic.switch"]["dynamic_ports"] is True
    assert (
        types["trigger.manual"]["is_trigger"] is True
        and types["trigger.manual"]["error_port"] is False
    )
    assert types["flow.fail"]["ports"] == []
    delay = types["flow.delay"]["config_schema"]["properties"]["seconds"]
    assert (
        delay["exclusiveMinimum"] == 0
        and delay["maximum"] == 30 * 24 * 3600
        and delay["description"]
    )
    assert set(types["http.request"]["output_schema"]["properties"]) == {
        "status",
        "headers",
        "body",
    }
    approval = types["human.approval"]["output_schema"]["properties"]
    assert set(approval) == {"decision", "decided_by", "comment", "data", "changes"}


def test_a_user_without_a_workspace_may_read_the_catalog_too():
    assert set(catalog(make_user())) >= OWN_KEYS


def test_anonymous_callers_get_401():
    response = api_client().get(URL)
    assert response.status_code == 401
    assert "detail" in response.json()
