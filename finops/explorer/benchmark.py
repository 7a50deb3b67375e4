"""A synthetic ledger for the explorer benchmark, and the timing helpers.

The ledger looks like a company's: requests (one row each) from applications that each run under one
IAM role, call two or three models in one or two regions and have their own users, plus daily CUR bill
lines per (account, region, model, token type). Rows go in with COPY on PostgreSQL and executemany on
SQLite, bypassing the importers (their speed is measured by benchmark_import); the daily rollup is then
rebuilt from them, and that rebuild is timed too."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from finops.ledger.models import SpendEvent

TEAMS = ("search", "support", "fraud", "data-science", "platform", "marketing", "risk", "sales")
MODELS = (
    ("anthropic.claude-sonnet-4-6", "claude-sonnet", "balanced", "Anthropic", Decimal("0.000003"), Decimal("0.000015")),
    ("anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku", "efficient", "Anthropic", Decimal("0.000001"),
     Decimal("0.000005")),
    ("anthropic.claude-opus-4-6-v1", "claude-opus", "flagship", "Anthropic", Decimal("0.000005"), Decimal("0.000025")),
    ("amazon.nova-lite-v1:0", "nova", "efficient", "Amazon", Decimal("0.00000006"), Decimal("0.00000024")),
    ("amazon.nova-pro-v1:0", "nova", "balanced", "Amazon", Decimal("0.0000008"), Decimal("0.0000032")),
    ("meta.llama3-3-70b-instruct-v1:0", "llama", "balanced", "Meta", Decimal("0.00000072"), Decimal("0.00000072")),
)  # fmt: skip
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
ACCOUNTS = ("111111111111", "222222222222")
APPLICATIONS = 24
USERS_PER_APP = 12
QUANTUM = Decimal("1e-10")


@dataclass(frozen=True)
class App:
    name: str
    team: str
    account: str
    principal: str
    models: tuple[int, ...]
    regions: tuple[str, ...]
    users: tuple[str, ...]
    weight: float


def applications(rng: random.Random) -> list[App]:
    apps = []
    for i in range(APPLICATIONS):
        account = ACCOUNTS[i % len(ACCOUNTS)]
        name = f"app-{i:02d}"
        apps.append(
            App(
                name=name,
                team=TEAMS[i % len(TEAMS)],
                account=account,
                principal=f"arn:aws:sts::{account}:assumed-role/{name}-role/{name}-fn",
                models=tuple(rng.sample(range(len(MODELS)), rng.choice((1, 2, 3)))),
                regions=tuple(rng.sample(REGIONS, rng.choice((1, 1, 2)))),
                users=tuple(f"{name}-user-{u:02d}" for u in range(USERS_PER_APP)),
                weight=rng.paretovariate(1.2),
            )
        )
    return apps


def _columns() -> list[tuple[str, str]]:
    return [(f.attname, f.column) for f in SpendEvent._meta.concrete_fields if not f.primary_key]


def _defaults() -> dict[str, Any]:
    return {f.attname: f.get_default() for f in SpendEvent._meta.concrete_fields if not f.primary_key}


def generate_rows(*, tenant_id: int, events: int, days: int, end: date, seed: int = 7) -> Iterator[dict[str, Any]]:
    """`events` ledger rows over `days` days ending on `end`: ~97% requests, ~3% bill lines."""
    rng = random.Random(seed)
    apps = applications(rng)
    weights = [a.weight for a in apps]
    defaults = _defaults()
    bill_lines = max(1, events * 3 // 100)
    requests = events - bill_lines
    start_day = end - timedelta(days=days - 1)
    for n in range(requests):
        app = rng.choices(apps, weights=weights)[0]
        model_id, family, tier, provider, in_price, out_price = MODELS[rng.choice(app.models)]
        day = start_day + timedelta(days=n * days // requests)
        ts = datetime(day.year, day.month, day.day, rng.randrange(24), rng.randrange(60), tzinfo=UTC)
        inp, out = int(rng.lognormvariate(7, 1)), int(rng.lognormvariate(5, 1))
        error = "ThrottlingException" if rng.random() < 0.01 else ""
        cost = (inp * in_price + out * out_price).quantize(QUANTUM) if not error else Decimal(0)
        row = dict(defaults)
        row.update(
            tenant_id=tenant_id,
            record_kind="request",
            cost_basis="estimated",
            dedupe_key=f"bench-req-{n}",
            usage_start=ts,
            usage_end=ts,
            usage_date=day,
            billing_period=day.replace(day=1),
            account_id=app.account,
            region=rng.choice(app.regions),
            route="in_region",
            model_id=model_id,
            model_family=family,
            model_tier=tier,
            model_provider=provider,
            operation="Converse",
            input_tokens=0 if error else inp,
            output_tokens=0 if error else out,
            requests=1,
            latency_ms=int(200 + out * 15 * rng.random()),
            cost_usd=cost,
            list_cost_usd=cost,
            iam_principal=app.principal,
            principal_type="assumed_role",
            principal_name=f"{app.name}-fn",
            role_name=f"{app.name}-role",
            application=app.name,
            team=app.team,
            user_id=rng.choice(app.users),
            request_id=f"req-{n}",
            error_code=error,
        )
        yield row
    for n in range(bill_lines):
        day = start_day + timedelta(days=n * days // bill_lines)
        model_id, family, tier, provider, in_price, out_price = MODELS[n % len(MODELS)]
        token_type = ("input", "output")[n // len(MODELS) % 2]
        ts = datetime(day.year, day.month, day.day, tzinfo=UTC)
        quantity = 1_000_000 + rng.randrange(1_000_000)
        row = dict(defaults)
        row.update(
            tenant_id=tenant_id,
            record_kind="billed_line",
            cost_basis="billed",
            dedupe_key=f"bench-bill-{n}",
            usage_start=ts,
            usage_end=ts + timedelta(days=1),
            usage_date=day,
            billing_period=day.replace(day=1),
            account_id=ACCOUNTS[n % 2],
            region=REGIONS[n % 3],
            route="in_region",
            model_id=model_id,
            model_family=family,
            model_tier=tier,
            model_provider=provider,
            token_type=token_type,
            line_item_type="Usage",
            usage_category="tokens",
            usage_type=f"USE1-{family}-{token_type}-tokens",
            input_tokens=quantity if token_type == "input" else 0,
            output_tokens=quantity if token_type == "output" else 0,
            cost_usd=(quantity * (in_price if token_type == "input" else out_price)).quantize(QUANTUM),
        )
        yield row


def load_rows(rows: Iterator[dict[str, Any]], *, progress: Callable[[str], None], every: int = 500_000) -> int:
    """Write rows straight into the ledger table (COPY on PostgreSQL). Returns how many."""
    columns = _columns()
    names = ", ".join(f'"{c}"' for _, c in columns)
    table = SpendEvent._meta.db_table
    count = 0
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([_value(row[a]) for a, _ in columns])
                    count += 1
                    if count % every == 0:
                        progress(f"  {count:,} rows written")
        else:
            marks = ", ".join("?" for _ in columns)
            batch: list[list[Any]] = []
            for row in rows:
                batch.append([_sqlite_value(row[a]) for a, _ in columns])
                count += 1
                if len(batch) == 5000:
                    cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", batch)
                    batch = []
                if count % every == 0:
                    progress(f"  {count:,} rows written")
            if batch:
                cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", batch)
    return count


def _value(value: Any) -> Any:
    if isinstance(value, dict | list):
        import json

        return json.dumps(value)
    return value


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return _value(value)


@dataclass
class Timing:
    label: str
    seconds: list[float]

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000


def timed(label: str, fn: Callable[[], Any], *, repeat: int, warmup: int = 1) -> Timing:
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - t0)
    return Timing(label, seconds)
