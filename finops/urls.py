from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from finops.api import api

admin.site.site_header = "Bedrock FinOps administration"
admin.site.site_title = "Bedrock FinOps"

urlpatterns = [
    path("accounts/", include("django.contrib.auth.urls")),
    path("account/", include("connections.account_urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("connections/", include("connections.urls")),
    path("support/", include("connections.support_urls")),
    path("", include("finops.explorer.urls")),
    path("", include("finops.exports.urls")),
    path("", include("budgets.urls")),
    path("", include("lifecycle.urls")),
    path("", include("providers.urls")),
    path("", include("finops.dashboards.urls")),
    # Browsers ask for /favicon.ico on pages without an icon link (the admin's).
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
]
