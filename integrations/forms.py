"""Page forms: a credential (secret write-only) and a price-table row."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from integrations.models import CredentialKind


class JSONObjectField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 12, "spellcheck": "false"})

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, dict):
            return json.dumps(value, indent=2)
        return value or ""

    def to_python(self, value: Any) -> dict[str, Any]:
        text = (value or "").strip()
        if not text:
            return {}
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from None
        if not isinstance(parsed, dict):
            raise forms.ValidationError("Must be a JSON object, like {}.")
        return parsed


class CredentialForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=CredentialKind.choices)
    config = JSONObjectField(required=False, label="Settings (JSON)")
    secret = forms.CharField(
        required=False,
        max_length=10_000,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
        help_text="Write-only: it is encrypted and never shown again.",
    )
    clear_secret = forms.BooleanField(required=False, label="Remove the stored secret")

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["secret"].help_text = "Leave empty to keep the stored secret."
        else:
            del self.fields["clear_secret"]


class PriceForm(forms.Form):
    model = forms.CharField(max_length=120, help_text="A model name, or a prefix of model names.")
    input_usd_per_mtok = forms.DecimalField(
        min_value=0, max_digits=12, decimal_places=4, label="Input USD / 1M tokens"
    )
    output_usd_per_mtok = forms.DecimalField(
        min_value=0, max_digits=12, decimal_places=4, label="Output USD / 1M tokens"
    )
