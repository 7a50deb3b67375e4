"""The budget form of the pages: the model's simple fields, the scope as rows (dimension, values, include or
exclude), thresholds as lists of percents, channels one per line. Validation goes through budgets.scope."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from budgets import scope as rules
from budgets.models import Budget
from connections.models import Tenant

SCOPE_ROWS_EXTRA = 2  # blank rows offered (no JavaScript needed to add one: save, then edit again)


class ScopeRowForm(forms.Form):
    dimension = forms.ChoiceField(required=False, choices=())
    values = forms.CharField(
        required=False,
        max_length=20000,
        help_text=f"Comma-separated; {rules.NONE_TOKEN} for untagged or empty.",
        widget=forms.TextInput(attrs={"placeholder": "e.g. data-science, search", "list": "scope-known-values"}),
    )
    mode = forms.ChoiceField(choices=(("include", "is"), ("exclude", "is not")), initial="include")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["dimension"].choices = [("", "(no filter)"), *rules.scope_dimensions().items()]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        dimension, values = data.get("dimension"), (data.get("values") or "").strip()
        if dimension and not values:
            raise ValidationError("Give one value or more for this filter (or choose “(no filter)”).")
        if values and not dimension:
            raise ValidationError("Choose what these values are (team, model, …).")
        return data

    def as_scope(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if not data.get("dimension"):
            return None
        values = [v.strip() for v in data["values"].split(",") if v.strip()]
        return {
            "dimension": data["dimension"],
            "values": ["" if v == rules.NONE_TOKEN else v for v in values],
            "exclude": data["mode"] == "exclude",
        }


ScopeRowFormSet = forms.formset_factory(ScopeRowForm, extra=SCOPE_ROWS_EXTRA, max_num=30, validate_max=True)


def _pcts(text: str, kind: str) -> list[dict[str, Any]]:
    out = []
    for part in text.replace(";", ",").split(","):
        part = part.strip().rstrip("%").strip()
        if not part:
            continue
        if not part.isdigit():
            raise ValidationError(f"“{part}” is not a whole percent: use numbers like 80, 100.")
        out.append({"kind": kind, "pct": int(part)})
    return out


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


class BudgetForm(forms.ModelForm):
    actual_pcts = forms.CharField(
        label="Alert when actual spend reaches (% of the amount)",
        required=False,
        help_text="Comma-separated percents, e.g. 80, 100. Each alerts once per period.",
    )
    forecast_pcts = forms.CharField(
        label="Alert when the forecast reaches (% of the amount)",
        required=False,
        help_text="e.g. 100: warns before the money is spent.",
    )
    emails_text = forms.CharField(
        label="Email addresses", required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="One per line."
    )
    webhooks_text = forms.CharField(
        label="Webhooks (Slack-compatible, https)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line.",
    )

    class Meta:
        model = Budget
        fields = ["name", "amount_usd", "period", "basis", "use_tenant_channels"]

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        budget = self.instance
        thresholds = budget.thresholds if budget.pk else rules.default_thresholds()
        if not self.is_bound:
            self.initial.update(
                actual_pcts=", ".join(str(t["pct"]) for t in thresholds if t["kind"] == "actual"),
                forecast_pcts=", ".join(str(t["pct"]) for t in thresholds if t["kind"] == "forecast"),
                emails_text="\n".join(budget.emails or []),
                webhooks_text="\n".join(budget.webhooks or []),
            )
        initial_rows = [
            {
                "dimension": f["dimension"],
                "values": ", ".join(v or rules.NONE_TOKEN for v in f["values"]),
                "mode": "exclude" if f.get("exclude") else "include",
            }
            for f in (budget.scope or [])
        ]
        self.scope_rows = ScopeRowFormSet(self.data if self.is_bound else None, prefix="scope", initial=initial_rows)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        clash = Budget.objects.filter(tenant=self.tenant, name=name).exclude(pk=self.instance.pk)
        if clash.exists():
            raise ValidationError("This tenant already has a budget with this name: choose another name.")
        return name

    def is_valid(self) -> bool:
        rows_valid = self.scope_rows.is_valid()
        return super().is_valid() and rows_valid

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for field, rule, source in (
            ("actual_pcts", rules.thresholds_clean, lambda: _pcts(data.get("actual_pcts", ""), "actual")),
            ("forecast_pcts", rules.thresholds_clean, lambda: _pcts(data.get("forecast_pcts", ""), "forecast")),
            ("emails_text", rules.emails_clean, lambda: _lines(data.get("emails_text", ""))),
            ("webhooks_text", rules.webhooks_clean, lambda: _lines(data.get("webhooks_text", ""))),
        ):
            try:
                data[field] = rule(source())
            except ValidationError as exc:
                self.add_error(field, exc)
        return data

    def _post_clean(self) -> None:
        # The model's own validation runs in the service (with the scope and thresholds); here only the fields.
        pass

    def clean_amount_usd(self) -> Any:
        amount = self.cleaned_data["amount_usd"]
        if amount is not None and amount <= 0:
            raise ValidationError("The amount must be more than $0.")
        return amount

    def scope(self) -> list[dict[str, Any]]:
        rows = [row.as_scope() for row in self.scope_rows]
        return rules.scope_clean([r for r in rows if r])

    def add_service_errors(self, exc: ValidationError) -> None:
        """Errors the service found (scope, unique name, ...) shown on the form, by field where there is one."""
        fields = {"emails": "emails_text", "webhooks": "webhooks_text", "thresholds": "actual_pcts"}
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for name, errors in exc.message_dict.items():
            field = fields.get(name, name)
            if name == "scope":
                errors = [f"Scope: {e}" for e in errors]
            self.add_error(field if field in self.fields else None, errors)

    def values(self) -> dict[str, Any]:
        """What the services take (valid forms only)."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "amount_usd": data["amount_usd"],
            "period": data["period"],
            "basis": data["basis"],
            "use_tenant_channels": data["use_tenant_channels"],
            "scope": self.scope(),
            "thresholds": rules.thresholds_clean(data["actual_pcts"] + data["forecast_pcts"]),
            "emails": data["emails_text"],
            "webhooks": data["webhooks_text"],
        }
