from django.db import migrations


def install(apps, schema_editor):
    from finops.ledger.coarse import coarse_functions_install

    coarse_functions_install(schema_editor)


class Migration(migrations.Migration):
    """The coarse rollups' trigger functions learn to wait while a CUR billing period is replaced (see
    finops.ledger.coarse.coarse_deferred). PostgreSQL only; nothing to undo (the old body is a subset)."""

    dependencies = [("ledger", "0013_platforms_beside_bedrock")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
