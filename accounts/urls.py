from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts import views
from accounts.auth_views import AuditedPasswordChangeView, AuditedPasswordResetConfirmView

app_name = "accounts"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="accounts/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("workspace/<slug:slug>/switch/", views.switch_workspace, name="switch-workspace"),
    # Password change and reset: Django's views with our templates.
    path("password/change/", AuditedPasswordChangeView.as_view(), name="password-change"),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name="accounts/password_change_done.html"
        ),
        name="password-change-done",
    ),
    path(
        "password/reset/",
        auth_views.PasswordResetView.as_view(
            template_name="accounts/password_reset_form.html",
            email_template_name="accounts/password_reset_email.txt",
            subject_template_name="accounts/password_reset_subject.txt",
            success_url=reverse_lazy("accounts:password-reset-done"),
        ),
        name="password-reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password-reset-done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        AuditedPasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_complete.html"
        ),
        name="password-reset-complete",
    ),
    # Profile and personal API tokens.
    path("profile/", views.profile, name="profile"),
    path("tokens/", views.token_create, name="token-create"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    # Members, roles and invitations of the current workspace (admin).
    path("members/", views.members, name="members"),
    path("members/add/", views.member_add, name="member-add"),
    path("members/<int:user_id>/roles/", views.member_update, name="member-update"),
    path("members/<int:user_id>/remove/", views.member_remove, name="member-remove"),
    path("invitations/", views.invite, name="invite"),
    path("invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation-revoke"),
    path("invite/<str:token>/", views.invitation_accept, name="invitation-accept"),
    # Workspace settings, publish review, audit log.
    path("settings/", views.workspace_settings, name="settings"),
    path("settings/outbound-allow/", views.outbound_allow, name="outbound-allow"),
    path("publish-requests/", views.publish_requests, name="publish-requests"),
    path(
        "publish-requests/<int:pk>/decide/",
        views.publish_request_decide,
        name="publish-request-decide",
    ),
    path("audit/", views.audit_log, name="audit"),
    path("audit/export/", views.audit_export, name="audit-export"),
]
