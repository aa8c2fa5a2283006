import json

from django.core.management.base import BaseCommand, CommandError

from common.errors import ServiceError
from service_records.assessment.services import scheme_import, scheme_publish


class Command(BaseCommand):
    help = ("Imports an assessment scheme from a JSON document (docs/assessment.md) as a draft; "
            "--publish publishes it. Importing the same document again changes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("path", help="the JSON document ('-' reads standard input)")
        parser.add_argument("--publish", action="store_true", help="publish the draft after importing it")

    def handle(self, *args, path, publish, **options):
        try:
            if path == "-":
                import sys

                data = json.load(sys.stdin)
            else:
                with open(path, encoding="utf-8-sig") as handle:
                    data = json.load(handle)
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        try:
            imported = scheme_import(data=data)
            scheme = imported.scheme
            if publish and scheme.status == scheme.Status.DRAFT:
                scheme = scheme_publish(scheme=scheme)
        except ServiceError as exc:
            details = "".join(f"\n  {field}: {' '.join(messages)}" for field, messages in exc.fields.items())
            raise CommandError(f"{exc.message}{details}") from exc
        verb = "created" if imported.created else ("replaced" if imported.changed else "unchanged")
        self.stdout.write(self.style.SUCCESS(
            f"{scheme.region.code} {scheme.code} v{scheme.version}: {verb}, {scheme.get_status_display()} "
            f"(id {scheme.pk}, {scheme.indicators.count()} indicators)"))
