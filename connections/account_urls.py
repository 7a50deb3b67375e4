from django.urls import path

from connections import token_views

app_name = "account"

urlpatterns = [
    path("tokens/", token_views.token_list, name="tokens"),
    path("tokens/<int:pk>/revoke/", token_views.token_revoke, name="token-revoke"),
]
