"""PostgreSQL refuses UPDATE and DELETE on service events: the ledger is append-only.

(TRUNCATE is left to the table owner — Django's test flush uses it; a truncated ledger fails
verification because the chain heads remain.)"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION service_event_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'service events are append-only: % refused; record a compensating event', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS service_event_append_only ON service_records_serviceevent;
CREATE TRIGGER service_event_append_only
    BEFORE UPDATE OR DELETE ON service_records_serviceevent
    FOR EACH ROW EXECUTE FUNCTION service_event_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS service_event_append_only ON service_records_serviceevent;
DROP FUNCTION IF EXISTS service_event_refuse_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("service_records", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
