"""The explorer page: its numbers against the raw ledger rows (summed here), its links (drill-down, entity pages,
filter chips, sorting, pages), its states in words, its forms and its CSV downloads; tenant isolation."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.test import Client

from connections.models import Tenant
from tests.explorer.pages import RANGE, ZERO, cost, costs_by, dollars, events, load_fixtures, params_of, table_rows
from tests.factories import billed_line, ledger_row

BASE = "/t/acme/explore/"


def url(**params: object) -> str:
    return f"{BASE}?{urlencode(params, doseq=True)}"


@pytest.fixture
def ledger(tenant: Tenant) -> Tenant:
    return load_fixtures(tenant)


@pytest.fixture
def viewer_client(client: Client, viewer) -> Client:  # noqa: ANN001
    client.force_login(viewer)
    return client


# --- numbers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("basis", ["billed", "estimated", "allocated"])
def test_each_team_shows_its_cost_on_the_basis_summed_from_the_raw_rows(viewer_client, ledger, basis):
    want = costs_by(ledger, "team", basis)

    response = viewer_client.get(url(**RANGE, g="team", basis=basis))

    assert response.status_code == 200
    rows, _ = table_rows(response.content.decode())
    body, total = rows[:-1], rows[-1]
    got = {row[0]: row[1] for row in body}
    assert got == {(team or "(untagged)"): dollars(amount) for team, amount in want.items()}
    assert total[0].startswith("Total")
    assert total[1] == dollars(sum(want.values(), ZERO))


def test_billed_and_estimated_sit_side_by_side_and_are_never_added(viewer_client, ledger):
    billed = costs_by(ledger, "model", "billed")
    estimated = costs_by(ledger, "model", "estimated")

    rows, _ = table_rows(viewer_client.get(url(**RANGE, g="model")).content.decode())

    total = rows[-1]
    assert total[1] == dollars(sum(billed.values(), ZERO))
    assert total[2] == dollars(sum(estimated.values(), ZERO))
    both = sum(billed.values(), ZERO) + sum(estimated.values(), ZERO)
    assert dollars(both) not in viewer_client.get(url(**RANGE, g="model")).content.decode()


def test_shares_requests_and_tokens_by_type_match_the_rows(viewer_client, ledger):
    rows_by_team: dict[str, list[dict]] = {}
    for e in events(ledger):
        rows_by_team.setdefault(e["team"] or "(untagged)", []).append(e)
    billed_total = sum((cost(e, "billed") for e in events(ledger)), ZERO)

    rows, _ = table_rows(viewer_client.get(url(**RANGE, g="team")).content.decode())

    for row in rows[:-1]:
        team_events = rows_by_team[row[0]]
        billed = sum((cost(e, "billed") for e in team_events), ZERO)
        share = (billed / billed_total * 100).quantize(Decimal("0.1"))
        assert row[3] == f"{share}%"
        assert row[4] == f"{sum(e['requests'] for e in team_events):,}"
        requests = [e for e in team_events if e["record_kind"] == "request"]
        source = requests or team_events  # tokens from the requests when there are any, else from the bill
        input_tokens = sum(e["input_tokens"] for e in source)
        assert row[5].split(" | ")[0].replace(",", "") in {str(input_tokens), _compact(input_tokens)}


def _compact(n: int) -> str:
    if n < 10_000:
        return str(n)
    for divisor, suffix in ((1000, "K"), (10**6, "M"), (10**9, "B")):
        scaled = Decimal(n) / divisor
        text = f"{scaled:.1f}" if scaled >= 10 else f"{scaled:.2f}"
        if Decimal(text) < 1000:
            return text + suffix
    return str(n)


def test_unit_economics_of_the_total_row(viewer_client, ledger):
    requests = [e for e in events(ledger) if e["record_kind"] == "request"]
    params = {**RANGE, "g": "", "f.record_kind": "request", "basis": "estimated"}

    rows, _ = table_rows(viewer_client.get(url(**params)).content.decode())

    assert len(rows) == 1  # not grouped: the total row alone
    total = rows[-1]
    spent = sum((e["cost_usd"] or ZERO for e in requests), ZERO)
    calls = sum(e["requests"] for e in requests)
    inp = sum(e["input_tokens"] for e in requests)
    read = sum(e["cache_read_tokens"] for e in requests)
    per_request = spent / calls
    per_request = per_request.quantize(Decimal("0.01") if per_request >= 1 else Decimal("0.0001"))
    hit = (Decimal(read) / (inp + read) * 100).quantize(Decimal("0.1"))
    assert f"${per_request}" in total
    assert f"{hit}%" in total


# --- links ------------------------------------------------------------------------------------------


def test_each_row_drills_down_into_its_group(viewer_client, ledger):
    rows, links = table_rows(viewer_client.get(url(**RANGE, g="team")).content.decode())

    teams = {e["team"] for e in events(ledger)}
    seen = set()
    for hrefs in links[:-1]:
        params = params_of(hrefs[0])
        assert params["g"] == ["application"]  # the next dimension after team
        assert params["start"] == [RANGE["start"]] and params["end"] == [RANGE["end"]]
        seen.add(params["f.team"][0])
    assert seen == teams


def test_a_two_group_view_drills_into_both_keys(viewer_client, ledger):
    rows, links = table_rows(viewer_client.get(url(**RANGE, g=["team", "model"])).content.decode())

    pairs = {(e["team"], e["model_id"] or e["model_ref"]) for e in events(ledger)}
    seen = set()
    for hrefs in links[:-1]:
        params = params_of(hrefs[0])
        seen.add((params["f.team"][0], params["f.model"][0]))
        assert params["g"] == ["application"]
    assert seen == pairs


def test_a_model_row_drills_into_its_teams(viewer_client, ledger):
    _, links = table_rows(viewer_client.get(url(**RANGE, g="model")).content.decode())

    for hrefs in links[:-1]:
        params = params_of(hrefs[0])
        assert params["g"] == ["team"] and len(params["f.model"]) == 1


def test_principal_rows_link_to_their_entity_page_with_the_same_range(viewer_client, ledger):
    _, links = table_rows(viewer_client.get(url(**RANGE, g="principal")).content.decode())

    details = [h for hrefs in links[:-1] for h in hrefs if "/entity/" in h]
    assert len(details) == len(links) - 1  # one per row
    assert all(h.startswith("/t/acme/explore/entity/principal/?value=") for h in details)
    assert {params_of(h)["value"][0] for h in details} == {e["iam_principal"] for e in events(ledger)}
    assert all(params_of(h)["start"] == [RANGE["start"]] for h in details)


def test_team_rows_have_no_entity_page(viewer_client, ledger):
    _, links = table_rows(viewer_client.get(url(**RANGE, g="team")).content.decode())

    assert not [h for hrefs in links for h in hrefs if "/entity/" in h]


def test_filters_show_as_removable_chips_and_narrow_the_numbers(viewer_client, ledger):
    want = sum(costs_by(ledger, "team", "billed", keep=lambda e: e["team"] != "search").values(), ZERO)

    response = viewer_client.get(url(**RANGE, g="model", **{"x.team": "search"}))

    content = response.content.decode()
    rows, _ = table_rows(content)
    assert rows[-1][1] == dollars(want)
    assert "Team is not search" in content
    chip = response.context["chips"][0]
    assert chip.text == "Team is not search"
    assert "x.team" not in params_of(chip.remove) and params_of(chip.remove)["g"] == ["model"]


def test_sorting_by_name_and_by_requests(viewer_client, ledger):
    by_label, _ = table_rows(viewer_client.get(url(**RANGE, g="team", sort="label")).content.decode())
    labels = [row[0] for row in by_label[:-1]]
    assert labels == sorted(labels, key=str.lower)

    by_requests, _ = table_rows(viewer_client.get(url(**RANGE, g="team", sort="requests")).content.decode())
    counts = [int(row[4].replace(",", "")) for row in by_requests[:-1]]
    assert counts == sorted(counts, reverse=True)


@pytest.fixture
def seven_teams(tenant: Tenant) -> dict[str, Decimal]:
    amounts = {f"team-{i}": Decimal(f"{10 * (i + 1)}.25") for i in range(7)}
    for team, amount in amounts.items():
        billed_line(tenant, cost=str(amount), team=team, day=date(2026, 6, 3))
    return amounts


def test_large_groupings_paginate_with_prev_and_next(viewer_client, seven_teams):
    ranked = sorted(seven_teams, key=lambda t: -seven_teams[t])
    params = {"start": "2026-06-01", "end": "2026-06-30", "g": "team", "page_size": 3}

    first = viewer_client.get(url(**params)).content.decode()
    rows, _ = table_rows(first)
    assert [r[0] for r in rows[:-1]] == ranked[:3]
    assert "rows 1–3 of 7" in first
    assert rows[-1][1] == dollars(sum(seven_teams.values(), ZERO))  # the total is of every page

    page = viewer_client.get(url(**params, page=3))
    rows, _ = table_rows(page.content.decode())
    assert [r[0] for r in rows[:-1]] == ranked[6:]
    assert "rows 7–7 of 7" in page.content.decode()
    pager = page.context["pagination"]
    assert params_of(pager.previous)["page"] == ["2"] and pager.next == ""


def test_a_page_past_the_end_says_so(viewer_client, seven_teams):
    response = viewer_client.get(url(start="2026-06-01", end="2026-06-30", g="team", page_size=3, page=9))

    assert "Page 9 is past the last page (3)" in response.content.decode()


# --- states -----------------------------------------------------------------------------------------


def test_a_tenant_without_spend_is_told_how_to_get_some(viewer_client, tenant):
    response = viewer_client.get(BASE)

    content = response.content.decode()
    assert response.status_code == 200
    assert "No spend yet" in content and "import CUR or invocation logs" in content
    assert 'href="/connections/t/acme/"' in content


def test_a_view_that_matches_nothing_says_so_and_offers_to_clear_the_filters(viewer_client, ledger):
    response = viewer_client.get(url(**RANGE, **{"f.team": "nobody"}))

    content = response.content.decode()
    assert "No spend matches these filters in 1 May 2026 – 30 Sep 2026" in content
    assert response.context["clear_filters_link"] == "?" + urlencode({**RANGE, "g": "model"})


def test_a_bad_parameter_is_said_in_words_and_the_default_view_shown(viewer_client, ledger):
    response = viewer_client.get(url(g="colour"))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Unknown group-by colour" in content and "Showing the default view instead." in content
    assert response.context["query"].group_by == ("model",)


def test_days_with_requests_but_no_bill_yet_are_named_with_a_link_to_the_estimate(viewer_client, ledger):
    response = viewer_client.get(url(start="2026-08-01", end="2026-08-31", g="team"))

    content = " ".join(response.content.decode().split())
    assert "Billed data runs to 5 Aug 2026" in content
    assert "6 Aug 2026 has requests only, estimated until the bill arrives" in content
    link = response.context["estimated_link"]
    assert params_of(link)["basis"] == ["estimated"]
    assert "not-yet-billed" not in viewer_client.get(link if link.startswith("/") else BASE + link).content.decode()


def test_requests_with_no_bill_at_all_say_no_billed_data_yet(viewer_client, tenant):
    moment = datetime(2026, 6, 3, 10, tzinfo=UTC)
    ledger_row(
        tenant=tenant,
        record_kind="request",
        cost_basis="estimated",
        dedupe_key="r1",
        cost_usd=Decimal("2.50"),
        usage_start=moment,
        usage_end=moment,
        usage_date=moment.date(),
        billing_period=date(2026, 6, 1),
        requests=1,
        team="search",
    )

    content = " ".join(viewer_client.get(url(start="2026-06-01", end="2026-06-30")).content.decode().split())

    assert "No billed data yet; 1 Jun 2026–3 Jun 2026 have requests only" in content


# --- forms ------------------------------------------------------------------------------------------


def test_the_filter_bar_redirects_to_the_canonical_link_and_a_preset_wins_over_dates(viewer_client, ledger):
    submitted = {"form": "bar", "preset": "7d", "start": "2026-01-01", "end": "2026-01-31", "g": ["team", ""]}
    response = viewer_client.get(
        url(**submitted, gran="day", basis="billed", page_size="50", **{"f.region": "us-east-1"})
    )

    assert response.status_code == 302
    assert params_of(response["Location"]) == {"preset": ["7d"], "g": ["team"], "f.region": ["us-east-1"]}


def test_custom_dates_are_kept_when_no_preset_is_chosen(viewer_client, ledger):
    response = viewer_client.get(url(form="bar", preset="", start="2026-06-01", end="2026-06-30", g="team"))

    assert params_of(response["Location"]) == {"start": ["2026-06-01"], "end": ["2026-06-30"], "g": ["team"]}


def test_the_filter_form_adds_values_included_or_excluded(viewer_client, ledger):
    state = {**RANGE, "g": "model", "f.region": "us-east-1"}
    response = viewer_client.get(
        url(**state, form="filter", add_dim="team", add_for="team", add_mode="exclude", add_val=["search", "mobile"])
    )

    assert response.status_code == 302
    params = params_of(response["Location"])
    assert params["x.team"] == ["search", "mobile"] and params["f.region"] == ["us-east-1"]


def test_values_listed_for_another_dimension_are_not_filed_under_the_new_one(viewer_client, ledger):
    # Without JavaScript the list still shows the old dimension's values after choosing a new dimension.
    response = viewer_client.get(url(**RANGE, form="filter", add_dim="region", add_for="team", add_val="search"))

    assert response.status_code == 200
    assert response.context["picker_dimension"] == "region"
    assert {v for v, _ in response.context["picker_values"]} == {e["region"] for e in events(ledger)}


def test_htmx_asks_for_the_value_list_alone(viewer_client, ledger):
    response = viewer_client.get(url(**RANGE, form="filter", add_dim="team"), HTTP_HX_REQUEST="true")

    content = response.content.decode()
    assert "<html" not in content and 'id="value-picker"' in content
    for team in {e["team"] for e in events(ledger)}:
        assert f'<option value="{team}"' in content


# --- CSV --------------------------------------------------------------------------------------------


def _csv(response) -> list[dict[str, str]]:  # noqa: ANN001
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_table_csv_has_every_group_of_every_page_to_the_cent_or_more(viewer_client, ledger):
    billed = costs_by(ledger, "team", "billed")
    estimated = costs_by(ledger, "team", "estimated")

    response = viewer_client.get(url(**RANGE, g="team", page_size=1, page=2, format="csv", what="table"))

    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="explore-acme-2026-05-01-2026-09-30-team.csv"'
    lines = _csv(response)
    body, total = lines[:-1], lines[-1]
    assert {line["Team (value)"]: Decimal(line["Cost billed (USD)"]) for line in body} == billed
    assert {line["Team (value)"]: Decimal(line["Estimated (USD)"]) for line in body} == estimated
    assert all("." in line["Cost billed (USD)"] and len(line["Cost billed (USD)"].split(".")[1]) >= 2 for line in lines)
    assert total["Team"] == "Total" and Decimal(total["Cost billed (USD)"]) == sum(billed.values(), ZERO)


def test_the_table_csv_has_the_pages_columns(viewer_client, ledger):
    page = viewer_client.get(url(**RANGE, g="principal"))
    download = viewer_client.get(url(**RANGE, g="principal", format="csv", what="table"))

    header = next(csv.reader(io.StringIO(download.content.decode())))
    shown = [h.column.csv_header for h in page.context["headers"]]
    subs = [h.column.sub.csv_header for h in page.context["headers"] if h.column.sub]
    assert header[:2] == ["IAM principal", "IAM principal (value)"]
    assert [h for h in header[2:] if h not in subs] == shown
    assert len(subs) == 4
    requests = {line["IAM principal (value)"]: int(line["Requests"]) for line in _csv(download)[:-1]}
    want: dict[str, int] = {}
    for e in events(ledger):
        want[e["iam_principal"]] = want.get(e["iam_principal"], 0) + e["requests"]
    assert requests == want


def test_the_chart_csv_has_a_line_per_period_and_a_column_per_group(viewer_client, ledger):
    response = viewer_client.get(url(**RANGE, g="team", gran="month", basis="estimated", format="csv", what="chart"))

    assert "-chart.csv" in response["Content-Disposition"] and "-estimated-" in response["Content-Disposition"]
    lines = _csv(response)
    assert [line["Period"] for line in lines] == ["2026-05-01", "2026-06-01", "2026-07-01", "2026-08-01", "2026-09-01"]
    want: dict[tuple[str, str], Decimal] = {}
    for e in events(ledger):
        month = e["usage_date"].replace(day=1).isoformat()
        team = e["team"] or "(untagged)"
        want[(month, team)] = want.get((month, team), ZERO) + cost(e, "estimated")
    for line in lines:
        for team, value in line.items():
            if team != "Period":
                assert Decimal(value) == want.get((line["Period"], team), ZERO)


def test_the_csv_of_a_view_that_is_not_grouped_is_its_total(viewer_client, ledger):
    lines = list(csv.reader(io.StringIO(viewer_client.get(url(**RANGE, g="", format="csv")).content.decode())))

    assert len(lines) == 2 and lines[1][0] == "Total"
    assert Decimal(lines[1][1]) == sum(costs_by(ledger, "team", "billed").values(), ZERO)


def test_a_csv_of_a_bad_view_is_refused_in_words(viewer_client, ledger):
    response = viewer_client.get(url(g="colour", format="csv"))
    assert response.status_code == 400 and b"Unknown group-by colour" in response.content
    assert viewer_client.get(url(format="csv", what="pie")).status_code == 400


# --- isolation --------------------------------------------------------------------------------------


def test_an_outsider_gets_404_for_the_page_and_its_csv(client, ledger, outsider):
    client.force_login(outsider)
    assert client.get(BASE).status_code == 404
    assert client.get(url(format="csv", what="table")).status_code == 404
    assert client.get(url(format="csv", what="chart")).status_code == 404
    assert client.get(url(form="filter", add_dim="team"), HTTP_HX_REQUEST="true").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, ledger):
    for target in (BASE, url(format="csv", what="table")):
        response = client.get(target)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_another_tenants_spend_never_shows(viewer_client, ledger, other_tenant):
    billed_line(other_tenant, cost="98765.43", team="globex-secret", day=date(2026, 6, 3))

    content = viewer_client.get(url(**RANGE, g="team")).content.decode()
    download = viewer_client.get(url(**RANGE, g="team", format="csv")).content.decode()

    assert "globex-secret" not in content and "98,765.43" not in content
    assert "globex-secret" not in download and "98765.43" not in download


def test_staff_see_any_tenant(client, ledger, staff):
    client.force_login(staff)
    assert client.get(BASE).status_code == 200


def test_the_nav_links_to_the_explorer(viewer_client, ledger):
    assert 'href="/t/acme/explore/"' in viewer_client.get("/t/acme/").content.decode()


def test_the_page_makes_as_many_queries_for_seven_groups_as_for_one(viewer_client, tenant):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    billed_line(tenant, cost="1.00", team="team-a", day=date(2026, 6, 3))
    params = {"start": "2026-06-01", "end": "2026-06-30", "g": ["team", "model"]}
    viewer_client.get(url(**params))  # sessions, caches
    with CaptureQueriesContext(connection) as one:
        assert viewer_client.get(url(**params)).status_code == 200
    for i in range(6):
        billed_line(tenant, cost=f"{i + 2}.00", team=f"team-{i}", model_id=f"model-{i}", day=date(2026, 6, 3 + i))
    with CaptureQueriesContext(connection) as seven:
        assert viewer_client.get(url(**params)).status_code == 200

    assert len(seven) == len(one) <= 20, [q["sql"][:80] for q in seven.captured_queries]
