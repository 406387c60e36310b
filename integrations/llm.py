"""Ask a chat model, with fallbacks, inline retries, validation and one repair.

This is what AI nodes call (through :func:`complete`); it resolves each
target's credential in the node's workspace, so node code never sees a
secret or a model row.

Waiting policy (the runtime owns durable retries):

* a 5xx or a lost connection is retried once, inline, after half a second;
* a timeout moves straight on to the next fallback;
* a 429 moves on to the next fallback at once (the rate-limited provider is
  not called again before its Retry-After). On the last target, a
  Retry-After of at most :data:`MAX_INLINE_WAIT_S` seconds is slept inline
  and the call tried once more; a longer one ends the step with a retryable
  ``RateLimited`` NodeError whose ``retry_after`` tells the runtime the
  earliest time to retry;
* everything else (4xx, a disabled or unknown credential, output still
  invalid after the repair) moves on to the next fallback.

When every target fails, the error of the last one is raised, its message
listing what happened to each.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from builder.nodes.base import NodeError, Usage
from integrations import crypto, pricing, selectors
from integrations.providers import ChatReply, ChatRequest, ProviderError, provider_for

MAX_INLINE_WAIT_S = 3.0
SERVER_ERROR_WAIT_S = 0.5


class InvalidOutput(Exception):
    """Raised by a validator: the reply does not have the required shape."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


@dataclass(frozen=True)
class Target:
    credential: Any  # id or name
    model: str


@dataclass
class Tally:
    """Tokens and cost of every call made for one step, fallbacks and repairs included."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    calls: int = 0

    def add(self, workspace_id: Any, reply: ChatReply) -> None:
        self.calls += 1
        self.input_tokens += reply.usage.input_tokens
        self.output_tokens += reply.usage.output_tokens
        cost = pricing.cost_usd(workspace_id, reply.model, reply.usage)
        if cost is not None:
            self.cost_usd = round((self.cost_usd or 0.0) + cost, 8)

    @property
    def usage(self) -> Usage:
        return Usage(self.input_tokens, self.output_tokens)


@dataclass
class Completion:
    text: str
    value: Any  # what the validator returned (the text when there is none)
    model: str
    target: Target
    tally: Tally = field(default_factory=Tally)


Validator = Callable[[str], Any]


def complete(
    workspace_id: Any,
    targets: Sequence[Target],
    request: ChatRequest,
    validate: Validator | None = None,
) -> Completion:
    """The first target's answer that passes ``validate`` (after at most one
    repair), trying the targets in order."""
    tally = Tally()
    failures: list[tuple[Target, ProviderError | NodeError]] = []
    for index, target in enumerate(targets):
        is_last = index == len(targets) - 1
        try:
            return _complete_one(workspace_id, target, request, validate, tally, is_last)
        except NodeError as err:
            failures.append((target, err))
    error = _combined(failures)
    # Tokens spent before the failure (a repair that did not help, say) are
    # still spent: the runtime may record them on the failed step.
    error.usage, error.cost_usd = tally.usage, tally.cost_usd  # type: ignore[attr-defined]
    raise error


def _complete_one(
    workspace_id: Any,
    target: Target,
    request: ChatRequest,
    validate: Validator | None,
    tally: Tally,
    is_last: bool,
) -> Completion:
    provider, model = _provider(workspace_id, target)
    request = replace(request, model=model)
    reply = _call(provider, request, is_last)
    tally.add(workspace_id, reply)
    if validate is None:
        return Completion(reply.text, reply.text, reply.model, target, tally)
    try:
        return Completion(reply.text, validate(reply.text), reply.model, target, tally)
    except InvalidOutput as first:
        repaired = _call(provider, _repair_request(request, reply.text, first.problem), is_last)
        tally.add(workspace_id, repaired)
        try:
            value = validate(repaired.text)
        except InvalidOutput as second:
            raise NodeError(
                f"The answer of {model} was invalid, and still after one repair: {second.problem}",
                type="InvalidOutput",
            ) from None
        return Completion(repaired.text, value, repaired.model, target, tally)


def _provider(workspace_id: Any, target: Target) -> tuple[Any, str]:
    """The provider of the target's credential, and the model to ask: the
    target's, else the credential's ``default_model``, translated through the
    credential's ``models`` map."""
    credential = selectors.credential_for(workspace_id, target.credential)
    if credential.disabled:
        raise NodeError(f"Credential {credential.name!r} is disabled.", type="CredentialDisabled")
    model = target.model or str(credential.config.get("default_model") or "")
    model = str((credential.config.get("models") or {}).get(model) or model)
    if not model:
        raise NodeError(
            f"No model: name one on the node or set default_model on credential {credential.name!r}.",
            type="ModelMissing",
        )
    try:
        secret = crypto.decrypt(credential.secret_token)
    except crypto.SecretUnreadable as exc:
        raise NodeError(
            f"Credential {credential.name!r}: {exc}", type="CredentialUnreadable"
        ) from None
    return provider_for(credential.kind, secret, credential.config, workspace_id), model


def _call(provider: Any, request: ChatRequest, is_last: bool) -> ChatReply:
    try:
        return provider.chat(request)
    except ProviderError as err:
        wait = _inline_wait(err, is_last)
        if wait is None:
            raise
        time.sleep(wait)
    return provider.chat(request)


def _inline_wait(err: ProviderError, is_last: bool) -> float | None:
    if err.type == "RateLimited":
        wait = err.retry_after if err.retry_after is not None else 1.0
        return wait if is_last and wait <= MAX_INLINE_WAIT_S else None
    if err.type == "ProviderError" and err.retryable:
        return SERVER_ERROR_WAIT_S
    return None


def _repair_request(request: ChatRequest, bad_text: str, problem: str) -> ChatRequest:
    history = (
        *request.history,
        {"role": "user", "content": request.prompt},
        {"role": "assistant", "content": bad_text},
    )
    prompt = (
        f"Your answer was not usable: {problem}\n"
        "Answer again with the corrected JSON only: no prose, no code fence."
    )
    return replace(request, history=history, prompt=prompt)


def _combined(failures: list[tuple[Target, NodeError]]) -> NodeError:
    _, last = failures[-1]
    if len(failures) == 1:
        return last
    story = "; ".join(
        f"{t.credential} ({t.model or 'its default model'}): {err.message}" for t, err in failures
    )
    return ProviderError(
        f"Every provider failed: {story}",
        type=last.type,
        retryable=last.retryable,
        retry_after=getattr(last, "retry_after", None),
    )
