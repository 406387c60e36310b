from django.urls import path

from approvals import views

app_name = "approvals"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/count/", views.count, name="count"),
    path("inbox/<uuid:pk>/", views.task_detail, name="task"),
    path("inbox/<uuid:pk>/decide/", views.decide, name="decide"),
]
