from __future__ import annotations

from collections.abc import Collection

from django import forms
from django.http import QueryDict

from providers.models import ProviderKind


class ProviderConnectionForm(forms.Form):
    kind = forms.ChoiceField(choices=ProviderKind.choices, label="Provider")
    name = forms.CharField(max_length=100, help_text="e.g. “OpenAI production”.")
    organization_id = forms.CharField(
        max_length=100, required=False, label="Organization id (optional)",
        help_text="org-… (OpenAI) or the organization UUID (Anthropic); used in principal ids.",
    )  # fmt: skip
    # Never rendered back: a re-shown form asks for the key again.
    api_key = forms.CharField(
        label="Admin API key",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="An organization Admin key: sk-admin-… (OpenAI) or sk-ant-admin… (Anthropic). Stored encrypted.",
    )


def mapping_from_post(data: QueryDict, *, known: Collection[str]) -> dict[str, dict[str, str]]:
    """{scope id: {"application", "team"}} from the mapping form's `application:<id>` and `team:<id>` fields;
    ids the connection has not seen are ignored (a crafted field cannot add one)."""
    mapping: dict[str, dict[str, str]] = {}
    for field in ("application", "team"):
        prefix = f"{field}:"
        for name, value in data.items():
            scope = name.removeprefix(prefix)
            if name.startswith(prefix) and scope in known and value.strip():
                mapping.setdefault(scope, {})[field] = value.strip()
    return mapping
