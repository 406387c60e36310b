from django.urls import path

from integrations.api import views

urlpatterns = [
    path("credentials/", views.CredentialListCreateView.as_view(), name="credential-list"),
    path(
        "credentials/choices/", views.CredentialChoiceListView.as_view(), name="credential-choices"
    ),
    path("credentials/<int:pk>/", views.CredentialDetailView.as_view(), name="credential-detail"),
]
