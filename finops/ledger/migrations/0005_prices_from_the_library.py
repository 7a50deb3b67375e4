from django.db import migrations
from django.db.models import Q

# The hand-typed prices of the first seed (catalog_seed.py): replaced by the price library.
OLD_SEED_SOURCES = (
    "genai-prices aws.yml (checked 2026-02-24)",
    "AWS Bedrock pricing page snapshot 2025-07-20",
    "AWS Price List via third party",
    "2024 pricing page from memory, unverified placeholder",
)


def load(apps, schema_editor):
    from finops.ledger.classify import DEFAULT_TIER_RULES
    from finops.ledger.services import catalog_library_apply

    model_price = apps.get_model("ledger", "ModelPrice")
    tier_rule = apps.get_model("ledger", "TierRule")
    old = Q()
    for source in OLD_SEED_SOURCES:
        old |= Q(source__startswith=source)
    model_price.objects.filter(old).delete()
    if not tier_rule.objects.exists():
        for order, pattern, tier, family in DEFAULT_TIER_RULES:
            tier_rule.objects.create(order=order, pattern=pattern, tier=tier, family=family)
    catalog_library_apply(
        model_catalog=apps.get_model("ledger", "ModelCatalog"),
        model_alias=apps.get_model("ledger", "ModelAlias"),
        model_price=model_price,
        tier_rule=tier_rule,
    )


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_price_dimensions")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
