from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

import config.schema  # noqa: F401  (registers OpenAPI extensions)

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("builder.api.urls")),
    path("", include("runtime.api.urls")),
    path("", include("integrations.api.urls")),
    path("", include("approvals.api.urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("django-admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("", include("runtime.urls")),
    path("", include("triggers.urls")),
    path("", include("integrations.urls")),
    path("", include("approvals.urls")),
    path("", include("builder.urls")),
]

handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
