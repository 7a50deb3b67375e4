from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "finops.exports"
    label = "exports"
    verbose_name = "Exports"
