from __future__ import annotations

from django.urls import path

from triggers import views

app_name = "triggers"

urlpatterns = [
    path("hooks/<str:hook_id>/", views.hook, name="hook"),
]
