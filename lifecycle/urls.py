from django.urls import path

from lifecycle import views

app_name = "lifecycle"

urlpatterns = [
    path("t/<slug:tenant_slug>/data/", views.tenant_data, name="data"),
]
