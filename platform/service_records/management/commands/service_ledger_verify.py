from django.core.management.base import BaseCommand, CommandError

from service_records.models import ServiceEvent
from service_records.selectors import ledger_digest, ledger_verify


class Command(BaseCommand):
    help = "Verifies every teacher's hash chain; reports the first broken link (exit status 1)."

    def handle(self, *args, **options):
        broken = ledger_verify()
        if broken is not None:
            raise CommandError(f"Ledger broken at {broken}")
        self.stdout.write(self.style.SUCCESS(
            f"Ledger intact: {ServiceEvent.objects.count()} events, digest {ledger_digest()}"))
