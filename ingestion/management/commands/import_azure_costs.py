from __future__ import annotations

from typing import Any

from ingestion.management.commands._import_base import ImportCommand
from ingestion.models import ImportRun
from ingestion.providers_import import import_azure_costs


class Command(ImportCommand):
    help = (
        "Import Azure Cost Management exports (actual cost or FOCUS; .csv, .csv.gz, .parquet, or a directory): "
        "the Azure OpenAI lines, other services skipped. A billing period delivered again replaces that "
        "period's Azure OpenAI rows."
    )
    source_label = "Azure OpenAI"

    def run_import(self, **kwargs: Any) -> ImportRun:
        return import_azure_costs(**kwargs)
