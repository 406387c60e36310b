"""Data nodes: shape JSON (``data.transform``) and check it (``data.validate``).

This module also holds the helpers the other node modules share:
:func:`json_schema_problem` (is this a usable schema?),
:func:`schema_errors` (why does this value not match it?) and
:func:`invalid` (a config validation error without pydantic's prefix).
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator, SchemaError, ValidationError, validators
from pydantic import ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from referencing.exceptions import Unresolvable

from builder.nodes.base import NodeConfig, NodeContext, NodeError, NodeType, Result
from builder.nodes.registry import registry

#: At most this many messages are reported for one invalid value.
MAX_SCHEMA_ERRORS = 50


def invalid(message: str) -> PydanticCustomError:
    """The error a config validator raises. Unlike a ``ValueError`` its
    message is shown as written ("must be ..."), without a "Value error, "
    prefix, so the graph validator can say "config.cron must be ..."."""
    return PydanticCustomError("invalid_config", message)


def _validator_class(schema: dict[str, Any]) -> Any:
    """Draft 2020-12 unless the schema names another draft in ``$schema``."""
    return validators.validator_for(schema, default=Draft202012Validator)


def json_schema_problem(schema: Any) -> str | None:
    """Why ``schema`` is not a valid JSON Schema, or None if it is."""
    if not isinstance(schema, dict):
        return "must be a JSON Schema object"
    try:
        _validator_class(schema).check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path)
        return f"is not a valid JSON Schema: {exc.message}" + (f" (at {where})" if where else "")
    return None


def check_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic validator body: refuse a schema that is not a JSON Schema."""
    problem = json_schema_problem(schema)
    if problem:
        raise invalid(problem)
    return schema


def schema_errors(schema: dict[str, Any], value: Any) -> list[str]:
    """Every way ``value`` breaks ``schema``, each as ``"<JSON path>: <message>"``
    (``$`` is the value itself), sorted by path. Formats are not checked: a
    schema's ``"format": "email"`` is an annotation, as the 2020-12 draft says.

    Remote ``$ref`` targets are never fetched; a reference that cannot be
    resolved inside the schema raises :class:`NodeError`.
    """
    validator = _validator_class(schema)(schema)
    try:
        errors = sorted(validator.iter_errors(value), key=_by_path)
    except Unresolvable as exc:
        raise NodeError(
            f"The schema has a $ref that cannot be resolved: {exc}", type="SchemaError"
        ) from None
    return [f"{error.json_path}: {error.message}" for error in errors[:MAX_SCHEMA_ERRORS]]


def _by_path(error: ValidationError) -> tuple[list[tuple[int, int, str]], str]:
    """Sort key: by location, list indexes in numeric order, then message."""
    where = [
        (1, 0, part) if isinstance(part, str) else (0, part, "") for part in error.absolute_path
    ]
    return where, error.message


# -- data.transform -----------------------------------------------------------


class TransformConfig(NodeConfig):
    output: Any = Field(
        default_factory=dict,
        title="Output",
        description=(
            "The JSON this step produces. Any string may hold templates such as "
            "{{ trigger.name }}; a string that is exactly one {{ ... }} keeps the value's type."
        ),
    )


@registry.register
class Transform(NodeType):
    key = "data.transform"
    category = "data"
    pure = True
    label = "Transform data"
    description = (
        "Build a new piece of data from earlier steps, for example to rename or combine fields."
    )
    Config = TransformConfig
    output_schema = {
        "description": "The rendered Output value: its shape is the one you write in the config.",
        "properties": {},
    }

    def run(self, ctx: NodeContext, config: TransformConfig, input: Any) -> Result:
        # The engine has already rendered every template in the config.
        return Result(config.output)


# -- data.validate ------------------------------------------------------------


class ValidateConfig(NodeConfig):
    # ``schema`` would shadow pydantic's BaseModel.schema, so the attribute is
    # ``json_schema`` and the config key (its alias) stays ``schema``.
    model_config = ConfigDict(
        validate_by_alias=True, validate_by_name=True, serialize_by_alias=True
    )

    value: Any = Field(
        title="Value",
        description="The data to check, usually a template such as {{ input }} or {{ trigger.order }}.",
    )
    json_schema: dict[str, Any] = Field(
        alias="schema",
        title="Schema",
        description=(
            "A JSON Schema (draft 2020-12 unless it says otherwise in $schema) the value must match, "
            'e.g. {"type": "object", "required": ["email"]}.'
        ),
    )

    @field_validator("json_schema")
    @classmethod
    def _is_json_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        return check_json_schema(schema)


@registry.register
class Validate(NodeType):
    key = "data.validate"
    category = "data"
    pure = True
    label = "Validate data"
    description = "Check that data has the expected shape, and route valid and invalid data to different paths."
    Config = ValidateConfig
    ports = ("valid", "invalid")
    output_schema = {
        "description": (
            "On the valid port: the value itself. On the invalid port: "
            "an object with the value and the list of problems."
        ),
        "properties": {
            "value": {"description": "The value that was checked (invalid port only)."},
            "errors": {
                "type": "array",
                "items": {"type": "string"},
                "description": 'Each problem as "<path>: <message>", e.g. "$.email: \'email\' is a required property" (invalid port only).',
            },
        },
    }

    def run(self, ctx: NodeContext, config: ValidateConfig, input: Any) -> Result:
        errors = schema_errors(config.json_schema, config.value)
        if errors:
            return Result({"value": config.value, "errors": errors}, port="invalid")
        return Result(config.value, port="valid")
