from django.urls import path

from builder import views

app_name = "builder"

urlpatterns = [
    path("", views.home, name="home"),
    path("workflows/new/", views.new_workflow, name="new"),
    path("workflows/<uuid:pk>/", views.editor, name="editor"),
]
