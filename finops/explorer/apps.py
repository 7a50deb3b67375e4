from django.apps import AppConfig


class ExplorerConfig(AppConfig):
    name = "finops.explorer"
    label = "explorer"
    verbose_name = "Explorer"
