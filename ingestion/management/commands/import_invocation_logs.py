from __future__ import annotations

from typing import Any

from ingestion.management.commands._import_base import ImportCommand
from ingestion.models import ImportRun
from ingestion.services import import_invocation_logs


class Command(ImportCommand):
    help = (
        "Import Bedrock model invocation logs (.jsonl, .json, .json.gz, or a directory in the S3 layout). "
        "Records are unique by request id, so importing twice changes nothing."
    )
    source_label = "Invocation log"

    def run_import(self, **kwargs: Any) -> ImportRun:
        return import_invocation_logs(**kwargs)
