"""Django's password views, with our templates and an audit event on success."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy

from accounts import audit


class AuditedPasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change_form.html"
    success_url = reverse_lazy("accounts:password-change-done")

    def form_valid(self, form: Any) -> Any:
        response = super().form_valid(form)
        audit.record_for_user(self.request.user, self.request.user, "auth.password_changed")
        return response


class AuditedPasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password-reset-complete")

    def form_valid(self, form: Any) -> Any:
        response = super().form_valid(form)
        audit.record_for_user(None, form.user, "auth.password_reset")
        return response
