from __future__ import annotations

from django import forms

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
