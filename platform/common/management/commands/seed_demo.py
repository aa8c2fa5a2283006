from django.core.management.base import BaseCommand

from common.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Builds the demo city (idempotent): counties, schools, teachers, students, studios, admins."

    def handle(self, *args, **options):
        counts = seed_demo()
        summary = ", ".join(f"{v} {k}" for k, v in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {summary}."))
        self.stdout.write(
            f"Logins (password {DEMO_PASSWORD}): root, city_admin, county_admin_lc, "
            "school_admin_330302002, teacher001, student001"
        )
