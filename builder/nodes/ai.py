"""AI nodes: ask a model (``ai.llm``), classify (``ai.classify``), extract
structured data (``ai.extract``), and score sentiment locally
(``ai.sentiment``).

The model nodes name a credential by id or name, and may list fallbacks;
:mod:`integrations.llm` resolves the credentials inside the run's workspace,
calls the provider, retries, falls back and counts tokens and cost. Node code
never sees a secret. Usage and cost are returned on the :class:`Result`, so
the runtime records them on the step and checks the workflow's budget.

``integrations`` is imported inside functions: the catalog is loaded while
Django starts, before models may be imported, and the provider SDKs are
slow to import.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from typing import Any, Literal

from jsonschema import SchemaError, validators
from jsonschema.validators import Draft202012Validator
from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from builder.nodes.base import NodeConfig, NodeContext, NodeType, Result
from builder.nodes.registry import registry

CredentialRef = int | str
PORT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_ .-]{0,63}$")
MAX_SCHEMA_ERRORS = 5
USAGE_SCHEMA = {
    "type": "object",
    "properties": {"input_tokens": {"type": "integer"}, "output_tokens": {"type": "integer"}},
}


def _invalid(message: str) -> PydanticCustomError:
    return PydanticCustomError("invalid_config", message)


def _schema_validator(schema: Mapping[str, Any]) -> Any:
    return validators.validator_for(schema, default=Draft202012Validator)(schema)


def _check_schema(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    if schema is None:
        return None
    try:
        validators.validator_for(schema, default=Draft202012Validator).check_schema(schema)
    except SchemaError as exc:
        raise _invalid(f"is not a valid JSON Schema: {exc.message}") from None
    return schema


# -- config shared by the model nodes ------------------------------------------

_MODEL_HELP = "e.g. gpt-4o-mini; empty: the credential's default_model."


class Fallback(NodeConfig):
    credential: CredentialRef = Field(title="Credential", description="Id or name.")
    model: str = Field(default="", max_length=120, title="Model", description=_MODEL_HELP)


class ModelConfig(NodeConfig):
    credential: CredentialRef = Field(
        title="Credential",
        description="The model provider's credential, by id or name (Credentials page).",
    )
    model: str = Field(default="", max_length=120, title="Model", description=_MODEL_HELP)
    fallbacks: list[Fallback] = Field(
        default_factory=list,
        max_length=5,
        title="Fallbacks",
        description="Tried in order when the model fails, times out, is rate-limited or its credential is disabled.",
    )
    request_timeout_s: float = Field(
        default=60, gt=0, le=600, title="Request timeout (s)", description="Per provider call."
    )

    def targets(self) -> list[Any]:
        from integrations.llm import Target

        first = Target(self.credential, self.model)
        return [first, *(Target(f.credential, f.model) for f in self.fallbacks)]


def _complete(ctx: NodeContext, config: ModelConfig, request: Any, validate: Any = None) -> Any:
    from integrations.llm import complete

    return complete(ctx.workspace_id, config.targets(), request, validate)


def _chat_request(config: ModelConfig, **fields: Any) -> Any:
    """The request; its model is set per target (fallbacks ask their own)."""
    from integrations.providers import ChatRequest

    return ChatRequest(model=config.model, timeout=config.request_timeout_s, **fields)


def _spend(completion: Any) -> dict[str, Any]:
    tally = completion.tally
    return {"usage": tally.usage.as_dict(), "cost_usd": tally.cost_usd}


def _result(output: Any, completion: Any, port: str = "out") -> Result:
    tally = completion.tally
    return Result(output, port=port, usage=tally.usage, cost_usd=tally.cost_usd)


# -- JSON answers ----------------------------------------------------------------

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def parse_json_answer(text: str) -> Any:
    """The JSON value in a model's answer: the whole text, the inside of a
    code fence, or the outermost ``{...}``. Raises InvalidOutput."""
    from integrations.llm import InvalidOutput

    fenced = _FENCE.match(text)
    candidates = [text, fenced.group(1) if fenced else None]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        if candidate is None:
            continue
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise InvalidOutput("it is not valid JSON.")


def json_validator(schema: Mapping[str, Any] | None, *, require_object: bool = False) -> Any:
    from integrations.llm import InvalidOutput

    def validate(text: str) -> Any:
        value = parse_json_answer(text)
        if require_object and not isinstance(value, dict):
            raise InvalidOutput("it is not a JSON object.")
        if schema:
            errors = sorted(_schema_validator(schema).iter_errors(value), key=lambda e: e.json_path)
            if errors:
                problems = "; ".join(
                    f"{e.json_path}: {e.message}" for e in errors[:MAX_SCHEMA_ERRORS]
                )
                raise InvalidOutput(f"it does not match the JSON Schema ({problems}).")
        return value

    return validate


# -- ai.llm -----------------------------------------------------------------------


class LLMConfig(ModelConfig):
    system: str = Field(
        default="",
        max_length=100_000,
        title="System",
        description="Instructions; may hold templates.",
    )
    prompt: str = Field(
        min_length=1, max_length=200_000, title="Prompt", description="May hold templates."
    )
    temperature: float | None = Field(default=None, ge=0, le=2, title="Temperature")
    max_tokens: int | None = Field(default=None, ge=1, le=200_000, title="Max tokens")
    response_format: Literal["text", "json"] = Field(default="text", title="Response format")
    json_schema: dict[str, Any] | None = Field(
        default=None,
        title="JSON Schema",
        description="With response_format json: the answer must match it (one repair attempt).",
    )

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        return _check_schema(schema)


@registry.register
class LLM(NodeType):
    key = "ai.llm"
    category = "ai"
    label = "LLM"
    description = (
        "Ask a language model (OpenAI, Anthropic, any OpenAI-compatible server), with fallbacks."
    )
    Config = LLMConfig
    raw_fields = ("json_schema",)  # a schema is a fixed document, never a template
    side_effects = True
    output_schema = {
        "type": "object",
        "properties": {
            "text": {"type": "string"},
            "json": {"description": "The parsed answer when response_format is json, else null."},
            "model": {"type": "string"},
            "credential": {
                "description": "The credential (id or name as configured) that answered."
            },
            "usage": USAGE_SCHEMA,
            "cost_usd": {"type": ["number", "null"]},
        },
    }

    def run(self, ctx: NodeContext, config: LLMConfig, input: Any) -> Result:
        json_mode = config.response_format == "json"
        request = _chat_request(
            config,
            prompt=config.prompt,
            system=config.system,
            temperature=config.temperature,
            max_tokens=config.max_tokens,
            json_mode=json_mode,
        )
        validate = json_validator(config.json_schema) if json_mode else None
        completion = _complete(ctx, config, request, validate)
        output = {
            "text": completion.text,
            "json": completion.value if json_mode else None,
            "model": completion.model,
            "credential": completion.target.credential,
            **_spend(completion),
        }
        return _result(output, completion)


# -- ai.classify ------------------------------------------------------------------


class Category(NodeConfig):
    name: str = Field(
        min_length=1, max_length=64, title="Name", description="Also the name of its output path."
    )
    description: str = Field(default="", max_length=2000, title="Description")


class ClassifyConfig(ModelConfig):
    text: str = Field(
        min_length=1, max_length=200_000, title="Text", description="May hold templates."
    )
    categories: list[Category] = Field(min_length=2, max_length=50, title="Categories")
    instructions: str = Field(default="", max_length=20_000, title="Extra instructions")

    @field_validator("categories")
    @classmethod
    def _port_names(cls, categories: list[Category]) -> list[Category]:
        seen: set[str] = set()
        for category in categories:
            if not PORT_NAME.match(category.name) or category.name == "error":
                raise _invalid(
                    f"{category.name!r} cannot name a path (letters, digits, _ . - and spaces; not 'error')"
                )
            if category.name.lower() in seen:
                raise _invalid(f"{category.name!r} is listed twice")
            seen.add(category.name.lower())
        return categories


def _classify_system(config: ClassifyConfig) -> str:
    lines = [
        f"- {c.name}" + (f": {c.description}" if c.description else "") for c in config.categories
    ]
    return "\n".join(
        [
            "Classify the user's text into exactly one of these categories:",
            *lines,
            'Answer with JSON only: {"category": "<one of the names above>", "confidence": <0 to 1>}.',
            config.instructions,
        ]
    ).strip()


def category_validator(names: list[str]) -> Any:
    from integrations.llm import InvalidOutput

    by_lower = {name.lower(): name for name in names}

    def validate(text: str) -> dict[str, Any]:
        plain = text.strip().strip('."').lower()
        if plain in by_lower:  # a bare category name is a clear answer too
            return {"category": by_lower[plain], "confidence": None}
        answer = parse_json_answer(text)
        chosen = str(answer.get("category", "")).strip().lower() if isinstance(answer, dict) else ""
        if chosen not in by_lower:
            raise InvalidOutput(f"the category must be one of {', '.join(names)}.")
        return {"category": by_lower[chosen], "confidence": _confidence(answer.get("confidence"))}

    return validate


def _confidence(value: Any) -> float | None:
    try:
        return min(max(float(value), 0.0), 1.0)
    except (TypeError, ValueError):
        return None


@registry.register
class Classify(NodeType):
    key = "ai.classify"
    category = "ai"
    label = "Classify"
    description = "Let a model put text into one of your categories; each category is its own path."
    Config = ClassifyConfig
    ports = ()
    raw_fields = ("categories",)  # category names are port names: never rendered
    side_effects = True
    output_schema = {
        "type": "object",
        "properties": {
            "category": {"type": "string"},
            "confidence": {"type": ["number", "null"]},
            "usage": USAGE_SCHEMA,
            "cost_usd": {"type": ["number", "null"]},
        },
    }

    def ports_for(self, config: Mapping[str, Any]) -> list[str]:
        categories = config.get("categories") if isinstance(config, Mapping) else None
        if not isinstance(categories, list):
            return []
        names = [c.get("name") for c in categories if isinstance(c, Mapping)]
        return list(dict.fromkeys(name for name in names if isinstance(name, str) and name))

    def run(self, ctx: NodeContext, config: ClassifyConfig, input: Any) -> Result:
        names = [c.name for c in config.categories]
        request = _chat_request(
            config,
            prompt=config.text,
            system=_classify_system(config),
            json_mode=True,
        )
        completion = _complete(ctx, config, request, category_validator(names))
        output = {**completion.value, **_spend(completion)}
        return _result(output, completion, port=completion.value["category"])


# -- ai.extract -------------------------------------------------------------------


class ExtractConfig(ModelConfig):
    text: str = Field(
        min_length=1, max_length=200_000, title="Text", description="May hold templates."
    )
    schema_: dict[str, Any] = Field(
        alias="schema",
        title="JSON Schema",
        description="The object to extract; the answer must match it.",
    )
    instructions: str = Field(default="", max_length=20_000, title="Extra instructions")

    model_config = {**ModelConfig.model_config, "populate_by_name": True}

    @field_validator("schema_")
    @classmethod
    def _valid_schema(cls, schema: dict[str, Any]) -> dict[str, Any] | None:
        return _check_schema(schema)


def _extract_system(config: ExtractConfig) -> str:
    return "\n".join(
        [
            "Extract information from the user's text as one JSON object that is valid against this JSON Schema:",
            json.dumps(config.schema_),
            "Use null for what the text does not say, if the schema allows it. Answer with the JSON object only.",
            config.instructions,
        ]
    ).strip()


@registry.register
class Extract(NodeType):
    key = "ai.extract"
    category = "ai"
    label = "Extract"
    description = (
        "Let a model turn text into an object that matches your JSON Schema, or fail clearly."
    )
    Config = ExtractConfig
    raw_fields = ("schema",)
    side_effects = True
    output_schema = {"description": "An object valid against the configured schema."}

    def run(self, ctx: NodeContext, config: ExtractConfig, input: Any) -> Result:
        request = _chat_request(
            config,
            prompt=config.text,
            system=_extract_system(config),
            json_mode=True,
        )
        validate = json_validator(config.schema_, require_object=True)
        completion = _complete(ctx, config, request, validate)
        return _result(completion.value, completion)


# -- ai.sentiment -----------------------------------------------------------------

POSITIVE_FROM, NEGATIVE_FROM = 0.05, -0.05  # VADER's own thresholds on the compound score


class SentimentConfig(NodeConfig):
    text: str = Field(max_length=200_000, title="Text", description="May hold templates.")


@cache
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment_of(text: str) -> dict[str, Any]:
    scores = _analyzer().polarity_scores(text or "")
    compound = round(scores["compound"], 4)
    label = (
        "positive"
        if compound >= POSITIVE_FROM
        else "negative"
        if compound <= NEGATIVE_FROM
        else "neutral"
    )
    return {
        "label": label,
        "score": compound,
        "scores": {"positive": scores["pos"], "neutral": scores["neu"], "negative": scores["neg"]},
    }


@registry.register
class Sentiment(NodeType):
    key = "ai.sentiment"
    category = "ai"
    label = "Sentiment"
    description = (
        "Score text as positive, neutral or negative, locally (VADER): no model call, no cost."
    )
    Config = SentimentConfig
    output_schema = {
        "type": "object",
        "properties": {
            "label": {"enum": ["positive", "neutral", "negative"]},
            "score": {"type": "number", "minimum": -1, "maximum": 1},
            "scores": {"type": "object"},
        },
    }

    def run(self, ctx: NodeContext, config: SentimentConfig, input: Any) -> Result:
        return Result(sentiment_of(config.text))
