"""Without Chromium the browser tests skip on a developer's machine and fail the run in CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import conftest


class FakeItem:
    def __init__(self, *keywords: str) -> None:
        self.keywords = dict.fromkeys(keywords, True)
        self.markers: list[pytest.MarkDecorator] = []

    def add_marker(self, marker: pytest.MarkDecorator) -> None:
        self.markers.append(marker)


@pytest.fixture
def no_chromium(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(conftest, "CHROMIUM_PATH", tmp_path / "no-chromium")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("FINOPS_REQUIRE_BROWSER", raising=False)


@pytest.mark.parametrize("variable", ["CI", "FINOPS_REQUIRE_BROWSER"])
def test_a_missing_browser_fails_the_run_in_ci(no_chromium: None, monkeypatch: pytest.MonkeyPatch, variable: str):
    monkeypatch.setenv(variable, "1")
    with pytest.raises(pytest.UsageError, match="apt-get install chromium"):
        conftest.pytest_collection_modifyitems(None, [FakeItem("browser"), FakeItem()])  # type: ignore[arg-type]


def test_a_missing_browser_skips_the_browser_tests_elsewhere(no_chromium: None) -> None:
    browser, other = FakeItem("browser"), FakeItem()
    conftest.pytest_collection_modifyitems(None, [browser, other])  # type: ignore[arg-type]
    assert [m.name for m in browser.markers] == ["skip"]
    assert "apt-get install chromium" in browser.markers[0].kwargs["reason"]
    assert [m.name for m in other.markers if m.name == "skip" and "Chromium" in m.kwargs.get("reason", "")] == []


def test_with_chromium_nothing_is_skipped_for_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    present = tmp_path / "chromium"
    present.touch()
    monkeypatch.setattr(conftest, "CHROMIUM_PATH", present)
    monkeypatch.setenv("CI", "1")
    browser = FakeItem("browser")
    conftest.pytest_collection_modifyitems(None, [browser])  # type: ignore[arg-type]
    assert not [m for m in browser.markers if "Chromium" in m.kwargs.get("reason", "")]
