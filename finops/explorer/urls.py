from django.urls import path

from finops.explorer import views

urlpatterns = [
    path("t/<slug:tenant_slug>/explore/", views.explore, name="explore"),
    path("t/<slug:tenant_slug>/explore/entity/<str:dimension>/", views.entity, name="explore-entity"),
    path("t/<slug:tenant_slug>/explore/saved/", views.saved_view_create, name="explore-saved-create"),
    path("t/<slug:tenant_slug>/explore/saved/<int:pk>/", views.saved_view_open, name="explore-saved"),
    path(
        "t/<slug:tenant_slug>/explore/saved/<int:pk>/delete/", views.saved_view_delete_view, name="explore-saved-delete"
    ),
]
