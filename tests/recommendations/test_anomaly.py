"""The anomaly recommender on plain Inputs (no database): quiet on healthy traffic, one card per planted
anomaly, with the impact recomputed here from the planted rows."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from statistics import median

import pytest

from finops.ledger.catalog import Catalog, CatalogModel
from recommendations.cards import fingerprint
from recommendations.inputs import Inputs, Request
from recommendations.recommenders.anomaly import recommend

AS_OF = date(2026, 11, 11)  # a Wednesday
SONNET = "anthropic.claude-sonnet-4-6"
HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"
OPUS = "anthropic.claude-opus-4-6-v1"
BUSINESS = range(8, 20)
CENT = Decimal("0.01")


class Traffic:
    """Seeded synthetic requests for one tenant."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.rows: list[Request] = []

    def add(self, day: date, hour: int, *, cost: Decimal | None, minute: int = 0, second: int = 0, **fields) -> Request:
        values = {
            "input_tokens": 3000,
            "output_tokens": self.rng.randint(300, 900),
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
            "stop_reason": self.rng.choice(["end_turn", "tool_use"]),
            "model_id": SONNET,
            **fields,
        }
        principal = values.pop("principal", "")
        row = Request(
            request_id=f"req-{len(self.rows):07d}",
            usage_start=datetime.combine(day, time(hour, minute, second), tzinfo=UTC),
            usage_date=day,
            account_id="111111111111",
            region="us-east-1",
            model_tier="",
            model_provider="",
            model_family="",
            route="in_region",
            service_tier="standard",
            operation="Converse",
            application=values.pop("application", ""),
            team="",
            agent_id=values.pop("agent_id", ""),
            workflow_id=values.pop("workflow_id", ""),
            session_id=values.pop("session_id", ""),
            iam_principal=f"arn:aws:sts::111111111111:assumed-role/{principal}/run" if principal else "",
            principal_name=principal,
            cost_usd=cost,
            **values,
        )
        self.rows.append(row)
        return row

    def daily(
        self,
        days: list[date],
        *,
        usd: float,
        calls: int,
        weekend: float = 0.2,
        monday: float = 1.0,
        jitter: float = 0.2,
        hours: range = range(24),
        session_size: int = 0,
        **fields,
    ) -> None:
        """`calls` requests costing ~`usd` a weekday, x `monday` on Mondays, x `weekend` on weekends, each
        day scaled by a uniform ±`jitter`; random hours and sizes; sessions of `session_size` calls."""
        who = fields.get("agent_id") or fields.get("application") or fields.get("principal")
        for day in days:
            factor = weekend if day.weekday() >= 5 else monday if day.weekday() == 0 else 1.0
            factor *= self.rng.uniform(1 - jitter, 1 + jitter)
            n = max(1, round(calls * factor))
            for i in range(n):
                cost = usd * factor / n * self.rng.lognormvariate(0, 0.3)
                session = {"session_id": f"{who}-{day:%m%d}-{i // session_size}"} if session_size else {}
                minute, second = self.rng.randrange(60), self.rng.randrange(60)
                hour = self.rng.choice(hours)
                self.add(day, hour, cost=Decimal(f"{cost:.6f}"), minute=minute, second=second, **session, **fields)

    def inputs(self, as_of: date = AS_OF, catalog: Catalog | None = None) -> Inputs:
        return Inputs(as_of=as_of, requests=list(self.rows), bills=[], catalog=catalog or Catalog())


def window(as_of: date = AS_OF) -> list[date]:
    return [as_of - timedelta(days=i) for i in reversed(range(30))]


def steady_tenant(seed: int, as_of: date = AS_OF) -> Traffic:
    t = Traffic(seed)
    days = window(as_of)
    t.daily(days, usd=120, calls=300, hours=BUSINESS, session_size=10, agent_id="support-agent")
    t.daily(days, usd=40, calls=200, application="search-api", model_id=HAIKU)
    t.daily(days, usd=300, calls=120, principal="etl-role", model_id=OPUS)
    t.daily(days, usd=500, calls=200, hours=BUSINESS, application="doc-insights", workflow_id="contract-review")
    # Launched 10 days ago: a short history, compared by day type until it has 3 same weekdays.
    t.daily(days[-10:], usd=80, calls=60, session_size=6, agent_id="research-agent", model_id=OPUS)
    for day in days:  # unpriced calls (a model missing from the catalog) are never money
        t.add(day, 12, cost=None, application="legacy-tool", model_id="")
    return t


