from __future__ import annotations

from typing import Any

from ingestion.management.commands._import_base import ImportCommand
from ingestion.models import ImportRun
from ingestion.providers_import import import_gcp_billing


class Command(ImportCommand):
    help = (
        "Import Cloud Billing exports (standard usage cost; .csv, .json/.jsonl(.gz), .parquet, or a directory): "
        "the Vertex AI lines and their credits, other services skipped. A billing period delivered again "
        "replaces that period's Vertex AI rows."
    )
    source_label = "Vertex AI"

    def run_import(self, **kwargs: Any) -> ImportRun:
        return import_gcp_billing(**kwargs)
