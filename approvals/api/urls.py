from django.urls import path

from approvals.api import views

urlpatterns = [
    path("approvals/", views.ApprovalListView.as_view(), name="api-approvals"),
    path("approvals/<uuid:pk>/", views.ApprovalDetailView.as_view(), name="api-approval"),
    path(
        "approvals/<uuid:pk>/decision/",
        views.ApprovalDecisionView.as_view(),
        name="api-approval-decision",
    ),
]
