"""Cost anomalies: spikes, runaway agent loops, long chains and expensive sessions.

The last two days (as_of - 1 and as_of) are checked against the 28 days before them. A *subject* is
(who, model_id), who being the first non-empty of agent_id, application, principal_name,
iam_principal. Money stays Decimal; a request's cost is its `cost_usd` (unpriced requests still
count as calls). The rules (constants below):

* Baselines: the subject's same-weekday days in the 28 (its comparable days), or all of them of the
  same day type (weekday / weekend) when there are fewer than 3 same weekdays; only days since the
  subject's first request, a day without requests counting as $0. m = median, σ = 1.4826 x MAD,
  floored at a share of m: 20% for days, 50% for hours, and never below 1/√n for n usual calls
  (Poisson noise: 6 calls a day swing ~40%); a day's σ is also at least the subject's relative spread
  pooled over all days of its type. σ is then widened by √(1 + π/2n) since the median of n = 4 days
  is itself uncertain. These floors are what keep steady, seasonal, or sparse traffic quiet.
* spike, daily: cost > m + 3σ and cost - m >= $20.
* spike, hourly: an hour with >= 10 calls, > m + 3σ and >= $10 above the same hour's m on the
  comparable days; the flagged hours must add up to >= max($20, 25% of the daily m). This catches a
  burst inside a day that is only moderately up.
* New subject (fewer than 3 comparable days): flagged only when the day is >= $250 above the median
  of what history it has ($0 if none); no σ can be trusted yet, and a launch is not an anomaly.
* runaway_loop instead of spike when the anomalous hours show all of: (1) >= 5x the usual request
  rate of those hours (the mean over them of the median calls per hour on the comparable days, taken
  as at least 1; no history means no usual rate, so no loop); (2) a busiest session (a loop lives in
  one session: without session ids there is no loop to see) whose successful calls, in time order,
  are >= 20 and change prompt size (input + cache read + cache write tokens) by a median of <= 10%
  from one call to the next without shrinking (last-quarter median >= 90% of the first quarter's);
  (3) median output <= 300 tokens; (4) one stop reason on >= 80% of the calls, or none recorded.
  A "full match" (high confidence) has (4) with stop reasons recorded.
* long_chain: a session (or, for calls with a workflow_id and no session, a workflow's day) active
  on a detection day with > m + 3σ calls of its peers (σ >= 50% of m) and >= 50 calls. Peers: the
  sessions of the same subject in the window, or all the tenant's when it has fewer than 8; a
  workflow's peers are its own days. session_cost: the same on cost, with an excess >= $25.
  A chain with >= 50% of its detection-day calls in a spike card's hours is that card's cause: it is
  named in the card's evidence ("chains"), not carded again.

Impact = cost above the baseline median (the day's excess, or the flagged hours' when only hours
flag; a chain's cost above its peers' median), reported once, never x 30: an anomaly is a one-off.
One card per subject and day; the same finding gives the same fingerprint on every run.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from decimal import Decimal
from functools import cached_property
from statistics import median

from recommendations.cards import Card, fingerprint, sample_ids
from recommendations.inputs import Inputs, Request
from recommendations.recommenders._stats import Baseline, LoopSignature, baseline, loop_signature, noise_floor, spread
from recommendations.recommenders.common import CENT, name

DETECTION_DAYS = 2
BASELINE_DAYS = 28
MIN_POINTS = 3
K = Decimal(3)  # how many σ above the median an anomaly must be
HIGH_CONFIDENCE_SIGMAS = Decimal(10)
DAILY_FLOOR_USD = Decimal(20)
DAILY_REL_SIGMA, DAILY_ABS_SIGMA = Decimal("0.2"), Decimal(1)
HOURLY_FLOOR_USD = Decimal(10)
HOURLY_REL_SIGMA, HOURLY_ABS_SIGMA = Decimal("0.5"), Decimal("0.5")
HOURLY_SHARE_OF_DAY = Decimal("0.25")
HOURLY_MIN_CALLS = 10
NEW_SUBJECT_FLOOR_USD = Decimal(250)
CHAIN_MIN_CALLS = 50
CHAIN_MIN_PEERS = 8
CHAIN_REL_SIGMA = Decimal("0.5")
SESSION_FLOOR_USD = Decimal(25)
ZERO = Decimal(0)

Subject = tuple[str, str, str]  # (dimension, who, model_id)


@dataclass
class _Series:
    requests: list[Request] = field(default_factory=list)
    day_cost: dict[date, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    hour_cost: dict[tuple[date, int], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    hour_calls: Counter[tuple[date, int]] = field(default_factory=Counter)
    day_calls: Counter[date] = field(default_factory=Counter)


@dataclass
class _Spike:
    subject: Subject
    day: date
    cost: Decimal
    base: Baseline
    basis: str
    daily_hit: bool
    hours: dict[int, tuple[Decimal, Baseline]]  # hour -> (cost, hourly baseline): the anomalous hours
    requests: list[Request]  # those hours' requests
    comparable: list[date]

    @property
    def excess(self) -> Decimal:
        if self.daily_hit:
            return self.cost - self.base.median
        return sum((c - b.median for c, b in self.hours.values()), ZERO)

    @property
    def sigmas(self) -> Decimal:
        if self.daily_hit:
            return self.base.sigmas(self.cost)
        return max(b.sigmas(c) for c, b in self.hours.values())


def recommend(inputs: Inputs) -> list[Card]:
    first = inputs.as_of - timedelta(days=DETECTION_DAYS + BASELINE_DAYS - 1)
    rows = [r for r in inputs.requests if first <= r.usage_date <= inputs.as_of]
    detection = [inputs.as_of - timedelta(days=i) for i in reversed(range(DETECTION_DAYS))]
    baseline_days = [inputs.as_of - timedelta(days=i) for i in range(DETECTION_DAYS, DETECTION_DAYS + BASELINE_DAYS)]
    series: dict[Subject, _Series] = defaultdict(_Series)
    for r in rows:
        s, key = series[_subject(r)], (r.usage_date, _hour(r))
        s.requests.append(r)
        s.hour_calls[key] += 1
        s.day_calls[r.usage_date] += 1
        if r.cost_usd is not None:
            s.day_cost[r.usage_date] += r.cost_usd
            s.hour_cost[key] += r.cost_usd
    cards: list[Card] = []
    explained: dict[str, Card] = {}  # request id -> the spike card whose anomalous hours hold it
    for subject in sorted(series):
        since = min(r.usage_date for r in series[subject].requests)
        for day in detection:
            spike = _find_spike(subject, day, series[subject], [d for d in baseline_days if d >= since])
            if spike is not None:
                card = _spike_card(spike, series[subject], inputs)
                cards.append(card)
                explained.update((r.request_id, card) for r in spike.requests)
    cards += _chain_cards(rows, detection, explained, inputs)
    return sorted(cards, key=lambda c: (-c.value_usd, c.fingerprint))


def _subject(r: Request) -> Subject:
    for dimension, who in (
        ("agent_id", r.agent_id),
        ("application", r.application),
        ("principal_name", r.principal_name),
        ("iam_principal", r.iam_principal),
    ):
        if who:
            return dimension, who, r.model_id
    return "", "", r.model_id


def _scope(subject: Subject) -> dict[str, str]:
    dimension, who, model_id = subject
    return {dimension: who, "model_id": model_id} if dimension else {"model_id": model_id}


def _hour(r: Request) -> int:
    return (r.usage_start.astimezone(UTC) if r.usage_start.tzinfo else r.usage_start).hour


def _comparable(day: date, history: list[date]) -> tuple[list[date], str]:
    """Same weekday if there are enough of them, else the same day type; "" when the subject is new."""
    same = [d for d in history if d.weekday() == day.weekday()]
    if len(same) >= MIN_POINTS:
        return same, f"the {len(same)} previous {day:%A}s"
    weekend = day.weekday() >= 5
    kind = [d for d in history if (d.weekday() >= 5) == weekend]
    if len(kind) >= MIN_POINTS:
        return kind, f"the {len(kind)} previous {'weekend' if weekend else 'week'} days"
    return kind, ""


def _find_spike(subject: Subject, day: date, s: _Series, history: list[date]) -> _Spike | None:
    comparable, basis = _comparable(day, history)
    cost = s.day_cost.get(day, ZERO)
    same_type = [d for d in history if (d.weekday() >= 5) == (day.weekday() >= 5)]
    rel = max(noise_floor(DAILY_REL_SIGMA, [s.day_calls[d] for d in comparable]), spread(s.day_cost, same_type))
    base = baseline([s.day_cost.get(d, ZERO) for d in comparable], rel_floor=rel, abs_floor=DAILY_ABS_SIGMA)
    day_requests = [r for r in s.requests if r.usage_date == day]
    if not basis:  # new: no σ to trust, only the absolute floor
        if cost - base.median < NEW_SUBJECT_FLOOR_USD:
            return None
        return _Spike(subject, day, cost, base, "no history", True, {}, day_requests, comparable)
    daily_hit = cost > base.threshold(K) and cost - base.median >= DAILY_FLOOR_USD
    hourly: dict[int, tuple[Decimal, Baseline]] = {}
    for h in range(24):
        points = [s.hour_cost.get((d, h), ZERO) for d in comparable]
        rel = noise_floor(HOURLY_REL_SIGMA, [s.hour_calls[(d, h)] for d in comparable])
        hourly[h] = (s.hour_cost.get((day, h), ZERO), baseline(points, rel_floor=rel, abs_floor=HOURLY_ABS_SIGMA))
    # A few calls more in an hour is how sparse traffic looks, whatever their price: an hour is only
    # judged on its own when it holds enough calls.
    flagged = {
        h: (c, b)
        for h, (c, b) in hourly.items()
        if c > b.threshold(K) and c - b.median >= HOURLY_FLOOR_USD and s.hour_calls[(day, h)] >= HOURLY_MIN_CALLS
    }
    hourly_excess = sum((c - b.median for c, b in flagged.values()), ZERO)
    hourly_hit = bool(flagged) and hourly_excess >= max(DAILY_FLOOR_USD, HOURLY_SHARE_OF_DAY * base.median)
    if not (daily_hit or hourly_hit):
        return None
    # The anomalous hours: the flagged ones, else (a day-long rise) every hour above its usual.
    hours = flagged or {h: (c, b) for h, (c, b) in hourly.items() if c > b.median}
    requests = [r for r in day_requests if _hour(r) in hours]
    return _Spike(subject, day, cost, base, basis, daily_hit, hours, requests, comparable)


def _loop(spike: _Spike, s: _Series) -> LoopSignature:
    # The usual rate of the anomalous hours: per hour, the median calls on the comparable days; at least
    # one call an hour, so a quiet subject's first few calls are not a "100x" rate.
    usual = [median([s.hour_calls.get((d, h), 0) for d in spike.comparable] or [0]) for h in spike.hours]
    if not spike.comparable or not usual:  # no history, no usual rate: a launch is not a loop by its rate
        return loop_signature(spike.requests, rate_ratio=0.0)
    rate = len(spike.requests) / len(spike.hours)
    return loop_signature(spike.requests, rate_ratio=rate / max(sum(usual) / len(usual), 1.0))


def _spike_card(spike: _Spike, s: _Series, inputs: Inputs) -> Card:
    loop = _loop(spike, s)
    kind = "runaway_loop" if loop.is_loop else "spike"
    excess, usual, cost = spike.excess.quantize(CENT), spike.base.median.quantize(CENT), spike.cost.quantize(CENT)
    label, model, hours = (
        spike.subject[1] or "Untagged calls",
        _model_name(spike.subject[2], inputs),
        _hours_text(spike.hours),
    )
    # A spike that is mostly one session names it: that is where the analyst will look first.
    session = loop.session_id if loop.session_id and loop.session_calls * 2 >= len(spike.requests) else ""
    check = f"session {session}, {loop.session_calls} calls in {hours}" if session else hours
    if not spike.daily_hit:
        headline = f"${excess:,.0f} above usual between {hours} on {spike.day}"
    elif usual > 0:
        headline = f"${cost:,.0f} on {spike.day}, {_times(spike.cost / spike.base.median)} its usual {spike.day:%A}"
    else:
        headline = f"${cost:,.0f} on {spike.day} with no spend before"
    if kind == "runaway_loop":
        headline += " — a runaway loop" + (f" in session {session}" if session else "")
        action = f"Add a step/recursion limit or a cost guard to {label}; check {check}."
    else:
        action = (
            f"Find what drove {label}'s calls to {model} on {spike.day} ({check}). If it was planned (a launch, "
            "a backfill), dismiss this card; if not, add a budget alarm or a rate limit for it."
        )
    if spike.daily_hit:
        math = (
            f"{spike.day} cost ${cost}; {spike.basis or 'its short history'} had a median of ${usual} "
            f"(σ ${spike.base.sigma.quantize(CENT)}), so ${excess} is above the baseline."
        )
    else:
        math = (
            f"Hours {hours} cost ${excess} more than the median of the same hours on {spike.basis} "
            f"(each more than 3σ and $10 above it); the day cost ${cost}."
        )
    ids = [r.request_id for r in spike.requests if not session or r.session_id == session]
    return Card(
        kind="anomaly",
        fingerprint=fingerprint("anomaly", anomaly_type=kind, day=spike.day.isoformat(), **_scope(spike.subject)),
        title=f"{label} on {model}: {headline}",
        scope=_scope(spike.subject),
        action=action,
        confidence="high" if spike.sigmas > HIGH_CONFIDENCE_SIGMAS or loop.full_match else "medium",
        monthly_impact_usd=excess,
        evidence={
            "request_ids": sample_ids(ids),
            "day": spike.day.isoformat(),
            "day_cost_usd": str(cost),
            "baseline_median_usd": str(usual),
            "baseline_sigma_usd": str(spike.base.sigma.quantize(CENT)),
            "baseline_days": [d.isoformat() for d in spike.comparable],
            "baseline_basis": spike.basis or "no history",
            "sigmas": str(spike.sigmas.quantize(Decimal("0.1"))),
            "hours_utc": sorted(spike.hours),
            "hours_cost_usd": {f"{h:02d}:00": str(c.quantize(CENT)) for h, (c, _) in sorted(spike.hours.items())},
            "day_requests": sum(1 for r in s.requests if r.usage_date == spike.day),
            "hours_requests": len(spike.requests),
            **loop.evidence(),
        },
        math=math + " The excess is counted once, not x 30: an anomaly is a one-off.",
        anomaly_type=kind,
        chart=_hourly_chart(spike.day, s.requests),
    )


@dataclass
class _Chain:
    key: str  # "session_id" or "workflow_id"
    value: str
    requests: list[Request] = field(default_factory=list)

    @property
    def calls(self) -> Decimal:
        return Decimal(len(self.requests))

    @cached_property
    def cost(self) -> Decimal:
        return sum((r.cost_usd for r in self.requests if r.cost_usd is not None), ZERO)

    @cached_property
    def subject(self) -> Subject:
        return Counter(_subject(r) for r in self.requests).most_common(1)[0][0]

    @cached_property
    def day(self) -> date:
        return min(r.usage_date for r in self.requests)


def _chain_cards(rows: list[Request], detection: list[date], explained: dict[str, Card], inputs: Inputs) -> list[Card]:
    """long_chain / session_cost, one card per chain, none for a chain a spike card already explains."""
    sessions: dict[str, _Chain] = {}
    workflow_days: dict[tuple[str, date], _Chain] = {}
    for r in rows:
        if r.session_id:
            sessions.setdefault(r.session_id, _Chain("session_id", r.session_id)).requests.append(r)
        elif r.workflow_id:  # a workflow without sessions: each of its days is one unit, its peers its other days
            workflow_days.setdefault(
                (r.workflow_id, r.usage_date), _Chain("workflow_id", r.workflow_id)
            ).requests.append(r)
    by_subject: dict[Subject, list[_Chain]] = defaultdict(list)
    for chain in sessions.values():
        by_subject[chain.subject].append(chain)
    by_workflow: dict[str, list[_Chain]] = defaultdict(list)
    for chain in workflow_days.values():
        by_workflow[chain.value].append(chain)
    everyone = list(sessions.values())
    candidates = [
        (c, by_subject[c.subject] if len(by_subject[c.subject]) >= CHAIN_MIN_PEERS else everyone) for c in everyone
    ]
    candidates += [(c, by_workflow[c.value]) for c in workflow_days.values()]
    spike_cards = {c.fingerprint: c for c in explained.values()}
    stats: dict[int, tuple[Baseline, Baseline]] = {}  # id(peer list) -> (calls, cost) baselines, shared by its chains
    cards = []
    for chain, peers in sorted(candidates, key=lambda cp: (cp[0].key, cp[0].value, cp[0].day)):
        recent = [r for r in chain.requests if r.usage_date in detection]
        if not recent or len(peers) < CHAIN_MIN_PEERS:
            continue
        if id(peers) not in stats:
            stats[id(peers)] = (
                baseline([p.calls for p in peers], rel_floor=CHAIN_REL_SIGMA, abs_floor=Decimal(1)),
                baseline([p.cost for p in peers], rel_floor=CHAIN_REL_SIGMA, abs_floor=CENT),
            )
        calls, costs = stats[id(peers)]
        long_chain = chain.calls > calls.threshold(K) and chain.calls >= CHAIN_MIN_CALLS
        expensive = chain.cost > costs.threshold(K) and chain.cost - costs.median >= SESSION_FLOOR_USD
        if not (long_chain or expensive):
            continue
        owners = Counter(explained[r.request_id].fingerprint for r in recent if r.request_id in explained)
        if owners and owners.most_common(1)[0][1] * 2 >= len(recent):
            owner = spike_cards[owners.most_common(1)[0][0]]
            owner.evidence.setdefault("chains", []).append({chain.key: chain.value, "calls": len(chain.requests)})
            continue
        cards.append(_chain_card(chain, "long_chain" if long_chain else "session_cost", calls, costs, peers, inputs))
    return cards


def _chain_card(
    chain: _Chain, kind: str, calls: Baseline, costs: Baseline, peers: list[_Chain], inputs: Inputs
) -> Card:
    excess = max(chain.cost - costs.median, ZERO).quantize(CENT)
    noun = "session" if chain.key == "session_id" else "workflow"
    what = "Session" if chain.key == "session_id" else f"On {chain.day}, workflow"
    what += f" {chain.value} of {chain.subject[1] or 'untagged calls'} on {_model_name(chain.subject[2], inputs)}"
    if kind == "long_chain":
        title = f"{what} made {len(chain.requests)} calls, {_times(chain.calls / calls.median)} a typical one"
        action = f"Check {noun} {chain.value}: cap the agent's steps per session or add a loop breaker."
        sigmas = calls.sigmas(chain.calls)
    else:
        ratio = f"{_times(chain.cost / costs.median)} a typical one" if costs.median else "when most cost nothing"
        title = f"{what} cost ${chain.cost:,.0f}, {ratio}"
        action = f"Check {noun} {chain.value}: why did it cost so much (context size, retries)? Set a token budget."
        sigmas = costs.sigmas(chain.cost)
    scope = {chain.key: chain.value, **_scope(chain.subject)}
    return Card(
        kind="anomaly",
        fingerprint=fingerprint("anomaly", anomaly_type=kind, day=chain.day.isoformat(), **scope),
        title=title,
        scope=scope,
        action=action,
        confidence="high" if sigmas > HIGH_CONFIDENCE_SIGMAS else "medium",
        monthly_impact_usd=excess,
        evidence={
            "request_ids": sample_ids([r.request_id for r in chain.requests]),
            "day": chain.day.isoformat(),
            "calls": len(chain.requests),
            "cost_usd": str(chain.cost.quantize(CENT)),
            "peers": len(peers),
            "peer_median_calls": str(calls.median),
            "peer_sigma_calls": str(calls.sigma.quantize(CENT)),
            "peer_median_cost_usd": str(costs.median.quantize(CENT)),
            "peer_sigma_cost_usd": str(costs.sigma.quantize(CENT)),
            "sigmas": str(sigmas.quantize(Decimal("0.1"))),
        },
        math=(
            f"{len(chain.requests)} calls costing ${chain.cost.quantize(CENT)}, against medians of {calls.median} "
            f"calls and ${costs.median.quantize(CENT)} over {len(peers)} peers: ${excess} above the peer median, "
            "counted once (not x 30)."
        ),
        anomaly_type=kind,
        chart=_hourly_chart(chain.day, chain.requests),
    )


def _model_name(model_id: str, inputs: Inputs) -> str:
    return name(inputs.catalog, model_id) or "an unknown model"


def _times(ratio: Decimal) -> str:
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.1f}x"


def _hours_text(hours: Iterable[int]) -> str:
    """01:00-06:59 UTC style ranges of consecutive hours."""
    ranges: list[list[int]] = []
    for h in sorted(hours):
        if ranges and h == ranges[-1][1] + 1:
            ranges[-1][1] = h
        else:
            ranges.append([h, h])
    return ", ".join(f"{a:02d}:00–{b:02d}:59" for a, b in ranges) + " UTC" if ranges else "the whole day"


def _hourly_chart(day: date, requests: Iterable[Request]) -> dict[str, object]:
    costs = [ZERO] * 24
    for r in requests:
        if r.usage_date == day and r.cost_usd is not None:
            costs[_hour(r)] += r.cost_usd
    return {
        "x": [f"{h:02d}:00" for h in range(24)],
        "y": [float(c.quantize(CENT)) for c in costs],  # plot values only; the money above stays Decimal
        "label": f"Cost per hour on {day.isoformat()} (USD, UTC)",
    }
