from django.db import migrations


def seed(apps, schema_editor):
    from finops.ledger.services import catalog_seed_apply

    catalog_seed_apply(
        model_catalog=apps.get_model("ledger", "ModelCatalog"),
        model_alias=apps.get_model("ledger", "ModelAlias"),
        model_price=apps.get_model("ledger", "ModelPrice"),
    )


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
