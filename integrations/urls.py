from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("credentials/", views.credential_list, name="credentials"),
    path("credentials/new/", views.credential_new, name="credential-new"),
    path("credentials/<int:pk>/", views.credential_edit, name="credential-edit"),
    path("credentials/<int:pk>/toggle/", views.credential_toggle, name="credential-toggle"),
    path("credentials/<int:pk>/delete/", views.credential_delete, name="credential-delete"),
    path("credentials/prices/", views.prices, name="prices"),
    path("credentials/prices/delete/", views.price_delete, name="price-delete"),
]
