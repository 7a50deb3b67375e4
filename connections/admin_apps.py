from django.contrib.admin.apps import AdminConfig


class FinopsAdminConfig(AdminConfig):
    """Django's admin with our site class (kept apart from admin_site.py, which imports models)."""

    default_site = "connections.admin_site.FinopsAdminSite"