def cost_of(rows: list[Request], day: date, **fields) -> Decimal:
    return sum(
        (r.cost_usd for r in rows if r.usage_date == day and all(getattr(r, k) == v for k, v in fields.items())),
        Decimal(0),
    )


def same_weekday_median(rows: list[Request], day: date, **fields) -> Decimal:
    """The median of the 4 same weekdays before `day` (the baseline the recommender should use)."""
    return median([cost_of(rows, day - timedelta(weeks=w), **fields) for w in range(1, 5)])


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_a_steady_tenant_gets_no_cards(seed: int) -> None:
    as_of = AS_OF + timedelta(days=seed)  # Thursday to Monday: weekend days are checked too
    assert recommend(steady_tenant(seed, as_of).inputs(as_of)) == []


@pytest.mark.parametrize("as_of", [date(2026, 11, 9), date(2026, 11, 10)], ids=["monday", "tuesday"])
def test_a_weekly_pattern_with_a_big_monday_peak_gets_no_cards(as_of: date) -> None:
    t = Traffic(11)
    t.daily(window(as_of), usd=100, calls=150, monday=5.0, hours=BUSINESS, application="weekly-report")
    t.daily(window(as_of), usd=120, calls=300, hours=BUSINESS, session_size=10, agent_id="support-agent")
    assert recommend(t.inputs(as_of)) == []


def plant_spike(t: Traffic, day: date = AS_OF, application: str = "search-api", model_id: str = HAIKU) -> None:
    # 7x more of the same traffic on top of the usual day: ~8x in all.
    t.daily([day], usd=40 * 7, calls=200 * 7, jitter=0, application=application, model_id=model_id)


def test_a_subject_at_8x_its_usual_day_gets_one_spike_card() -> None:
    t = steady_tenant(7)
    plant_spike(t)

    cards = recommend(t.inputs())

    assert [c.anomaly_type for c in cards] == ["spike"]
    card = cards[0]
    app = {"application": "search-api"}
    expected = cost_of(t.rows, AS_OF, **app) - same_weekday_median(t.rows, AS_OF, **app)
    assert card.kind == "anomaly"
    assert card.monthly_impact_usd == expected.quantize(CENT)
    assert card.scope == {"application": "search-api", "model_id": HAIKU}
    assert card.fingerprint == fingerprint("anomaly", anomaly_type="spike", day=AS_OF.isoformat(), **card.scope)
    assert "search-api" in card.title and AS_OF.isoformat() in card.title
    spiking = {r.request_id for r in t.rows if r.application == "search-api" and r.usage_date == AS_OF}
    assert card.evidence["request_ids"] and set(card.evidence["request_ids"]) <= spiking
    assert card.chart["x"] == [f"{h:02d}:00" for h in range(24)]
    assert sum(card.chart["y"]) == pytest.approx(float(cost_of(t.rows, AS_OF, application="search-api")), abs=0.13)


SONNET_CATALOG = Catalog()
SONNET_CATALOG.add_model(
    CatalogModel(SONNET, "Claude Sonnet 4.6", "Anthropic", "Claude", "balanced", "ACTIVE", False), aliases=[]
)
LOOP_SESSION = "triage-loop-7c41d2"


