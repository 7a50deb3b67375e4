from django.urls import path

from finops.dashboards import views

urlpatterns = [
    path("", views.home, name="home"),
    path("t/<slug:tenant_slug>/", views.overview, name="overview"),
    path("t/<slug:tenant_slug>/reprice/", views.reprice, name="reprice"),
]
