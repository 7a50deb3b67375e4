from django.urls import path

from finops.dashboards import views

urlpatterns = [
    path("", views.home, name="home"),
    path("t/<slug:tenant_slug>/", views.overview, name="overview"),
    path("t/<slug:tenant_slug>/reprice/", views.reprice, name="reprice"),
    path("t/<slug:tenant_slug>/recommendations/", views.recommendations, name="recommendations"),
    path(
        "t/<slug:tenant_slug>/recommendations/<int:pk>/accept/",
        views.recommendation_accept_view,
        name="recommendation-accept",
    ),
    path(
        "t/<slug:tenant_slug>/recommendations/<int:pk>/dismiss/",
        views.recommendation_dismiss_view,
        name="recommendation-dismiss",
    ),
    path(
        "t/<slug:tenant_slug>/recommendations/<int:pk>/reopen/",
        views.recommendation_reopen_view,
        name="recommendation-reopen",
    ),
]
