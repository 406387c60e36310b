from django.urls import path

from builder import views

app_name = "builder"

urlpatterns = [
    path("", views.home, name="home"),
    path("workflows/new/", views.new_workflow, name="new"),
    path("workflows/templates/", views.template_gallery, name="templates"),
    path("workflows/templates/<slug:slug>/", views.new_from_template, name="from-template"),
    path("workflows/<uuid:pk>/", views.editor, name="editor"),
]