def plant_runaway(t: Traffic, day: date, calls: int = 650) -> None:
    """The demo's story 1: a loop between 01:00 and 06:59 UTC in one session, each call writing its whole
    growing context (~90k to ~195k tokens) to the cache, short outputs, one stop reason, ~8% throttled."""
    for i in range(calls):
        at = datetime.combine(day, time(1), tzinfo=UTC) + timedelta(seconds=i * 6 * 3600 // calls)
        fields = {"agent_id": "ticket-triage-agent", "session_id": LOOP_SESSION, "workflow_id": "triage"}
        if t.rng.random() < 0.08:
            throttled = {"input_tokens": 0, "output_tokens": 0, "stop_reason": "", "error_code": "ThrottlingException"}
            t.add(day, at.hour, cost=Decimal(0), minute=at.minute, second=at.second, **throttled, **fields)
            continue
        context = int((90_000 + 105_000 * i / calls) * t.rng.lognormvariate(0, 0.03))
        output = int(150 * t.rng.lognormvariate(0, 0.3))
        cost = (Decimal(400) * 3 + Decimal(context - 400) * Decimal("3.75") + Decimal(output) * 15) / 1_000_000
        tokens = {"input_tokens": 400, "cache_write_tokens": context - 400, "output_tokens": output}
        t.add(day, at.hour, cost=cost, minute=at.minute, second=at.second, stop_reason="tool_use", **tokens, **fields)


def triage_tenant() -> Traffic:
    t = steady_tenant(8)
    # The triage agent normally costs ~$2 a day: 65 small calls around the clock in sessions of ~6.
    triage = {"agent_id": "ticket-triage-agent", "workflow_id": "triage"}
    t.daily(window(), usd=2, calls=65, weekend=0.6, session_size=6, **triage)
    plant_runaway(t, AS_OF)
    return t


def test_a_runaway_agent_loop_gets_one_runaway_card_naming_agent_model_and_session() -> None:
    t = triage_tenant()

    cards = recommend(t.inputs(catalog=SONNET_CATALOG))

    assert [c.anomaly_type for c in cards] == ["runaway_loop"]  # and no second card for the loop's session
    card = cards[0]
    agent = {"agent_id": "ticket-triage-agent"}
    expected = cost_of(t.rows, AS_OF, **agent) - same_weekday_median(t.rows, AS_OF, **agent)
    assert cost_of(t.rows, AS_OF, **agent) > 300  # the story's ~$350 day
    assert card.monthly_impact_usd == expected.quantize(CENT)
    assert card.scope == {"agent_id": "ticket-triage-agent", "model_id": SONNET}
    for part in ("ticket-triage-agent", "Claude Sonnet 4.6", LOOP_SESSION, "runaway loop"):
        assert part in card.title
    assert LOOP_SESSION in card.action
    assert card.confidence == "high"
    assert card.evidence["session_id"] == LOOP_SESSION
    assert card.evidence["hours_utc"] == [1, 2, 3, 4, 5, 6]
    assert card.evidence["stop_reason"] == "tool_use"
    loop_ids = {r.request_id for r in t.rows if r.session_id == LOOP_SESSION}
    assert set(card.evidence["request_ids"]) <= loop_ids
    assert card.evidence["chains"] == [{"session_id": LOOP_SESSION, "calls": len(loop_ids)}]
    assert "once" in card.math


def test_a_burst_without_the_loop_signature_stays_a_spike() -> None:
    t = triage_tenant()
    # The same burst, but each call answers at length: not the short-output signature of a loop.
    t.rows = [r if r.session_id != LOOP_SESSION or r.error_code else replace(r, output_tokens=900) for r in t.rows]

    cards = recommend(t.inputs())

    assert [c.anomaly_type for c in cards] == ["spike"]  # still one card: the session is its cause
    assert LOOP_SESSION in cards[0].action


def test_a_burst_of_identical_calls_without_sessions_is_a_spike_not_a_loop() -> None:
    t = steady_tenant(15)
    classify = {"application": "txn-classifier", "model_id": OPUS, "input_tokens": 150, "output_tokens": 5}
    t.daily(window(), usd=6, calls=60, stop_reason="end_turn", **classify)
    # A backfill: 20x the usual calls, all alike (flat input, tiny output, one stop reason), but no session.
    t.daily([AS_OF], usd=120, calls=1200, jitter=0, stop_reason="end_turn", **classify)

    assert [c.anomaly_type for c in recommend(t.inputs())] == ["spike"]


def sessions_of(rows: list[Request], agent_id: str) -> dict[str, list[Request]]:
    grouped: dict[str, list[Request]] = defaultdict(list)
    for r in rows:
        if r.agent_id == agent_id and r.session_id:
            grouped[r.session_id].append(r)
    return grouped


def test_a_session_with_far_more_calls_than_its_peers_gets_a_long_chain_card() -> None:
    t = steady_tenant(9)
    t.daily(window(), usd=30, calls=600, hours=BUSINESS, session_size=10, agent_id="research-bot", model_id=HAIKU)
    for i in range(400):  # one session of 400 cheap calls over the working day, where peers make ~10
        bot = {"session_id": "deep-dive-1", "agent_id": "research-bot", "model_id": HAIKU}
        t.add(AS_OF, 8 + i * 12 // 400, cost=Decimal("0.02"), minute=i % 60, **bot)

    cards = recommend(t.inputs())

    assert [c.anomaly_type for c in cards] == ["long_chain"]
    card = cards[0]
    sessions = sessions_of(t.rows, "research-bot")
    peer_median = median([sum((r.cost_usd for r in rows), Decimal(0)) for rows in sessions.values()])
    assert card.monthly_impact_usd == (Decimal("0.02") * 400 - peer_median).quantize(CENT)
    assert card.scope == {"session_id": "deep-dive-1", "agent_id": "research-bot", "model_id": HAIKU}
    assert card.evidence["calls"] == 400
    assert card.evidence["peers"] == len(sessions)
    assert "deep-dive-1" in card.title and "400 calls" in card.title


def test_a_session_costing_far_above_its_peers_gets_a_session_cost_card() -> None:
    t = steady_tenant(10)
    t.daily(window(), usd=200, calls=400, jitter=0.1, hours=BUSINESS, session_size=10, agent_id="claims-agent")
    for hour in range(8, 20):  # a normal-length session, but each call drags a huge context along
        claim = {"session_id": "claim-88231", "agent_id": "claims-agent", "input_tokens": 150_000}
        t.add(AS_OF, hour, cost=Decimal("4.00"), **claim)

    cards = recommend(t.inputs())

    assert [c.anomaly_type for c in cards] == ["session_cost"]
    card = cards[0]
    sessions = sessions_of(t.rows, "claims-agent")
    peer_median = median([sum((r.cost_usd for r in rows), Decimal(0)) for rows in sessions.values()])
    assert card.monthly_impact_usd == (Decimal("48.00") - peer_median).quantize(CENT)
    assert card.scope["session_id"] == "claim-88231"
    assert card.fingerprint == fingerprint("anomaly", anomaly_type="session_cost", day=AS_OF.isoformat(), **card.scope)


def test_a_burst_inside_one_day_is_caught_by_the_hour_when_the_day_is_only_moderately_up() -> None:
    t = steady_tenant(12)
    t.daily(window(), usd=400, calls=480, application="pricing-api", model_id=OPUS)
    for minute in range(0, 60, 2):  # $150 in 14:00-14:59, about a third of a usual day
        t.add(AS_OF, 14, cost=Decimal("5.00"), minute=minute, application="pricing-api", model_id=OPUS)

    cards = recommend(t.inputs())

    assert [c.anomaly_type for c in cards] == ["spike"]
    card = cards[0]
    app = {"application": "pricing-api"}
    assert cost_of(t.rows, AS_OF, **app) < same_weekday_median(t.rows, AS_OF, **app) * Decimal("1.6")  # not daily
    at_14 = [r for r in t.rows if r.application == "pricing-api" and r.usage_start.hour == 14]
    hour_costs = [cost_of(at_14, AS_OF - timedelta(weeks=w)) for w in range(5)]
    assert card.evidence["hours_utc"] == [14]
    assert card.monthly_impact_usd == (hour_costs[0] - median(hour_costs[1:])).quantize(CENT)


def test_the_fingerprint_is_stable_across_runs_and_days_and_differs_between_subjects() -> None:
    as_of = AS_OF + timedelta(days=1)
    t = steady_tenant(13, as_of)
    plant_spike(t)
    plant_spike(t, application="quote-api", model_id=SONNET)  # new that day, but way past the floor
    inputs = t.inputs()

    first, again = recommend(inputs), recommend(inputs)
    shuffled = t.inputs()
    random.Random(1).shuffle(shuffled.requests)
    next_day = recommend(t.inputs(as_of))  # the spike day is now the first detection day

    assert [c.as_dict() for c in first] == [c.as_dict() for c in again] == [c.as_dict() for c in recommend(shuffled)]
    assert len({c.fingerprint for c in first}) == 2
    assert {c.fingerprint for c in next_day} == {c.fingerprint for c in first}


@pytest.mark.parametrize(("call_usd", "cards"), [("1.25", 0), ("3.12", 0), ("3.13", 1), ("5.00", 1)])
def test_a_new_subject_is_flagged_on_its_first_day_only_past_the_absolute_floor(call_usd: str, cards: int) -> None:
    t = steady_tenant(14)
    for i in range(80):  # $100, $249.60, $250.40 and $400 on its first day
        t.add(AS_OF, 8 + i % 12, cost=Decimal(call_usd), minute=i % 60, agent_id="launch-agent")

    found = recommend(t.inputs())

    assert len(found) == cards
    if cards:
        card = found[0]
        assert card.anomaly_type == "spike"
        assert card.evidence["baseline_basis"] == "no history"
        assert card.monthly_impact_usd == Decimal(call_usd) * 80
        assert "no spend before" in card.title
