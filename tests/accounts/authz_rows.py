"""The authorization matrix: one row per (route, method), the status each caller gets.

Every route of the URL configuration needs a row here, or
tests/accounts/test_authorization_matrix.py fails and names it. To add one:

    Row("url-name", "METHOD", "anon viewer runner editor approver admin other_admin", ...)

- ``expect``: seven statuses in the order of CALLERS below. "other_admin" is an
  admin of another workspace: objects of "acme" must answer 404 to them,
  while a page about "the current workspace" shows their own workspace.
- ``kwargs``: URL arguments; a value naming a key of the world (see WORLD_KEYS
  in the test) is replaced by that object's id, anything else is used as is.
- ``body``: JSON for /api/ routes, form data for pages. ``query``: a query string.
- ``committed``: for async views that read the database from another thread:
  they cannot see the uncommitted world, so these rows run without it (and
  without object ids) in test_authorization_matrix_committed.py.
- ``htmx``: send HX-Request, so page POSTs answer with a partial (200) instead
  of a redirect, which tells success (200) from a refused anonymous (302).

Each caller's request runs in its own savepoint, rolled back afterwards, so a
DELETE by one caller does not change what the next one sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CALLERS = ("anonymous", "viewer", "runner", "editor", "approver", "admin", "other_admin")

# Routes that are not ours to police row by row: Django's admin site answers
# only staff users (no Baton role is ever staff); one row checks its index.
SKIPPED_PREFIXES = ("django-admin/",)


@dataclass(frozen=True)
class Row:
    route: str
    method: str
    expect: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    query: str = ""
    htmx: bool = False
    committed: bool = False
    note: str = ""

    def expected(self) -> dict[str, Any]:
        codes = [code if code == "open" else int(code) for code in self.expect.split()]
        assert len(codes) == len(CALLERS), (
            f"{self.route} {self.method}: need {len(CALLERS)} statuses"
        )
        return dict(zip(CALLERS, codes, strict=True))

    @property
    def id(self) -> str:
        return f"{self.route} {self.method}{' ' + self.note if self.note else ''}"


GRAPH = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "trigger.manual", "config": {}},
        {"id": "shape", "type": "data.transform", "config": {"output": {"x": "{{ trigger.x }}"}}},
    ],
    "edges": [{"id": "e1", "source": "start", "target": "shape"}],
}

WF = {"pk": "workflow"}
ACME = {"slug": "acme"}
RUN = {"pk": "run"}
CRED = {"pk": "credential"}
TASK = {"pk": "task"}

#                                                     anon view run  edit appr admn other
# fmt: off
ROWS: list[Row] = [
    # -- accounts API ----------------------------------------------------------------
    Row("api-token", "POST", "200 200 200 200 200 200 200", body={"username": "viewer", "password": "pw-Secret-123"}, note="(public; a session is ignored)"),
    Row("api-workspaces", "GET", "401 200 200 200 200 200 200"),
    Row("api-members", "GET", "401 403 403 403 403 200 404", kwargs=ACME),
    Row("api-members", "POST", "401 403 403 403 403 201 404", kwargs=ACME, body={"user": "newcomer", "roles": ["viewer"]}),
    Row("api-member", "GET", "401 403 403 403 403 200 404", kwargs={**ACME, "user_id": "viewer"}),
    Row("api-member", "PATCH", "401 403 403 403 403 200 404", kwargs={**ACME, "user_id": "viewer"}, body={"roles": ["runner"]}),
    Row("api-member", "DELETE", "401 403 403 403 403 204 404", kwargs={**ACME, "user_id": "viewer"}),
    Row("api-invitations", "GET", "401 403 403 403 403 200 404", kwargs=ACME),
    Row("api-invitations", "POST", "401 403 403 403 403 201 404", kwargs=ACME, body={"roles": ["viewer"]}),
    Row("api-invitation", "DELETE", "401 403 403 403 403 204 404", kwargs={**ACME, "pk": "invitation"}),
    Row("api-outbound-allow", "GET", "401 403 403 403 403 200 404", kwargs=ACME),
    Row("api-outbound-allow", "PUT", "401 403 403 403 403 200 404", kwargs=ACME, body={"entries": ["localhost:11434", "10.0.0.0/8"]}),
    Row("api-publish-requests", "GET", "401 200 200 200 200 200 200", query="status=pending"),
    Row("api-publish-request", "GET", "401 200 200 200 200 200 404", kwargs={"pk": "publish_request"}),
    Row("api-publish-request-decision", "POST", "401 403 403 403 200 200 404", kwargs={"pk": "publish_request"}, body={"decision": "approve", "comment": "ok"}, note="(editor is the author)"),
    # -- builder API ---------------------------------------------------------------
    Row("api-node-types", "GET", "401 200 200 200 200 200 200"),
    Row("api-workflows", "GET", "401 200 200 200 200 200 200", query="workspace=acme"),
    Row("api-workflows", "POST", "401 403 403 201 403 201 400", body={"workspace": "acme", "name": "New", "description": "", "graph": GRAPH}, note="(another workspace's slug: 400)"),
    Row("api-workflow", "GET", "401 200 200 200 200 200 404", kwargs=WF),
    Row("api-workflow", "PATCH", "401 403 403 200 403 200 404", kwargs=WF, body={"name": "Renamed", "revision": 1}),
    Row("api-workflow", "DELETE", "401 403 403 204 403 204 404", kwargs=WF),
    Row("api-workflow-validate", "POST", "401 200 200 200 200 200 404", kwargs=WF, body={}),
    Row("api-workflow-publish", "POST", "401 403 403 200 403 200 404", kwargs=WF, body={"note": "n"}),
    Row("api-workflow-versions", "GET", "401 200 200 200 200 200 404", kwargs=WF),
    Row("api-workflow-version", "GET", "401 200 200 200 200 200 404", kwargs={**WF, "number": 1}),
    Row("api-schema", "GET", "200 200 200 200 200 200 200", note="(public)"),
    Row("api-docs", "GET", "200 200 200 200 200 200 200", note="(public)"),
    # -- account pages ---------------------------------------------------------------
    Row("accounts:login", "GET", "200 302 302 302 302 302 302"),
    Row("accounts:login", "POST", "200 302 302 302 302 302 302", body={"username": "x", "password": "y"}),
    Row("accounts:logout", "POST", "302 302 302 302 302 302 302"),
    Row("accounts:switch-workspace", "POST", "302 302 302 302 302 302 404", kwargs=ACME),
    Row("accounts:password-change", "GET", "302 200 200 200 200 200 200"),
    Row("accounts:password-change", "POST", "302 200 200 200 200 200 200", body={"old_password": "wrong"}, note="(wrong old password: the form again)"),
    Row("accounts:password-change-done", "GET", "302 200 200 200 200 200 200"),
    Row("accounts:password-reset", "GET", "200 200 200 200 200 200 200"),
    Row("accounts:password-reset", "POST", "302 302 302 302 302 302 302", body={"email": "x@example.com"}),
    Row("accounts:password-reset-done", "GET", "200 200 200 200 200 200 200"),
    Row("accounts:password-reset-confirm", "GET", "200 200 200 200 200 200 200", kwargs={"uidb64": "MQ", "token": "forged-token"}, note="(forged link)"),
    Row("accounts:password-reset-confirm", "POST", "200 200 200 200 200 200 200", kwargs={"uidb64": "MQ", "token": "forged-token"}, body={"new_password1": "x"}, note="(forged link)"),
    Row("accounts:password-reset-complete", "GET", "200 200 200 200 200 200 200"),
    Row("accounts:profile", "GET", "302 200 200 200 200 200 200"),
    Row("accounts:token-create", "POST", "302 200 200 200 200 200 200", body={"name": "t"}),
    Row("accounts:token-revoke", "POST", "302 200 200 200 200 200 200", kwargs={"pk": "own_token"}, htmx=True),
    Row("accounts:token-revoke", "POST", "302 404 404 404 404 200 404", kwargs={"pk": "admin_token"}, htmx=True, note="(the admin's token: nobody else revokes it)"),
    Row("accounts:members", "GET", "302 403 403 403 403 200 200"),
    Row("accounts:member-add", "POST", "302 403 403 403 403 200 200", htmx=True, body={"username": "newcomer", "roles": ["viewer"]}),
    Row("accounts:member-update", "POST", "302 403 403 403 403 200 404", kwargs={"user_id": "viewer"}, htmx=True, body={"roles": ["runner"]}),
    Row("accounts:member-remove", "POST", "302 403 403 403 403 200 404", kwargs={"user_id": "viewer"}, htmx=True),
    Row("accounts:invite", "POST", "302 403 403 403 403 200 200", body={"roles": ["viewer"], "days": 7}),
    Row("accounts:invitation-revoke", "POST", "302 403 403 403 403 200 404", kwargs={"pk": "invitation"}, htmx=True),
    Row("accounts:invitation-accept", "GET", "200 200 200 200 200 200 200", kwargs={"token": "invitation_token"}),
    Row("accounts:invitation-accept", "GET", "410 410 410 410 410 410 410", kwargs={"token": "forged"}, note="(forged link)"),
    Row("accounts:invitation-accept", "POST", "302 302 302 302 302 302 302", kwargs={"token": "invitation_token"}, body={ "username": "joiner", "email": "", "password1": "Long-pass-4471", "password2": "Long-pass-4471", }),
    Row("accounts:settings", "GET", "302 403 403 403 403 200 200"),
    Row("accounts:settings", "POST", "302 403 403 403 403 200 200", htmx=True, body={"name": "Renamed", "require_publish_review": "on"}),
    Row("accounts:outbound-allow", "POST", "302 403 403 403 403 200 200", htmx=True, body={"entries": "localhost:11434\n*.internal.example.com"}),
    Row("accounts:publish-requests", "GET", "302 200 200 200 200 200 200"),
    Row("accounts:publish-request-decide", "POST", "302 403 403 403 200 200 404", kwargs={"pk": "publish_request"}, htmx=True, body={"decision": "reject"}),
    Row("accounts:audit", "GET", "302 403 403 403 403 200 200"),
    Row("accounts:audit-export", "GET", "302 403 403 403 403 200 200", query="format=json"),
    # -- builder pages ---------------------------------------------------------------
    Row("builder:home", "GET", "302 200 200 200 200 200 200"),
    Row("builder:new", "POST", "302 403 403 302 403 302 302"),
    Row("builder:templates", "GET", "302 403 403 200 403 200 200"),
    Row("builder:editor", "GET", "302 200 200 200 200 200 404", kwargs=WF),
    Row("builder:from-template", "POST", "302 403 403 302 403 302 302", kwargs={"slug": "email-triage"}),
    Row("builder:from-template", "POST", "302 404 404 404 404 404 404", kwargs={"slug": "no-such-template"}, note="(unknown template)"),
    # -- runtime API and pages ------------------------------------------------------------
    Row("api-workflow-runs", "GET", "401 200 200 200 200 200 404", kwargs=WF),
    Row("api-workflow-runs", "POST", "401 403 201 201 403 201 404", kwargs=WF, body={"input": {"x": 1}, "version": "published"}),
    Row("api-runs", "GET", "401 200 200 200 200 200 200", query="status=running"),
    Row("api-run", "GET", "401 200 200 200 200 200 404", kwargs=RUN),
    Row("api-run-cancel", "POST", "401 403 200 200 403 200 404", kwargs=RUN, body={}),
    Row("api-run-rerun", "POST", "401 403 201 201 403 201 404", kwargs={"pk": "finished_run"}, body={"from_node": "shape"}),
    Row("api-run-events", "GET", "401 200 200 200 200 200 404", kwargs=RUN),
    Row("runtime:runs", "GET", "302 200 200 200 200 200 200"),
    Row("runtime:run", "GET", "302 200 200 200 200 200 404", kwargs=RUN),
    Row("runtime:run-cancel", "POST", "302 403 302 302 403 302 404", kwargs=RUN),
    Row("runtime:run-rerun", "POST", "302 403 302 302 403 302 404", kwargs={"pk": "finished_run"}, body={"from_node": "shape"}),
    Row("triggers:hook", "POST", "404 404 404 404 404 404 404", kwargs={"hook_id": "no-such-hook"}, committed=True, note="(public; an unknown hook)"),
    # -- credentials (admin) ----------------------------------------------------------
    Row("credential-list", "GET", "401 403 403 403 403 200 404", query="workspace=acme"),
    Row("credential-list", "POST", "401 403 403 403 403 201 404", body={ "workspace": "acme", "name": "new", "kind": "scripted", "config": {}, "secret": "s3cret", }, note="(another workspace's slug: 404)"),
    Row("credential-choices", "GET", "401 403 403 200 403 200 404", query="workspace=acme", note="(names and kinds, for editors)"),
    Row("credential-detail", "GET", "401 403 403 403 403 200 404", kwargs=CRED),
    Row("credential-detail", "PATCH", "401 403 403 403 403 200 404", kwargs=CRED, body={"disabled": True}),
    Row("credential-detail", "DELETE", "401 403 403 403 403 204 404", kwargs=CRED),
    Row("integrations:credentials", "GET", "302 403 403 403 403 200 200"),
    Row("integrations:credential-new", "GET", "302 403 403 403 403 200 200"),
    Row("integrations:credential-edit", "GET", "302 403 403 403 403 200 404", kwargs=CRED),
    Row("integrations:credential-toggle", "POST", "302 403 403 403 403 302 404", kwargs=CRED),
    Row("integrations:credential-delete", "POST", "302 403 403 403 403 302 404", kwargs=CRED),
    Row("integrations:prices", "GET", "302 403 403 403 403 200 200"),
    Row("integrations:price-delete", "POST", "302 403 403 403 403 302 302", body={"model": "gpt-x"}),
    # -- approvals (the inbox) ----------------------------------------------------------
    Row("api-approvals", "GET", "401 200 200 200 200 200 200", query="status=pending"),
    Row("api-approval", "GET", "401 200 200 200 200 200 404", kwargs=TASK),
    Row("api-approval-decision", "POST", "401 403 403 403 200 200 404", kwargs=TASK, body={"decision": "approve", "comment": "ok"}, note="(assigned to approvers; admins may too)"),
    Row("approvals:inbox", "GET", "302 200 200 200 200 200 200"),
    Row("approvals:count", "GET", "302 200 200 200 200 200 200"),
    Row("approvals:task", "GET", "302 200 200 200 200 200 404", kwargs=TASK),
    Row("approvals:decide", "POST", "302 403 403 403 302 302 404", kwargs=TASK, body={"decision": "approve"}),
    # -- Django admin (staff only; no Baton role makes anyone staff) ------------------
    Row("admin:index", "GET", "302 302 302 302 302 302 302"),
]
# fmt: on

# WebSocket routes of config.routing (contract section 5), by route name. A
# row's ``expect`` reads, per caller, "open" (the socket stays open) or the
# close code the consumer answers with: 4401 not signed in, 4403 not allowed,
# 4404 not visible. Objects: "run", "workflow"; the workspace is "acme".
# fmt: off
WS_ROWS: list[Row] = [
    Row("ws-run", "WS", "4401 open open open open open 4404", kwargs={"run_id": "run"}),
    Row("ws-run", "WS", "4401 4404 4404 4404 4404 4404 4404",
        kwargs={"run_id": "00000000-0000-0000-0000-000000000000"}, note="(unknown run)"),
    Row("ws-workflow", "WS", "4401 open open open open open 4404", kwargs={"workflow_id": "workflow"}),
    Row("ws-workspace", "WS", "4401 open open open open open 4404", kwargs={"slug": "acme"}),
]
# fmt: on
