from django.urls import path

from integrations.api import views

urlpatterns = [
    path("credentials/", views.CredentialListCreateView.as_view(), name="credential-list"),
    path("credentials/<int:pk>/", views.CredentialDetailView.as_view(), name="credential-detail"),
]
