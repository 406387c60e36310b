from django.urls import path

from runtime.api import views

urlpatterns = [
    path("workflows/<uuid:pk>/runs/", views.WorkflowRunsView.as_view(), name="api-workflow-runs"),
    path("runs/", views.RunListView.as_view(), name="api-runs"),
    path("runs/<uuid:pk>/", views.RunDetailView.as_view(), name="api-run"),
    path("runs/<uuid:pk>/cancel/", views.RunCancelView.as_view(), name="api-run-cancel"),
    path("runs/<uuid:pk>/rerun/", views.RunRerunView.as_view(), name="api-run-rerun"),
    path("runs/<uuid:pk>/events/", views.RunEventsView.as_view(), name="api-run-events"),
]
