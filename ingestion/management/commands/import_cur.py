from __future__ import annotations

from typing import Any

from ingestion.management.commands._import_base import ImportCommand
from ingestion.models import ImportRun
from ingestion.services import import_cur


class Command(ImportCommand):
    help = (
        "Import CUR 2.0 files (.csv, .csv.gz, .parquet, a directory in the S3 layout, or a manifest JSON). "
        "A billing period delivered again replaces that period's billed rows."
    )
    source_label = "CUR"

    def run_import(self, **kwargs: Any) -> ImportRun:
        return import_cur(**kwargs)
