from django.db import migrations, models


def load(apps, schema_editor):
    """OpenAI, Anthropic, Azure OpenAI and Vertex AI models and list prices from the price library."""
    from finops.ledger.classify import DEFAULT_TIER_RULES
    from finops.ledger.platform_apply import catalog_platforms_apply

    tier_rule = apps.get_model("ledger", "TierRule")
    have = set(tier_rule.objects.values_list("pattern", flat=True))
    for order, pattern, tier, family in DEFAULT_TIER_RULES:
        if pattern not in have:  # the rules for Gemini and OpenAI's -pro models, where staff have not added them
            tier_rule.objects.create(order=order, pattern=pattern, tier=tier, family=family)
    catalog_platforms_apply(
        model_catalog=apps.get_model("ledger", "ModelCatalog"),
        model_alias=apps.get_model("ledger", "ModelAlias"),
        model_price=apps.get_model("ledger", "ModelPrice"),
        tier_rule=apps.get_model("ledger", "TierRule"),
    )


def unload(apps, schema_editor):
    apps.get_model("ledger", "ModelCatalog").objects.exclude(platform="bedrock").delete()


class Migration(migrations.Migration):
    dependencies = [("ledger", "0012_write_path_trim")]

    operations = [
        migrations.AddField(
            model_name="modelcatalog",
            name="platform",
            field=models.CharField(
                choices=[
                    ("bedrock", "Amazon Bedrock"),
                    ("openai", "OpenAI"),
                    ("anthropic", "Anthropic"),
                    ("azure_openai", "Azure OpenAI"),
                    ("vertex", "Vertex AI"),
                ],
                db_index=True,
                default="bedrock",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="modelcatalog",
            name="model_id",
            field=models.CharField(
                help_text='Canonical id, without route prefix; "<platform>/<id>" for platforms other than Bedrock.',
                max_length=128,
                unique=True,
            ),
        ),
        migrations.RunPython(load, unload),
    ]
