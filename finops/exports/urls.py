from django.urls import path

from finops.exports import views

urlpatterns = [
    path("t/<slug:tenant_slug>/exports/", views.exports, name="exports"),
    path("t/<slug:tenant_slug>/exports/focus/", views.focus_file, name="exports-focus"),
]
