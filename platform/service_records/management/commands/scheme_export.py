from django.core.management.base import BaseCommand, CommandError

from service_records.assessment.schemes_io import document_dumps, scheme_to_document
from service_records.models import AssessmentScheme


class Command(BaseCommand):
    help = ("Exports an assessment scheme as a JSON document: REGION CODE, the published version "
            "(or the latest) unless --scheme-version is given.")

    def add_arguments(self, parser):
        parser.add_argument("region", help="region code, e.g. WZ")
        parser.add_argument("code", help="scheme code, e.g. wz-three-tier-2026")
        parser.add_argument("--scheme-version", type=int, dest="scheme_version", help="a version number")
        parser.add_argument("--output", "-o", help="write to this file instead of standard output")

    def handle(self, *args, region, code, scheme_version, output, **options):
        versions = AssessmentScheme.objects.filter(region__code=region, code=code)
        if scheme_version is not None:
            scheme = versions.filter(version=scheme_version).first()
        else:
            scheme = (versions.filter(status=AssessmentScheme.Status.PUBLISHED).first()
                      or versions.order_by("-version").first())
        if scheme is None:
            raise CommandError(f"No scheme {code} in region {region}"
                               + (f" with version {scheme_version}" if scheme_version else ""))
        text = document_dumps(scheme_to_document(scheme))
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
            self.stderr.write(f"Wrote {scheme.code} v{scheme.version} to {output}")
        else:
            self.stdout.write(text, ending="")
