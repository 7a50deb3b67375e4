"""Measure the importers on generated CUR and invocation-log files: rows/s per stage, the whole import beside
the raw COPY of the same rows into an empty copy of the ledger table (same indexes), parse-only figures, and
peak RSS at two sizes (each import runs in a process of its own). Figures are printed, never asserted."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from connections.models import Tenant
from finops.ledger.models import SpendDaily, SpendEvent
from ingestion.benchmark import import_in_child, parse_only, raw_copy, write_cur, write_logs

# Kept importable from here: benchmark_sync and older scripts import the writers from this module.
__all__ = ["Command", "write_cur", "write_logs"]
STAGES = ("parse", "normalise", "load", "rollup", "reconcile")


class Command(BaseCommand):
    help = (
        "Import generated CUR and invocation-log files into throw-away tenants and print rows/s per stage beside "
        "the raw COPY of the same rows into an empty copy of the ledger table, parse-only figures and peak RSS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cur-rows", type=int, default=200_000)
        parser.add_argument("--log-records", type=int, default=100_000)
        parser.add_argument("--keep", action="store_true", help="Keep the benchmark tenants and their rows.")
        parser.add_argument(
            "--small-fraction",
            type=int,
            default=4,
            help="The second size, for peak RSS, is the first divided by this (default 4); 0 skips it.",
        )
        parser.add_argument("--format", choices=("text", "json"), default="text")
        parser.add_argument(
            "--in-process",
            action="store_true",
            help="Import in this process instead of a child per file (peak RSS is then this process's).",
        )
        parser.add_argument("--child", nargs=3, metavar=("KIND", "PATH", "TENANT"), help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["child"]:
            kind, path, slug = options["child"]
            self.stdout.write(json.dumps(import_in_child(kind, Path(path), slug)))
            return
        report = self._measure(options)
        if options["format"] == "json":
            self.stdout.write(json.dumps(report, indent=2))
        else:
            self._print(report)

    def _measure(self, options: dict[str, Any]) -> dict[str, Any]:
        sizes = {"cur": options["cur_rows"], "logs": options["log_records"]}
        fraction = options["small_fraction"]
        report: dict[str, Any] = {"database": connection.vendor, "sources": {}}
        tenants: list[Tenant] = []
        # The full-size CUR file and log set go into one tenant, as a customer's do: the log import then
        # reconciles every request with the bills (the small sizes, for memory only, each get their own).
        shared = Tenant.objects.create(slug=f"bench-{uuid.uuid4().hex[:8]}", name="Benchmark")
        tenants.append(shared)
        with tempfile.TemporaryDirectory() as tmp:
            for kind, rows in sizes.items():
                source: dict[str, Any] = {"rows": rows, "runs": []}
                report["sources"][kind] = source
                for size in [rows] + ([rows // fraction] if fraction else []):
                    if size <= 0:
                        continue
                    path = Path(tmp) / (f"bench-{kind}-{size}.csv.gz" if kind == "cur" else f"bench-{size}.jsonl.gz")
                    (write_cur if kind == "cur" else write_logs)(path, size)
                    if size == rows:
                        tenant = shared
                    else:
                        tenant = Tenant.objects.create(slug=f"bench-{uuid.uuid4().hex[:8]}", name="Benchmark")
                        tenants.append(tenant)
                    result = self._import(kind, path, tenant.slug, options["in_process"])
                    result["size"] = size
                    result["file_mb"] = round(path.stat().st_size / 1e6, 1)
                    if size == rows:
                        result["raw_copy"] = raw_copy(result["run_id"])
                        result["parse_only"] = parse_only(kind, path)
                        if kind == "logs":
                            again = self._import(kind, path, tenant.slug, options["in_process"])
                            source["all_duplicates"] = {"seconds": again["seconds"], "read": again["read"]}
                    source["runs"].append(result)
        if not options["keep"]:
            for tenant in tenants:
                SpendEvent.objects.filter(tenant=tenant).delete()
                SpendDaily.objects.filter(tenant=tenant).delete()
                tenant.import_runs.all().delete()
        report["tenants"] = [t.slug for t in tenants]
        return report

    def _import(self, kind: str, path: Path, slug: str, in_process: bool) -> dict[str, Any]:
        if in_process:
            return import_in_child(kind, path, slug)
        manage = Path(settings.BASE_DIR) / "manage.py"
        done = subprocess.run(
            [sys.executable, str(manage), "benchmark_import", "--child", kind, str(path), slug],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"the {kind} import of {path.name} failed: {done.stderr[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def _print(self, report: dict[str, Any]) -> None:
        say = self.stdout.write
        say(f"Database: {report['database']}; tenants {', '.join(report['tenants'])}")
        for kind, source in report["sources"].items():
            label = "CUR" if kind == "cur" else "invocation logs"
            main = source["runs"][0]
            whole = main["read"] / main["seconds"]
            raw = main["raw_copy"]
            indexed = raw["rows"] / raw["indexed"] if raw["indexed"] else 0.0
            bare = raw["rows"] / raw["no_indexes"] if raw["no_indexes"] else 0.0
            say(f"\n{label}: {main['read']:,} rows ({main['file_mb']} MB gz), {main['loaded']:,} loaded")
            say(f"  whole import             {whole:>10,.0f} rows/s  ({main['seconds']:.1f} s)")
            for stage in STAGES:
                seconds = main["stages"].get(stage)
                if seconds:
                    say(f"    {stage:<22} {main['read'] / seconds:>10,.0f} rows/s  ({seconds:.1f} s)")
            say(f"  raw COPY, same indexes   {indexed:>10,.0f} rows/s  ({raw['rows']:,} rows, {raw['indexed']:.1f} s)")
            say(f"  raw COPY, no indexes     {bare:>10,.0f} rows/s")
            parse = main["parse_only"]
            plain = "pyarrow CSV read" if kind == "cur" else "json.loads per line"
            say(
                f"  parse only: the app's parser {parse['app_parse_rows_s']:,.0f} rows/s; {plain} "
                f"{parse['plain_read_rows_s']:,.0f} rows/s"
            )
            say(f"  ratio whole import / raw COPY (same indexes): {whole / indexed:.2f}" if indexed else "")
            # Stages overlap (parsing runs in a thread beside loading): the import without reconciliation is the
            # run's wall time less the reconciliation's, not the sum of the other stages.
            without = main["seconds"] - main["stages"].get("reconcile", 0)
            if indexed and without > 0:
                say(f"  ratio without reconciliation / raw COPY: {main['read'] / without / indexed:.2f}")
            for run in source["runs"]:
                child = run.get("child_peak_rss_mb", 0)
                beside = f" (+ {child:.0f} MB in the child process that parsed it)" if child else ""
                say(f"  peak RSS importing {run['size']:>9,} rows: {run['peak_rss_mb']:.0f} MB{beside}")
            if "all_duplicates" in source:
                again = source["all_duplicates"]
                say(f"  the same file again (all duplicates): {again['read'] / again['seconds']:,.0f} rows/s")
