"""Forms of the account pages. Validation of roles and rights stays in services."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.utils import timezone

from accounts.models import Role, Workspace

ROLE_CHOICES = [(role.value, role.label) for role in Role]
TOKEN_EXPIRY_CHOICES = [
    ("", "Never"),
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
]


class RolesField(forms.MultipleChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple, **kwargs)


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150, label="Username of an existing account")
    roles = RolesField()


class MemberRolesForm(forms.Form):
    roles = RolesField(error_messages={"required": "Give at least one role, or remove the member."})


class InviteForm(forms.Form):
    email = forms.EmailField(required=False, help_text="Optional: we e-mail the link there.")
    roles = RolesField()
    days = forms.IntegerField(min_value=1, max_value=30, initial=7, label="Link valid for (days)")


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, initial="API token")
    expires = forms.ChoiceField(choices=TOKEN_EXPIRY_CHOICES, required=False, label="Expires")

    def expires_at(self):
        days = self.cleaned_data.get("expires")
        return timezone.now() + timedelta(days=int(days)) if days else None


class WorkspaceSettingsForm(forms.ModelForm):
    class Meta:
        model = Workspace
        fields = ["name", "require_publish_review"]
        labels = {"require_publish_review": "Require review before publishing"}


class OutboundAllowForm(forms.Form):
    """The allow-list as one entry a line; the service validates the entries."""

    entries = forms.CharField(
        required=False, max_length=30_000, strip=False, widget=forms.Textarea(attrs={"rows": 6})
    )

    def entry_lines(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["entries"].splitlines() if line.strip()]


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150)
    action = forms.CharField(required=False, max_length=64)
    since = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From"
    )
    until = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="To"
    )


class SignUpForm(forms.Form):
    username = forms.RegexField(regex=r"^[\w.@+-]{1,150}$", max_length=150)
    email = forms.EmailField(required=False)
    password1 = forms.CharField(widget=forms.PasswordInput, label="Password", strip=False)
    password2 = forms.CharField(
        widget=forms.PasswordInput, label="Repeat the password", strip=False
    )

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        elif data.get("password1"):
            try:
                validate_password(data["password1"])
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    comment = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )
