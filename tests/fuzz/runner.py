"""Run the fuzz variants against the real import services and classify each one (see tests.fuzz.oracle).

Command line (configures Django itself, migrates, uses DATABASE_URL or a throwaway SQLite file in /tmp):

    python -m tests.fuzz.runner --count 500 --seed 1 [--only cur|logs] [--report out.json] [--verbose]

From a test (inside pytest-django's `db` fixture; no set-up, no migrations, nothing left behind but rows):

    from tests.fuzz.runner import run
    report = run(count=200, seed=1, only="logs")
    assert not report.failures(), report.summary()
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HASH_SECRET = "fuzz-harness-shared-hash-secret"
STAFF_USERNAME = "fuzz-harness-staff"
IMPORTERS = ("cur", "logs")
BIG_BASES = {"big600", "big3000"}


# --- set-up (command line only) ---------------------------------------------------------------------------------


def configure(*, migrate: bool = True) -> str:
    """Configure Django for a standalone run and migrate; returns a description of the database.

    DATABASE_URL from the environment is used as is; when it is unset a throwaway SQLite file in /tmp is
    created (never the project's db.sqlite3)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finops.settings")
    os.environ.setdefault("SECRET_KEY", "fuzz-harness-secret-key-not-for-production")
    if not os.environ.get("DATABASE_URL", "").strip():
        handle, name = tempfile.mkstemp(prefix="fuzz-", suffix=".sqlite3", dir="/tmp")
        os.close(handle)
        os.environ["DATABASE_URL"] = f"sqlite:///{name}"
    if os.environ["DATABASE_URL"].rstrip("/").endswith("/work/main/db.sqlite3"):
        raise SystemExit("refusing to fuzz the project's own db.sqlite3; point DATABASE_URL elsewhere")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()
    if migrate:
        call_command("migrate", verbosity=0, interactive=False)
    return database_label()


def database_label() -> str:
    from django.db import connection

    return f"{connection.vendor}:{connection.settings_dict.get('NAME')}"


def drop_sqlite_file() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("sqlite:////tmp/fuzz-"):
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(url[len("sqlite://") :] + suffix)


# --- results ------------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    id: str
    importer: str
    label: str
    named: bool
    name: str = ""
    family: str = ""
    fmt: str = ""
    description: str = ""
    status: str = "ok"  # ok | crash | silent | error (the harness could not judge)
    detail: str = ""  # ok: loaded / rejected / skipped / file rejected / clean / mixed
    stage: str = ""  # crash: setup / import / ledger / spend_report / api / overview
    error: str = ""  # crash: the traceback's last line
    where: str = ""  # crash: innermost project frame
    traceback: str = ""
    complaints: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def headline(self) -> str:
        if self.status in ("crash", "error"):
            return f"[{self.stage}] {self.error}" + (f"  @ {self.where}" if self.where else "")
        if self.complaints:
            more = f" (+{len(self.complaints) - 1} more)" if len(self.complaints) > 1 else ""
            return self.complaints[0] + more
        return self.detail


@dataclass
class Report:
    seed: int
    count: int
    only: str | None
    database: str
    code: str
    started: float
    seconds: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        table: dict[str, dict[str, int]] = {}
        for outcome in self.outcomes:
            row = table.setdefault(outcome.importer, {"variants": 0, "ok": 0, "crash": 0, "silent": 0, "error": 0})
            row["variants"] += 1
            row[outcome.status] += 1
        return table

    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status != "ok"]

    def summary(self, examples: int = 3) -> str:
        return format_report(self, examples=examples)

    def assert_clean(self) -> None:
        if self.failures():
            raise AssertionError(self.summary(examples=10))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["counts"] = self.counts()
        data["families"] = families(self)
        data["causes"] = {
            importer: {status: causes(self, importer, status) for status in ("crash", "silent", "error")}
            for importer in IMPORTERS
        }
        return data


# Silent findings by kind, most serious first: a variant is grouped under the first kind any complaint has.
COMPLAINT_KINDS = [
    ("bait rows imported", re.compile(r"unexpected bait row")),
    ("damaged file not reported", re.compile(r"damaged file was not reported")),
    ("earlier data lost or changed", re.compile(r"\(loaded before\) lost or changed")),
    ("clean rows lost or changed", re.compile(r"^row of .* lost or changed")),
    ("unexpected rows", re.compile(r"^unexpected row")),
    ("row of another billing period loaded", re.compile(r"billing_period \S+ in a delivery for")),
    ("must-reject row loaded: {}", re.compile(r"loaded although ([\w.-]+(?: [\w.-]+){0,3})")),
    (
        "must-reject row neither rejected nor loaded: {}",
        re.compile(r"not rejected \(must be: ([\w.-]+(?: [\w.-]+){0,3})"),
    ),
    ("mutated row lost (not rejected)", re.compile(r"neither rejected nor loaded faithfully")),
    ("{} truncated", re.compile(r": (\w+) holds \d+ characters of a")),
    ("{} not as given", re.compile(r"\): (\w+) is .* but ")),
    ("{} not a tag value", re.compile(r"\): (\w+) is .*which is none of the row's tag values")),
    ("usage_date not the UTC date", re.compile(r"is not the UTC date")),
    ("negative or broken token count", re.compile(r"token counts must be|_tokens is -\d|from a negative usage amount")),
    ("token count not the usage amount", re.compile(r"not the usage amount|several token counts")),
    ("rejected sample names a clean line", re.compile(r"rejected sample names line")),
    ("counters do not add up", re.compile(r"counters do not add up|rows_loaded is|rows_rejected is|rows_skipped is")),
]


def complaint_kind(text: str) -> tuple[int, str]:
    """(rank, label) of a complaint; a lower rank is more serious."""
    for rank, (label, pattern) in enumerate(COMPLAINT_KINDS):
        match = pattern.search(text)
        if match:
            return rank, label.format(*match.groups()) if match.groups() else label
    text = re.sub(r"'[^']*'(\.\.\.[^ ]*)?|\"[^\"]*\"", "<v>", text)
    return len(COMPLAINT_KINDS), re.sub(r"\d[\d.:+\-TEZ]*", "<n>", text)[:120]


def load_report(path: Path) -> Report:
    """A report written with --report, e.g. to print it again with the current grouping."""
    data = json.loads(path.read_text(encoding="utf-8"))
    names = {f for f in Outcome.__dataclass_fields__}
    outcomes = [Outcome(**{k: v for k, v in o.items() if k in names}) for o in data.pop("outcomes")]
    fields = {k: data[k] for k in ("seed", "count", "only", "database", "code", "started", "seconds")}
    return Report(**fields, outcomes=outcomes)


def cause_key(outcome: Outcome) -> str:
    """A failure's cause for grouping: stage, exception and place for crashes; the most serious kind of complaint
    and the variant family for silent ones."""
    if outcome.status in ("crash", "error"):
        return f"[{outcome.stage}] {outcome.error.split(':')[0]} @ {outcome.where}"
    kinds = [complaint_kind(c) for c in outcome.complaints] or [(99, outcome.detail)]
    family = outcome.family if not outcome.named else outcome.name.split("/")[0]
    return f"{min(kinds)[1]} [{family}]"


def families(report: Report) -> dict[str, dict[str, dict[str, int]]]:
    """Outcome counts per importer and variant family (random variants: format and first mutation)."""
    table: dict[str, dict[str, dict[str, int]]] = {}
    for outcome in report.outcomes:
        family = ("named " if outcome.named else "") + (outcome.family or "?")
        row = table.setdefault(outcome.importer, {}).setdefault(family, Counter())
        row["variants"] += 1
        row[outcome.status] += 1
    return {k: {f: dict(c) for f, c in sorted(v.items())} for k, v in table.items()}


def causes(report: Report, importer: str, status: str) -> list[dict[str, Any]]:
    grouped: Counter[str] = Counter()
    first: dict[str, str] = {}
    for outcome in report.outcomes:
        if outcome.importer == importer and outcome.status == status:
            key = cause_key(outcome)
            grouped[key] += 1
            first.setdefault(key, outcome.id)
    return [{"cause": k, "variants": n, "example": first[k]} for k, n in grouped.most_common()]


