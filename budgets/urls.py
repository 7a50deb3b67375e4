from django.urls import path

from budgets import views

app_name = "budgets"

urlpatterns = [
    path("t/<slug:tenant_slug>/budgets/", views.budget_list, name="list"),
    path("t/<slug:tenant_slug>/budgets/new/", views.budget_create_view, name="create"),
    path("t/<slug:tenant_slug>/budgets/<int:pk>/", views.budget_detail, name="detail"),
    path("t/<slug:tenant_slug>/budgets/<int:pk>/edit/", views.budget_edit_view, name="edit"),
    path("t/<slug:tenant_slug>/budgets/<int:pk>/delete/", views.budget_delete_view, name="delete"),
]
