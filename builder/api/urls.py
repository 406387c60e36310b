from django.urls import path

from builder.api import views

urlpatterns = [
    path("node-types/", views.NodeTypeListView.as_view(), name="api-node-types"),
    path("workflows/", views.WorkflowListCreateView.as_view(), name="api-workflows"),
    path("workflows/<uuid:pk>/", views.WorkflowDetailView.as_view(), name="api-workflow"),
    path(
        "workflows/<uuid:pk>/validate/",
        views.WorkflowValidateView.as_view(),
        name="api-workflow-validate",
    ),
    path(
        "workflows/<uuid:pk>/publish/",
        views.WorkflowPublishView.as_view(),
        name="api-workflow-publish",
    ),
    path(
        "workflows/<uuid:pk>/versions/",
        views.VersionListView.as_view(),
        name="api-workflow-versions",
    ),
    path(
        "workflows/<uuid:pk>/versions/<int:number>/",
        views.VersionDetailView.as_view(),
        name="api-workflow-version",
    ),
]
