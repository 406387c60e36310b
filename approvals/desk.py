"""The :class:`builder.nodes.human.ApprovalDesk` the ``human.approval`` node
talks to, backed by approval task rows (installed in ``ApprovalsConfig.ready``)."""

from __future__ import annotations

from typing import Any

from approvals import services
from builder.nodes.base import NodeContext
from builder.nodes.human import ApprovalRequest, Ticket


class Desk:
    def open(self, ctx: NodeContext, request: ApprovalRequest) -> Ticket:
        task = services.open_task(ctx.run_id, ctx.node_id, ctx.visit, request)
        return services.ticket_of(task)

    def approve_automatically(self, ctx: NodeContext, request: ApprovalRequest) -> dict[str, Any]:
        return services.approve_automatically(ctx.run_id, ctx.node_id, ctx.visit, request)

    def conclude(self, task_id: str) -> tuple[str, dict[str, Any]] | Ticket:
        return services.conclude(task_id)
