from django.contrib import admin
from django.urls import include, path

from finops.api import api

admin.site.site_header = "Bedrock FinOps administration"
admin.site.site_title = "Bedrock FinOps"

urlpatterns = [
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("connections/", include("connections.urls")),
    path("support/", include("connections.support_urls")),
    path("", include("finops.dashboards.urls")),
]
