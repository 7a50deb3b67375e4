from django.urls import path

from connections import sync_views, views

app_name = "connections"

urlpatterns = [
    path("t/<slug:tenant_slug>/", views.connection_list, name="list"),
    path("t/<slug:tenant_slug>/new/", views.connection_new, name="new"),
    path("<int:pk>/", views.connection_detail, name="detail"),
    path("<int:pk>/edit/", views.connection_edit, name="edit"),
    path("<int:pk>/template.yaml", views.connection_template, {"fmt": "yaml"}, name="template-yaml"),
    path("<int:pk>/template.json", views.connection_template, {"fmt": "json"}, name="template-json"),
    path("<int:pk>/stackset.yaml", views.connection_stackset, name="stackset"),
    path("<int:pk>/cur-bucket-policy.json", views.connection_cur_bucket_policy, name="cur-bucket-policy"),
    path("<int:pk>/validate/", views.connection_validate_view, name="validate"),
    path("<int:pk>/validation/", views.connection_validation, name="validation"),
    path("<int:pk>/pause/", views.connection_pause, name="pause"),
    path("<int:pk>/resume/", views.connection_resume, name="resume"),
    path("<int:pk>/delete/", views.connection_delete_view, name="delete"),
    path("<int:pk>/sync/", sync_views.connection_sync_now, name="sync"),
]