def format_report(report: Report, *, examples: int = 3) -> str:
    lines = [
        f"fuzz seed={report.seed} count={report.count} database={report.database} code={report.code}"
        f" ({report.seconds:.0f}s, {report.seconds / max(1, len(report.outcomes)):.2f}s/variant)",
        "",
        f"{'importer':<10}{'variants':>10}{'ok':>8}{'crash':>8}{'silent':>8}{'error':>8}",
    ]
    for importer, row in sorted(report.counts().items()):
        lines.append(
            f"{importer:<10}{row['variants']:>10}{row['ok']:>8}{row['crash']:>8}{row['silent']:>8}{row['error']:>8}"
        )
    for importer in IMPORTERS:
        for status in ("crash", "silent", "error"):
            found = causes(report, importer, status)
            if not found:
                continue
            lines.append("")
            lines.append(f"{importer} / {status}: {sum(c['variants'] for c in found)} variants, {len(found)} causes")
            by_id = {o.id: o for o in report.outcomes}
            for cause in found[: max(examples, 1) * 3]:
                outcome = by_id[cause["example"]]
                lines.append(f"  {cause['variants']:>4} x {cause['cause'][:200]}")
                lines.append(f"         e.g. {outcome.id} {outcome.name}: {outcome.headline()[:300]}")
                if examples > 3 and outcome.description:
                    lines.append(f"         input: {outcome.description[:200]}")
    return "\n".join(lines)


# --- the harness --------------------------------------------------------------------------------------------------


class HarnessError(Exception):
    """The harness could not build a variant or a reference (not a finding about the importers)."""


class StepTimeout(BaseException):
    """An import or a read did not finish in time (a hang); reported as a crash. A BaseException, so that an
    `except Exception` in the code under test cannot swallow it."""


