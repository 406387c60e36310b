from django.urls import path

from runtime import views

app_name = "runtime"

urlpatterns = [
    path("runs/", views.run_list, name="runs"),
    path("runs/<uuid:pk>/", views.run_detail, name="run"),
    path("runs/<uuid:pk>/cancel/", views.run_cancel, name="run-cancel"),
    path("runs/<uuid:pk>/rerun/", views.run_rerun, name="run-rerun"),
]
