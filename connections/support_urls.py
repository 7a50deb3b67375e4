from django.urls import path

from connections import views

app_name = "support"

urlpatterns = [
    path("connections/", views.support_connections, name="connections"),
]
