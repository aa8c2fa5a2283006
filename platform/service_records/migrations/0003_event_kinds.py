"""The service event kinds the platform records out of the box (more can be added as data)."""

from django.db import migrations

from service_records.kinds import ensure_default_kinds


def add_kinds(apps, schema_editor):
    ensure_default_kinds(apps.get_model("service_records", "ServiceEventKind"))


class Migration(migrations.Migration):
    dependencies = [("service_records", "0002_append_only_trigger")]
    operations = [migrations.RunPython(add_kinds, migrations.RunPython.noop)]
