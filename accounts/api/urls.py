from django.urls import path

from accounts.api import invitations, members, outbound_allow, publish_requests, views

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("workspaces/", views.WorkspaceListView.as_view(), name="api-workspaces"),
    path("workspaces/<slug:slug>/members/", members.MemberListView.as_view(), name="api-members"),
    path(
        "workspaces/<slug:slug>/members/<int:user_id>/",
        members.MemberDetailView.as_view(),
        name="api-member",
    ),
    path(
        "workspaces/<slug:slug>/invitations/",
        invitations.InvitationListView.as_view(),
        name="api-invitations",
    ),
    path(
        "workspaces/<slug:slug>/invitations/<int:pk>/",
        invitations.InvitationDetailView.as_view(),
        name="api-invitation",
    ),
    path(
        "workspaces/<slug:slug>/outbound-allow-list/",
        outbound_allow.OutboundAllowView.as_view(),
        name="api-outbound-allow",
    ),
    path(
        "publish-requests/",
        publish_requests.PublishRequestListView.as_view(),
        name="api-publish-requests",
    ),
    path(
        "publish-requests/<int:pk>/",
        publish_requests.PublishRequestDetailView.as_view(),
        name="api-publish-request",
    ),
    path(
        "publish-requests/<int:pk>/decision/",
        publish_requests.PublishRequestDecisionView.as_view(),
        name="api-publish-request-decision",
    ),
]