@contextlib.contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Raise StepTimeout in the block after `seconds` (main thread only; elsewhere no limit)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise StepTimeout(f"{what} did not finish within {seconds:g} s (hang)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Harness:
    """Imports variants into tenants of their own and judges them. Needs a migrated database."""

    def __init__(self, workdir: Path, timeout: float = 60.0) -> None:
        from django.contrib.auth import get_user_model
        from django.db import models
        from django.test import Client

        from finops.ledger.models import SpendEvent

        self.workdir = workdir
        self.timeout = timeout
        self.token = secrets.token_hex(3)
        self._refs: dict[tuple[str, str, str], list[Any]] = {}
        self._ref_errors: dict[tuple[str, str, str], str] = {}
        user, _ = get_user_model().objects.get_or_create(
            username=STAFF_USERNAME, defaults={"is_staff": True, "is_superuser": True}
        )
        if not (user.is_staff and user.is_superuser):
            user.is_staff = user.is_superuser = True
            user.save()
        self.client = Client()
        self.client.force_login(user)
        self.lengths: dict[str, set[int]] = {
            f.name: {f.max_length}
            for f in SpendEvent._meta.concrete_fields
            if isinstance(f, models.CharField) and f.max_length
        }
        self.fields = [f for f in _compared_fields() if f in {x.attname for x in SpendEvent._meta.concrete_fields}]

    # database helpers

    @staticmethod
    def _atomic() -> contextlib.AbstractContextManager[Any]:
        """A savepoint when running inside a test transaction, so a failed import cannot poison it."""
        from django.db import connection, transaction

        return transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()

    def tenant(self, name: str) -> Any:
        """A new tenant for this run (tenants cannot be deleted: the audit log protects them, so every run uses
        slugs of its own), sharing one hash secret so that prompt hashes compare across tenants."""
        from connections.models import Tenant
        from connections.services import tenant_get_or_create

        slug = f"fz{self.token}-{name}"[:63]
        with self._atomic():
            tenant, created = tenant_get_or_create(slug=slug)
            if not created:
                raise HarnessError(f"tenant {slug} exists already")
            Tenant.objects.filter(pk=tenant.pk).update(hash_secret=HASH_SECRET)
            tenant.refresh_from_db()
        return tenant

    def do_import(self, importer: str, tenant: Any, paths: list[Path]) -> Any:
        from ingestion.services import import_cur, import_invocation_logs

        service = import_cur if importer == "cur" else import_invocation_logs
        try:
            with time_limit(self.timeout, "the import"), self._atomic():
                return service(tenant=tenant, paths=list(paths))
        except StepTimeout:
            self._reset_connection()
            raise

    @staticmethod
    def _reset_connection() -> None:
        """After an interrupted statement, start again on a fresh connection (outside a test transaction)."""
        from django.db import connection

        if not connection.in_atomic_block:
            connection.close()

    def ledger(self, tenant: Any) -> list[dict[str, Any]]:
        from finops.ledger.models import SpendEvent

        with self._atomic():
            return list(SpendEvent.objects.filter(tenant_id=tenant.pk).order_by("pk").values(*self.fields))

    def reads(self, tenant: Any) -> Iterator[tuple[str, Callable[[], None]]]:
        from django.core.management import call_command

        def report() -> None:
            out = io.StringIO()
            with self._atomic():
                call_command("spend_report", tenant=tenant.slug, format="json", stdout=out)
            json.loads(out.getvalue())

        def page(url: str) -> Callable[[], None]:
            def get() -> None:
                with self._atomic():
                    response = self.client.get(url)
                if response.status_code >= 500:
                    raise ReadFailed(f"HTTP {response.status_code} from {url}")
                if response.status_code != 200:
                    raise HarnessError(f"HTTP {response.status_code} from {url} (expected 200)")

            return get

        yield "spend_report", report
        yield "api", page(f"/api/v1/ledger/{tenant.slug}/report")
        yield "overview", page(f"/t/{tenant.slug}/")

    # references

    def refs(self, key: tuple[str, str, str]) -> list[Any]:
        if key in self._ref_errors:
            raise HarnessError(self._ref_errors[key])
        if key not in self._refs:
            try:
                self._refs[key] = self._build_refs(key)
            except (Exception, StepTimeout) as exc:
                message = f"reference {'/'.join(key)} failed: {type(exc).__name__}: {exc}"
                self._ref_errors[key] = message
                raise HarnessError(message) from exc
        return self._refs[key]

    def _build_refs(self, key: tuple[str, str, str]) -> list[Any]:
        from tests.fuzz import mutations
        from tests.fuzz.oracle import RefRow, fingerprint

        importer, base, fmt = key
        folder = self.workdir / "refs" / "-".join(key).replace(".", "_")
        size = mutations.base_size(importer, base)
        slug = f"ref-{importer}-{base}-{fmt.replace('.', '-')}"
        whole_tenant = self.tenant(slug)
        whole_dir = folder / "whole"
        whole_dir.mkdir(parents=True, exist_ok=True)
        self.do_import(importer, whole_tenant, mutations.reference_files(key, None, whole_dir))
        whole = self.ledger(whole_tenant)
        if base in BIG_BASES:
            if importer == "cur":
                june = self.refs(("cur", "june", fmt))
                from tests.fuzz import bases

                result = [june[bases.cur_big_template(i)] for i in range(size)]
            else:
                by_id = {row["request_id"]: row for row in whole}
                records = mutations.log_base(base)
                result = [
                    RefRow("row", by_id[r["requestId"]]) if r["requestId"] in by_id else RefRow("rejected")
                    for r in records
                ]
        else:
            result = []
            for index in range(size):
                tenant = self.tenant(f"{slug}-{index}")
                line_dir = folder / str(index)
                line_dir.mkdir(parents=True, exist_ok=True)
                run = self.do_import(importer, tenant, mutations.reference_files(key, index, line_dir))
                rows = self.ledger(tenant)
                if len(rows) == 1:
                    result.append(RefRow("row", rows[0]))
                elif not rows and run.rows_skipped and not run.rows_rejected:
                    result.append(RefRow("skipped"))
                elif not rows and run.rows_rejected:
                    result.append(RefRow("rejected"))
                else:
                    raise HarnessError(f"clean row {index} of {'/'.join(key)} gave {len(rows)} rows: {run.message}")
        expected = Counter(fingerprint(r.row) for r in result if r.row is not None)
        if fmt != "json" and Counter(fingerprint(r) for r in whole) != expected:  # a .json file holds one record
            raise HarnessError(f"{'/'.join(key)}: the whole clean file does not load as the rows do one by one")
        return result

    # one variant

    def run_variant(self, variant: Any, *, keep_files: bool = False) -> Outcome:
        from tests.fuzz.oracle import RunFacts, judge

        started = time.monotonic()
        outcome = Outcome(variant.id, variant.importer, variant.label, variant.named)
        folder = self.workdir / variant.id
        folder.mkdir(parents=True, exist_ok=True)
        try:
            try:
                scenario = variant.build(folder)
            except Exception as exc:  # a bug in the harness, not a finding
                return self._failed(outcome, "error", "build", exc, started)
            outcome.name, outcome.family, outcome.fmt = scenario.name, scenario.family, scenario.fmt
            outcome.description = scenario.description[:600]
            try:
                for data in [*scenario.files, *scenario.keep]:
                    for plan in data.plans:
                        self.refs(plan.ref)
            except HarnessError as exc:
                return self._failed(outcome, "error", "reference", exc, started)
            tenant = self.tenant(variant.id)
            for step in scenario.setup:
                try:
                    self.do_import(step.importer, tenant, step.paths)
                except StepTimeout as exc:
                    return self._failed(outcome, "crash", "setup import (hang)", exc, started)
                except Exception as exc:
                    return self._failed(outcome, "crash", "setup import", exc, started)
            try:
                run = self.do_import(scenario.main.importer, tenant, scenario.main.paths)
            except StepTimeout as exc:
                return self._failed(outcome, "crash", "import (hang)", exc, started)
            except Exception as exc:
                return self._failed(outcome, "crash", "import", exc, started)
            try:
                ledger = self.ledger(tenant)
            except Exception as exc:
                return self._failed(outcome, "crash", "ledger", exc, started)
            for stage, read in self.reads(tenant):
                try:
                    with time_limit(self.timeout, stage):
                        read()
                except HarnessError as exc:
                    return self._failed(outcome, "error", stage, exc, started)
                except StepTimeout as exc:
                    self._reset_connection()
                    return self._failed(outcome, "crash", f"{stage} (hang)", exc, started)
                except Exception as exc:
                    return self._failed(outcome, "crash", stage, exc, started)
            try:
                verdict = judge(
                    keep=scenario.keep,
                    main=scenario.files,
                    refs=self.refs,
                    ledger=ledger,
                    run=RunFacts.of(run),
                    fresh=not scenario.setup,
                    lengths=self.lengths,
                )
            except Exception as exc:
                return self._failed(outcome, "error", "oracle", exc, started)
            outcome.status, outcome.detail, outcome.complaints = verdict.status, verdict.detail, verdict.complaints
            outcome.complaints = [c[:500] for c in outcome.complaints[:12]]
            outcome.seconds = round(time.monotonic() - started, 3)
            return outcome
        finally:
            if not keep_files:
                shutil.rmtree(folder, ignore_errors=True)

    @staticmethod
    def _failed(outcome: Outcome, status: str, stage: str, exc: BaseException, started: float) -> Outcome:
        outcome.status, outcome.stage = status, stage
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        outcome.error = last if len(last) < 600 else last[:560] + f"... ({len(last)} chars)"
        frames = traceback.extract_tb(exc.__traceback__)
        base = _base_dir()
        project = [
            f
            for f in frames
            if f.filename.startswith(base) and "/.venv/" not in f.filename and "/tests/fuzz/" not in f.filename
        ]
        if project or frames:
            frame = (project or frames)[-1]
            outcome.where = f"{_relative(frame.filename)}:{frame.lineno} {frame.name}"
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        outcome.traceback = text[-6000:]
        outcome.seconds = round(time.monotonic() - started, 3)
        return outcome


class ReadFailed(Exception):
    """A page or endpoint answered with a server error."""


def _base_dir() -> str:
    from django.conf import settings

    return str(settings.BASE_DIR)


def _relative(filename: str) -> str:
    base = _base_dir()
    return filename[len(base) + 1 :] if filename.startswith(base) else filename


def _compared_fields() -> tuple[str, ...]:
    from tests.fuzz.oracle import COMPARED_FIELDS

    return COMPARED_FIELDS


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Server errors are findings, not noise: keep Django's request logger from printing them."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)


def _code_label() -> str:
    from django.conf import settings

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{settings.BASE_DIR} @ {commit or '?'}"


def run(
    count: int,
    seed: int,
    only: str | None = None,
    *,
    named: bool = True,
    match: str | None = None,
    keep_files: Path | None = None,
    progress: Callable[[str], None] | None = None,
    timeout: float = 60.0,
) -> Report:
    """Import `count` random variants per importer (plus the named ones) and classify them.

    Needs configured Django and a migrated database (pytest-django's `db` fixture, or `configure()`). An import
    or read running longer than `timeout` seconds is interrupted and counted as a crash (hang)."""
    from django.test.utils import override_settings

    from tests.fuzz import mutations

    if only not in (None, *IMPORTERS):
        raise ValueError(f"only must be one of {IMPORTERS} or None, not {only!r}")
    report = Report(seed, count, only, database_label(), _code_label(), time.time())
    started = time.monotonic()
    pattern = re.compile(match) if match else None
    with contextlib.ExitStack() as stack:
        workdir = keep_files or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fuzz-")))
        workdir.mkdir(parents=True, exist_ok=True)
        from django.conf import settings

        hosts = list(settings.ALLOWED_HOSTS)
        if "testserver" not in hosts and "*" not in hosts:
            stack.enter_context(override_settings(ALLOWED_HOSTS=[*hosts, "testserver"]))
        stack.enter_context(_quiet())
        harness = Harness(workdir, timeout=timeout)
        for importer in IMPORTERS:
            if only and importer != only:
                continue
            chosen = [v for v in mutations.variants(importer, count, seed) if named or not v.named]
            if pattern:
                chosen = [v for v in chosen if pattern.search(v.id) or pattern.search(v.label)]
            tally: Counter[str] = Counter()
            for number, variant in enumerate(chosen, start=1):
                outcome = harness.run_variant(variant, keep_files=keep_files is not None)
                report.outcomes.append(outcome)
                tally[outcome.status] += 1
                if progress:
                    progress(_progress_line(importer, number, len(chosen), outcome, tally, started))
    report.seconds = round(time.monotonic() - started, 1)
    return report


def _progress_line(importer: str, number: int, total: int, outcome: Outcome, row: Counter[str], started: float) -> str:
    elapsed = time.monotonic() - started
    mark = "" if outcome.status == "ok" else f"  {outcome.status.upper()} {outcome.id} {outcome.name}: "
    mark += "" if outcome.status == "ok" else outcome.headline()[:160]
    return (
        f"[{importer} {number}/{total} {elapsed:.0f}s] ok={row.get('ok', 0)} crash={row.get('crash', 0)}"
        f" silent={row.get('silent', 0)} error={row.get('error', 0)}{mark}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.runner", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="random variants per importer (named ones are extra)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", choices=IMPORTERS)
    parser.add_argument("--report", type=Path, help="write the full report as JSON here")
    parser.add_argument("--verbose", action="store_true", help="print every failure as it happens, more examples")
    parser.add_argument("--no-named", action="store_true", help="random variants only")
    parser.add_argument("--match", help="only variants whose id or label matches this regular expression")
    parser.add_argument("--keep-files", type=Path, help="write the variants' files here and keep them")
    parser.add_argument("--examples", type=int, default=3, help="examples per failure class in the table")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before an import or read is a hang")
    parser.add_argument("--reformat", type=Path, help="print (and with --report rewrite) a saved report; no run")
    parser.add_argument("--strict", action="store_true", help="exit 1 when any variant crashes or is silently wrong")
    args = parser.parse_args(argv)
    if args.reformat:
        saved = load_report(args.reformat)
        print(format_report(saved, examples=max(args.examples, 10 if args.verbose else 0)))
        if args.report:
            args.report.write_text(json.dumps(saved.to_json(), indent=1, default=str), encoding="utf-8")
        return 0
    database = configure()
    print(f"database {database}", file=sys.stderr)

    def say(line: str) -> None:
        failed = "  " in line
        if (args.verbose and failed) or _is_round(line):
            print(line if args.verbose else line.split("  ")[0], file=sys.stderr, flush=True)

    try:
        report = run(
            args.count,
            args.seed,
            args.only,
            named=not args.no_named,
            match=args.match,
            keep_files=args.keep_files,
            progress=say,
            timeout=args.timeout,
        )
    finally:
        drop_sqlite_file()
    print(format_report(report, examples=max(args.examples, 10 if args.verbose else 0)))
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report.to_json(), indent=1, default=str), encoding="utf-8")
        print(f"\nreport written to {args.report}")
    return 1 if args.strict and report.failures() else 0


def _is_round(line: str) -> bool:
    match = re.match(r"\[\w+ (\d+)/(\d+)", line)
    return bool(match) and (int(match.group(1)) % 50 == 0 or match.group(1) == match.group(2))


if __name__ == "__main__":
    sys.exit(main())
