"""The reviewer's form, generated from the step's ``fields`` JSON Schema.

Each property becomes one control: ``enum`` a select, ``boolean`` a
checkbox, ``integer``/``number`` a number input, a long string (``maxLength``
over 200, ``format: textarea``, or a value with a line break or over 80
characters) a textarea, any other string a text input, and objects or
arrays a JSON textarea. Controls are prefilled with the task's current
values (the rendered defaults, e.g. the LLM's draft, plus earlier edits).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PREFIX = "field__"
LONG_TEXT = 80


@dataclass
class FieldSpec:
    name: str
    label: str
    kind: str  # text, textarea, number, integer, boolean, enum, json
    value: Any
    help: str = ""
    required: bool = False
    choices: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""

    @property
    def input_name(self) -> str:
        return PREFIX + self.name

    @property
    def input_id(self) -> str:
        return "f-" + self.name

    @property
    def text(self) -> str:
        """The value as the control shows it."""
        if self.kind == "json":
            return (
                json.dumps(self.value, indent=2, ensure_ascii=False)
                if self.value is not None
                else ""
            )
        if self.kind == "enum":
            return json.dumps(self.value)
        return "" if self.value is None else str(self.value)


def _properties(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    return properties if isinstance(properties, Mapping) else {}


def _kind(spec: Mapping[str, Any], value: Any) -> str:
    if "enum" in spec:
        return "enum"
    kind = spec.get("type")
    if kind in ("boolean", "integer", "number"):
        return str(kind)
    if kind == "string" or (kind is None and isinstance(value, str)):
        long = (
            spec.get("format") == "textarea"
            or int(spec.get("maxLength") or 0) > 200
            or (isinstance(value, str) and ("\n" in value or len(value) > LONG_TEXT))
        )
        return "textarea" if long else "text"
    return "json"


def field_specs(schema: Mapping[str, Any], values: Mapping[str, Any]) -> list[FieldSpec]:
    required = set(schema.get("required") or []) if isinstance(schema, Mapping) else set()
    specs = []
    for name, spec in _properties(schema).items():
        spec = spec if isinstance(spec, Mapping) else {}
        value = values.get(name, spec.get("default"))
        kind = _kind(spec, value)
        specs.append(
            FieldSpec(
                name=name,
                label=str(spec.get("title") or name.replace("_", " ").capitalize()),
                kind=kind,
                value=value,
                help=str(spec.get("description") or ""),
                required=name in required,
                choices=[(json.dumps(option), str(option)) for option in spec.get("enum") or []],
            )
        )
    return specs


def read_form(
    schema: Mapping[str, Any], post: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The submitted values, typed by the schema, and per-field errors."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in field_specs(schema, {}):
        raw = post.get(spec.input_name)
        try:
            parsed = _parse(spec, raw)
        except ValueError as exc:
            errors[spec.name] = str(exc)
            continue
        if parsed is not _SKIP:
            values[spec.name] = parsed
    return values, errors


_SKIP = object()


def _parse(spec: FieldSpec, raw: Any) -> Any:
    if spec.kind == "boolean":
        return raw is not None
    if raw is None:
        return _SKIP
    raw = str(raw)
    if spec.kind in ("number", "integer"):
        return _number(raw.strip(), spec.kind)
    if spec.kind == "enum":
        allowed = {text: json.loads(text) for text, _label in spec.choices}
        if raw not in allowed:
            raise ValueError("Choose one of the options.")
        return allowed[raw]
    if spec.kind == "json":
        try:
            return json.loads(raw) if raw.strip() else None
        except json.JSONDecodeError as exc:
            raise ValueError(f"Not valid JSON: {exc.msg}.") from None
    return raw.replace("\r\n", "\n")


def _number(raw: str, kind: str) -> Any:
    if not raw:
        return _SKIP
    try:
        number = float(raw)
    except ValueError:
        raise ValueError("Enter a number.") from None
    if kind == "integer":
        if not number.is_integer():
            raise ValueError("Enter a whole number.")
        return int(number)
    return int(number) if number.is_integer() and "." not in raw else number
