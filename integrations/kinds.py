"""What each credential kind keeps in its (non-secret) ``config``.

One pydantic model per kind; unknown keys are refused, so a secret pasted
into the wrong field of ``config`` is an error rather than stored in clear.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, model_validator

SECRET_LOOKING_KEYS = {"api_key", "apikey", "key", "password", "secret", "token"}


class KindConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChatKindConfig(KindConfig):
    default_model: str | None = Field(
        None,
        max_length=120,
        description="The model AI nodes use when they name none.",
    )
    models: dict[str, str] = Field(
        default_factory=dict,
        description='Model names to translate, e.g. {"demo-model": "gpt-4o-mini"}: nodes keep '
        "their model names and the credential decides what each means at this provider, so "
        "switching workflows to another provider is an edit of one credential.",
    )


class OpenAIConfig(ChatKindConfig):
    base_url: HttpUrl | None = Field(
        None, description="For OpenAI-compatible servers: Ollama, vLLM, LM Studio, Azure OpenAI."
    )
    organization: str | None = None


class AnthropicConfig(ChatKindConfig):
    base_url: HttpUrl | None = None


class HttpAuthConfig(KindConfig):
    auth: Literal["bearer", "header", "basic"] = "bearer"
    header_name: str | None = Field(
        None, description="The header that carries the secret (auth: header)."
    )
    username: str | None = Field(
        None, description="The user name (auth: basic); the secret is the password."
    )

    @model_validator(mode="after")
    def _needs_its_field(self) -> HttpAuthConfig:
        if self.auth == "header" and not self.header_name:
            raise ValueError("header_name is required when auth is header")
        if self.auth == "basic" and not self.username:
            raise ValueError("username is required when auth is basic")
        return self


class SmtpConfig(KindConfig):
    host: str
    port: int = Field(587, ge=1, le=65535)
    username: str | None = None
    use_tls: bool = True
    from_email: str | None = None


class ScriptedReply(KindConfig):
    match: str | None = None
    text: str | None = None
    json_value: Any = Field(None, alias="json")
    error: Literal["rate_limit", "timeout", "server", "rejected"] | None = None
    retry_after: float | None = Field(None, ge=0)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ScriptedConfig(ChatKindConfig):
    replies: list[ScriptedReply] = Field(default_factory=list)
    default: str | None = None


KIND_CONFIGS: dict[str, type[KindConfig]] = {
    "openai": OpenAIConfig,
    "anthropic": AnthropicConfig,
    "http": HttpAuthConfig,
    "smtp": SmtpConfig,
    "scripted": ScriptedConfig,
}


def config_errors(kind: str, config: Any) -> list[tuple[str, str]]:
    """(field, message) pairs; empty when ``config`` suits ``kind``."""
    model = KIND_CONFIGS.get(kind)
    if model is None:
        return [("kind", f"Unknown kind {kind!r}.")]
    if not isinstance(config, dict):
        return [("config", "Must be an object.")]
    leaked = sorted(SECRET_LOOKING_KEYS & {str(key).lower() for key in config})
    if leaked:
        return [
            (f"config.{leaked[0]}", "Secrets go in the write-only secret field, not in config.")
        ]
    try:
        model.model_validate(config)
    except ValidationError as exc:
        return [
            (".".join(["config", *(str(p) for p in err["loc"])]), err["msg"])
            for err in exc.errors()
        ]
    return []
