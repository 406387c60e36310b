"""Example workflows: the demo workspace's workflows and the "New from template" gallery.

Every example is a real AI orchestration pattern. The AI steps name the
credential ``demo-scripted`` (a scripted test double created by seed_demo), so
the demo runs offline; point them at OpenAI, Anthropic or Ollama by editing
that credential or choosing another (see docs/ai.md).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

DEMO_CREDENTIAL = "demo-scripted"
DEMO_MODEL = "demo-model"


@dataclass(frozen=True)
class Example:
    slug: str
    name: str
    description: str
    graph: dict[str, Any]


def _node(
    node_id: str, node_type: str, name: str, config: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "name": name, "config": config or {}, **extra}


def _edges(*pairs: tuple) -> list[dict[str, Any]]:
    edges = []
    for index, pair in enumerate(pairs, start=1):
        source, target, *rest = pair
        edge: dict[str, Any] = {"id": f"e{index}", "source": source, "target": target}
        if rest and rest[0]:
            edge["source_port"] = rest[0]
        if len(rest) > 1 and rest[1]:
            edge["loop"] = True
        edges.append(edge)
    return edges


def _layout(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> dict[str, Any]:
    """Place nodes left to right by depth (loop edges ignored), spread vertically."""
    depth = {node["id"]: 0 for node in nodes}
    forward = [e for e in edges if not e.get("loop")]
    for _ in nodes:
        for edge in forward:
            depth[edge["target"]] = max(depth[edge["target"]], depth[edge["source"]] + 1)
    rows: dict[int, int] = defaultdict(int)
    for node in nodes:
        column = depth[node["id"]]
        node["position"] = {"x": column * 280, "y": rows[column] * 140}
        rows[column] += 1
    return {"version": 1, "nodes": nodes, "edges": edges}


NODE_KEYS = ("retry", "timeout_s", "join", "max_visits", "disabled", "notes")


def _llm(node_id: str, name: str, prompt: str, **settings: Any) -> dict[str, Any]:
    node_level = {key: settings.pop(key) for key in NODE_KEYS if key in settings}
    config = {"credential": DEMO_CREDENTIAL, "model": DEMO_MODEL, "prompt": prompt, **settings}
    return _node(node_id, "ai.llm", name, config, **node_level)


def email_triage() -> Example:
    nodes = [
        _node(
            "start",
            "trigger.manual",
            "Email in",
            {
                "input_schema": {
                    "type": "object",
                    "required": ["message", "customer"],
                    "properties": {
                        "message": {"type": "string", "title": "Message"},
                        "customer": {"type": "string", "title": "Customer email"},
                    },
                }
            },
        ),
        _node("mood", "ai.sentiment", "Sentiment", {"text": "{{ trigger.message }}"}),
        _node(
            "is_negative",
            "logic.if",
            "Unhappy customer?",
            {"condition": "nodes.mood.output.label == 'negative'"},
        ),
        _llm(
            "draft",
            "Draft a reply",
            "Write a short, friendly reply to this customer email:\n\n{{ trigger.message }}",
            retry={"max_attempts": 3, "backoff_s": 1, "backoff_factor": 2},
            timeout_s=60,
        ),
        _llm(
            "careful_draft",
            "Draft an apology",
            "The customer is unhappy. Draft an empathetic reply that apologises and offers help:\n\n{{ trigger.message }}",
        ),
        _node(
            "review",
            "human.approval",
            "Review the reply",
            {
                "title": "Unhappy customer: check the reply",
                "instructions": "Read the customer's message and **edit the reply** before it goes out.",
                "data": {
                    "message": "{{ trigger.message }}",
                    "sentiment": "{{ nodes.mood.output }}",
                },
                "fields": {
                    "type": "object",
                    "properties": {
                        "reply": {
                            "type": "string",
                            "title": "Reply",
                            "default": "{{ nodes.careful_draft.output.text }}",
                        }
                    },
                },
                "assignees": {"roles": ["approver"]},
            },
        ),
        _node(
            "send",
            "notify.email",
            "Send reply",
            {
                "to": "{{ trigger.customer }}",
                "subject": "Re: your message",
                "body": "{{ nodes.draft.output.text }}",
            },
        ),
        _node(
            "send_reviewed",
            "notify.email",
            "Send reviewed reply",
            {
                "to": "{{ trigger.customer }}",
                "subject": "Re: your message",
                "body": "{{ nodes.review.output.data.reply }}",
            },
        ),
    ]
    edges = _edges(
        ("start", "mood"),
        ("mood", "is_negative"),
        ("is_negative", "careful_draft", "true"),
        ("is_negative", "draft", "false"),
        ("careful_draft", "review"),
        ("draft", "send"),
        ("draft", "careful_draft", "error"),
        ("review", "send_reviewed", "approved"),
    )
    return Example(
        "email-triage",
        "Email triage",
        "Sentiment decides: happy customers get an AI reply at once, unhappy ones get a human-reviewed apology.",
        _layout(nodes, edges),
    )


def document_intake() -> Example:
    schema = {
        "type": "object",
        "required": ["vendor", "amount"],
        "properties": {
            "vendor": {"type": "string"},
            "amount": {"type": "number"},
            "due_date": {"type": "string"},
        },
    }
    nodes = [
        _node(
            "start",
            "trigger.manual",
            "Document in",
            {
                "input_schema": {
                    "type": "object",
                    "required": ["text"],
                    "properties": {"text": {"type": "string", "title": "Document text"}},
                }
            },
        ),
        _node(
            "extract",
            "ai.extract",
            "Extract fields",
            {
                "credential": DEMO_CREDENTIAL,
                "model": DEMO_MODEL,
                "text": "{{ trigger.text }}",
                "schema": schema,
            },
        ),
        _node(
            "check",
            "data.validate",
            "Fields complete?",
            {
                "value": "{{ nodes.extract.output }}",
                "schema": {
                    **schema,
                    "properties": {
                        **schema["properties"],
                        "amount": {"type": "number", "minimum": 0},
                    },
                },
            },
        ),
        _node(
            "risk",
            "ai.classify",
            "Risk",
            {
                "credential": DEMO_CREDENTIAL,
                "model": DEMO_MODEL,
                "text": "Invoice from {{ nodes.extract.output.vendor }} for {{ nodes.extract.output.amount }}",
                "categories": [
                    {"name": "low", "description": "Routine, known vendor, small amount"},
                    {"name": "high", "description": "Unusual vendor or large amount"},
                ],
            },
        ),
        _node(
            "approve",
            "human.approval",
            "Finance approval",
            {
                "title": "Risky invoice from {{ nodes.extract.output.vendor }}",
                "data": "{{ nodes.extract.output }}",
                "assignees": {"roles": ["approver"]},
                "timeout_s": 172800,
            },
        ),
        _node(
            "book",
            "data.transform",
            "Book it",
            {"output": {"booked": True, "invoice": "{{ nodes.extract.output }}"}},
            join="any",
        ),
        _node(
            "reject",
            "data.transform",
            "Send back",
            {"output": {"booked": False, "problems": "{{ nodes.check.output.errors }}"}},
        ),
    ]
    edges = _edges(
        ("start", "extract"),
        ("extract", "check"),
        ("check", "risk", "valid"),
        ("check", "reject", "invalid"),
        ("risk", "book", "low"),
        ("risk", "approve", "high"),
        ("approve", "book", "approved"),
    )
    return Example(
        "document-intake",
        "Document intake",
        "Extract invoice fields, gate on validation, classify risk, and ask finance when it is risky.",
        _layout(nodes, edges),
    )


def content_pipeline() -> Example:
    nodes = [
        _node(
            "start",
            "trigger.manual",
            "Brief",
            {
                "input_schema": {
                    "type": "object",
                    "required": ["topic"],
                    "properties": {"topic": {"type": "string", "title": "Topic"}},
                }
            },
        ),
        _llm(
            "outline",
            "Outline",
            "Write a five-point outline for a blog post about {{ trigger.topic }}.",
        ),
        _llm(
            "draft",
            "Draft",
            "Write the post from this outline:\n{{ nodes.outline.output.text }}\n\nEditor feedback so far: {{ default(nodes.critique.output.text, 'none') }}",
            max_visits=3,
        ),
        _llm(
            "critique",
            "Critique",
            'Score this draft from 1 to 10 and say what to fix. Answer as JSON {"score": n, "text": "..."}.\n\n{{ nodes.draft.output.text }}',
            response_format="json",
            max_visits=3,
        ),
        _node(
            "good_enough",
            "logic.if",
            "Good enough?",
            {"condition": "default(nodes.critique.output.json.score, 0) >= 8"},
            max_visits=3,
        ),
        _node(
            "publish",
            "data.transform",
            "Final post",
            {"output": {"post": "{{ nodes.draft.output.text }}"}},
        ),
    ]
    edges = _edges(
        ("start", "outline"),
        ("outline", "draft"),
        ("draft", "critique"),
        ("critique", "good_enough"),
        ("good_enough", "publish", "true"),
        ("good_enough", "draft", "false", True),
    )
    return Example(
        "content-pipeline",
        "Content pipeline",
        "Outline, draft and critique in a review loop (at most three drafts).",
        _layout(nodes, edges),
    )


def model_fallback() -> Example:
    nodes = [
        _node(
            "start",
            "trigger.manual",
            "Question",
            {
                "input_schema": {
                    "type": "object",
                    "required": ["question"],
                    "properties": {"question": {"type": "string", "title": "Question"}},
                }
            },
        ),
        _node(
            "triage",
            "ai.classify",
            "Cheap model: how hard?",
            {
                "credential": DEMO_CREDENTIAL,
                "model": DEMO_MODEL,
                "text": "{{ trigger.question }}",
                "categories": [
                    {"name": "simple", "description": "A short factual answer will do"},
                    {"name": "complex", "description": "Needs reasoning"},
                ],
            },
        ),
        _node(
            "confident",
            "logic.if",
            "Confident?",
            {"condition": "nodes.triage.output.confidence >= 0.8"},
        ),
        _llm(
            "cheap",
            "Answer with the cheap model",
            "Answer briefly: {{ trigger.question }}",
            max_tokens=300,
            fallbacks=[{"credential": DEMO_CREDENTIAL, "model": "demo-model-large"}],
        ),
        _llm(
            "strong",
            "Answer with the strong model",
            "Think it through and answer: {{ trigger.question }}",
            model="demo-model-large",
        ),
        _node(
            "answer",
            "data.transform",
            "Answer",
            {
                "output": {
                    "answer": "{{ default(nodes.cheap.output.text, nodes.strong.output.text) }}"
                }
            },
            join="any",
        ),
    ]
    edges = _edges(
        ("start", "triage"),
        ("triage", "confident", "simple"),
        ("triage", "strong", "complex"),
        ("confident", "cheap", "true"),
        ("confident", "strong", "false"),
        ("cheap", "answer"),
        ("strong", "answer"),
    )
    for node in nodes:
        if node["id"] == "strong":
            node["join"] = "any"
    return Example(
        "model-fallback",
        "Model fallback and cost routing",
        "A cheap model first; escalate to a stronger one when the question is hard or the cheap one is unsure.",
        _layout(nodes, edges),
    )


def parallel_research() -> Example:
    angles = {
        "market": "the market and competitors",
        "tech": "the technology and its risks",
        "people": "the customers and their needs",
    }
    nodes = [
        _node(
            "start",
            "trigger.manual",
            "Research question",
            {
                "input_schema": {
                    "type": "object",
                    "required": ["question"],
                    "properties": {"question": {"type": "string", "title": "Question"}},
                }
            },
        )
    ]
    nodes += [
        _llm(
            key,
            f"Research {key}",
            f"Research {angle} for: {{{{ trigger.question }}}}. Give three findings.",
        )
        for key, angle in angles.items()
    ]
    nodes += [
        _node("merge", "logic.merge", "Merge findings", {"mode": "object"}),
        _llm("summary", "Summarise", "Summarise these findings into one brief:\n{{ json(input) }}"),
    ]
    edges = _edges(
        *[("start", key) for key in angles],
        *[(key, "merge") for key in angles],
        ("merge", "summary"),
    )
    return Example(
        "parallel-research",
        "Parallel research",
        "Fan out to three LLM calls in parallel, merge, and summarise.",
        _layout(nodes, edges),
    )


def order_routing() -> Example:
    nodes = [
        _node(
            "start",
            "trigger.manual",
            "Order in",
            {
                "input_schema": {
                    "type": "object",
                    "required": ["country", "total"],
                    "properties": {"country": {"type": "string"}, "total": {"type": "number"}},
                }
            },
        ),
        _node(
            "region",
            "logic.switch",
            "Region",
            {"value": "trigger.country", "cases": ["DE", "FR", "US"]},
        ),
        _node(
            "eu",
            "data.transform",
            "EU warehouse",
            {"output": {"warehouse": "Leipzig", "vat": "{{ trigger.total * 0.2 }}"}},
            join="any",
        ),
        _node("us", "data.transform", "US warehouse", {"output": {"warehouse": "Reno", "vat": 0}}),
        _node(
            "manual",
            "data.transform",
            "Manual handling",
            {"output": {"warehouse": None, "note": "No route for {{ trigger.country }}"}},
        ),
    ]
    edges = _edges(
        ("start", "region"),
        ("region", "eu", "DE"),
        ("region", "eu", "FR"),
        ("region", "us", "US"),
        ("region", "manual", "default"),
    )
    return Example(
        "order-routing",
        "Order routing",
        "Route orders by country with a switch; no AI involved.",
        _layout(nodes, edges),
    )


# What the demo's scripted model answers: the first reply whose "match" occurs
# in the system text or prompt wins. The content pipeline's answers make its
# review loop take two rounds.
DEMO_REPLIES: list[dict[str, Any]] = [
    {
        "match": "extract information",
        "json": {"vendor": "Acme Paper Co.", "amount": 1240.5, "due_date": "2026-12-15"},
    },
    {"match": "unusual vendor or large amount", "json": {"category": "high", "confidence": 0.82}},
    {"match": "needs reasoning", "json": {"category": "simple", "confidence": 0.91}},
    {"match": "draft v1:", "json": {"score": 6, "text": "Good start; add a concrete example."}},
    {"match": "draft v2:", "json": {"score": 9, "text": "Ready to publish."}},
    {
        "match": "editor feedback so far: none",
        "text": "Draft v1: Orchestrating AI means choosing the right model for each step and knowing what it costs.",
    },
    {
        "match": "add a concrete example",
        "text": "Draft v2: Orchestrating AI means choosing the right model for each step. For example, a support team lets a small model sort email and a large one answer the hard cases.",
    },
    {
        "match": "five-point outline",
        "text": "1. Why orchestration\n2. Picking models\n3. Human review\n4. Costs\n5. Getting started",
    },
    {
        "match": "empathetic reply",
        "text": "We are very sorry about the trouble with your order. A replacement ships today, and we have refunded the delivery fee.",
    },
    {
        "match": "friendly reply",
        "text": "Thanks for writing! We are glad you like it; tell us if there is anything else we can do.",
    },
    {"match": "answer briefly", "text": "Paris is the capital of France."},
    {
        "match": "think it through",
        "text": "Weighing cost against accuracy, route easy questions to the small model and escalate the rest.",
    },
    {
        "match": "summarise these findings",
        "text": "Brief: a growing market, manageable technical risk, and customers who want reliability over novelty.",
    },
    {
        "match": "research",
        "text": "1. Demand is growing. 2. Two strong competitors. 3. Buyers value reliability.",
    },
]
DEMO_PRICES = {"demo-model": ("0.15", "0.60"), "demo-model-large": ("2.50", "10.00")}


def ensure_demo_credential(workspace: Any, user: Any) -> None:
    """The scripted credential the examples name, and prices for its models."""
    from decimal import Decimal

    from integrations import services as integration_services
    from integrations.models import Credential

    if not Credential.objects.filter(workspace=workspace, name=DEMO_CREDENTIAL).exists():
        integration_services.create_credential(
            user,
            workspace,
            name=DEMO_CREDENTIAL,
            kind="scripted",
            config={"replies": DEMO_REPLIES, "default": "Thanks for your message."},
        )
    for model, (inp, out) in DEMO_PRICES.items():
        integration_services.set_price(workspace, model, Decimal(inp), Decimal(out))


def all_examples() -> list[Example]:
    return [
        email_triage(),
        document_intake(),
        content_pipeline(),
        model_fallback(),
        parallel_research(),
        order_routing(),
    ]


def by_slug(slug: str) -> Example | None:
    return next((example for example in all_examples() if example.slug == slug), None)


def seed_examples(workspace: Any, user: Any) -> int:
    """Create the examples missing from a workspace; returns how many were created."""
    from builder.models import Workflow
    from builder.services import create_version, validate

    ensure_demo_credential(workspace, user)
    created = 0
    for example in all_examples():
        workflow = Workflow.objects.alive().filter(workspace=workspace, name=example.name).first()
        if workflow is None:
            workflow = Workflow.objects.create(
                workspace=workspace,
                name=example.name,
                description=example.description,
                graph=example.graph,
                created_by=user,
                updated_by=user,
            )
            created += 1
        if workflow.published_version_id is None and validate(workflow.graph).valid:
            create_version(user, workflow, note="Example")
    return created
