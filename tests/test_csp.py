"""The Content-Security-Policy: on every response, strict, and pages that need no exception to it.

tests/test_browser.py checks the same in Chromium (no violation, charts drawn, htmx swapping)."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.core.management import call_command
from django.test import Client

from tests.factories import billed_line

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}
# A <script> that runs: one without src, unless it is a JSON data block.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style|\sstyle=|\son[a-z]+=", re.IGNORECASE)


def _policy(response) -> dict[str, str]:  # noqa: ANN001
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.fixture
def spend(tenant):  # noqa: ANN001, ANN201
    billed_line(tenant, cost="12.00", model_id="anthropic.claude-sonnet-4")
    return tenant


def test_every_kind_of_page_sends_the_policy(client: Client, viewer, tenant_admin, spend) -> None:  # noqa: ANN001
    anonymous = [client.get("/accounts/login/"), client.get("/admin/login/"), client.get("/api/v1/docs")]
    client.force_login(viewer)
    pages = [client.get("/t/acme/"), client.get("/connections/t/acme/"), client.get("/t/nope/")]  # 404 included
    client.force_login(tenant_admin)
    admin_pages = [client.get("/admin/"), client.get("/admin/connections/auditlog/")]

    for response in anonymous + pages + admin_pages:
        assert _policy(response) == POLICY, response.wsgi_request.path


def test_the_policy_allows_nothing_inline_nor_eval_nor_other_hosts() -> None:
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    sources = [source for values in directives.values() for source in values]

    assert not [s for s in sources if "unsafe" in s or "nonce" in s or "sha" in s or "*" in s or "http" in s]


def test_the_lockout_page_sends_the_policy(client: Client, viewer) -> None:  # noqa: ANN001
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post("/accounts/login/", {"username": "vera", "password": "wrong"})

    assert response.status_code == 429
    assert _policy(response) == POLICY


def test_templates_have_no_inline_script_style_or_event_handler() -> None:
    assert TEMPLATES
    for template in TEMPLATES:
        text = template.read_text()
        assert not INLINE_SCRIPT.search(text), template
        assert not INLINE_STYLE.search(text), template


def test_templates_use_no_htmx_feature_that_needs_eval() -> None:
    # hx-on and hx-vars run code; "js:" values and [filters] in hx-trigger are evaluated. All need 'unsafe-eval'.
    for template in TEMPLATES:
        text = template.read_text()
        assert not re.search(r"hx-on|hx-vars|js:|hx-trigger=\"[^\"]*\[", text), template


def test_htmx_is_told_not_to_inject_styles_nor_to_eval() -> None:
    base = (ROOT / "templates" / "base.html").read_text()
    config = json.loads(re.search(r'<meta name="htmx-config" content=\'([^\']*)\'>', base).group(1))

    assert config == {
        "includeIndicatorStyles": False,
        "allowEval": False,
        "allowScriptTags": False,
        "historyCacheSize": 0,  # a snapshot of a chart restores its SVG's style attributes, which the policy blocks
    }
    assert ".htmx-indicator" in (ROOT / "static" / "css" / "app.css").read_text()


def test_the_overview_with_charts_has_no_inline_script(client: Client, viewer, spend) -> None:  # noqa: ANN001
    client.force_login(viewer)

    html = client.get("/t/acme/").content.decode()

    assert html.count('class="plotly-figure"') == 2
    assert not INLINE_SCRIPT.search(html)
    assert not INLINE_STYLE.search(html)
    assert re.search(r'<script src="/static/js/charts\.js" defer>', html)


def test_the_plotly_style_sheets_match_the_vendored_bundle() -> None:
    # Plotly injects these as <style> unless base.html links them; a new plotly.min.js needs them regenerated.
    call_command("vendor_plotly_css", "--check")


def test_plotly_finds_its_style_sheets_by_id(client: Client, viewer, spend) -> None:  # noqa: ANN001
    client.force_login(viewer)
    html = unescape(client.get("/t/acme/").content.decode())

    assert re.search(r'<link rel="stylesheet" id="plotly\.js-style-global" class="no-inline-styles"', html)
    assert re.search(r'<link rel="stylesheet" id="[0-9a-f]{64}" href="/static/vendor/plotly-maplibre\.css">', html)


def test_no_admin_list_needs_djangos_inline_style() -> None:
    # admin/change_list.html adds an inline <style> when both action bars are off; the policy would block it.
    for model, model_admin in admin.site._registry.items():
        assert model_admin.actions_on_top or model_admin.actions_on_bottom, model
