from django.urls import path

from providers import views

app_name = "providers"

urlpatterns = [
    path("t/<slug:tenant_slug>/providers/", views.provider_list, name="list"),
    path("t/<slug:tenant_slug>/providers/new/", views.provider_new, name="new"),
    path("t/<slug:tenant_slug>/providers/<int:pk>/", views.provider_detail, name="detail"),
    path("t/<slug:tenant_slug>/providers/<int:pk>/validate/", views.provider_validate, name="validate"),
    path("t/<slug:tenant_slug>/providers/<int:pk>/sync/", views.provider_sync_now, name="sync"),
    path("t/<slug:tenant_slug>/providers/<int:pk>/delete/", views.provider_delete, name="delete"),
    path("t/<slug:tenant_slug>/providers/<int:pk>/mapping/", views.provider_mapping, name="mapping"),
]
