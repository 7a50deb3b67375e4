"""Load list prices from the price library (genai-prices, offline) into the catalog: Bedrock, OpenAI,
Anthropic, Azure OpenAI and Vertex AI. Fresh databases get them from migrations; run this after upgrading
the library. Idempotent and audited; the AWS Price List overlay is `sync_prices`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from finops.ledger.platform_apply import price_library_load
from finops.ledger.price_library import library_source


class Command(BaseCommand):
    help = "Load list prices of every platform from the price library (idempotent; audited)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = price_library_load()
        for part, counts in result.items():
            self.stdout.write(
                f"{part}: {counts['models']:,} models ({counts['new_models']:,} new), "
                f"{counts['aliases']:,} new aliases, {counts['prices']:,} prices from {library_source()}"
            )
